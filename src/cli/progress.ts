// Progress display on stderr: a cli-progress bar when stderr is a terminal; when it is not
// (pipes, CI, tests) the bar stays silent and `log` lines go to stdout as plain text.

import cliProgress from 'cli-progress';

export interface ProgressBar {
  /** starts (or restarts) the bar at `value` of `total` */
  start(total: number, value: number, payload?: Record<string, unknown>): void;
  update(value: number, payload?: Record<string, unknown>): void;
  /** a whole line printed above the bar (or to stdout without a terminal) */
  log(line: string): void;
  stop(): void;
}

export function createProgressBar(format: string): ProgressBar {
  if (!process.stderr.isTTY) {
    return { start() {}, update() {}, log: (line) => process.stdout.write(`${line}\n`), stop() {} };
  }
  const multi = new cliProgress.MultiBar(
    { format, hideCursor: true, clearOnComplete: false, gracefulExit: false, etaBuffer: 50, fps: 5 },
    cliProgress.Presets.shades_classic,
  );
  let bar: cliProgress.SingleBar | null = null;
  let stopped = false;
  return {
    start(total, value, payload) {
      bar = multi.create(total, value, payload);
    },
    update(value, payload) {
      bar?.update(value, payload);
    },
    // cli-progress prints logged lines at its next redraw; before the first bar there is none
    log: (line) => (bar && !stopped ? multi.log(`${line}\n`) : process.stderr.write(`${line}\n`)),
    stop() {
      if (stopped) return;
      stopped = true;
      multi.update(); // flush lines logged since the last redraw: stop() alone drops them
      multi.stop();
    },
  };
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 → "1.5 KiB" */
export function formatBytes(bytes: number): string {
  let v = bytes;
  let unit = 0;
  while (v >= 1024 && unit < UNITS.length - 1) {
    v /= 1024;
    unit++;
  }
  return `${unit === 0 ? v : v.toFixed(1)} ${UNITS[unit]}`;
}
