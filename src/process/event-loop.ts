// The liveness signal of a process: how long its event loop was held lately (perf_hooks'
// monitorEventLoopDelay, the longest delay of the current and the previous 5-s window). While the
// loop is held nothing answers at all; once it runs again /livez says how long it was held, and
// fails past the bound (GLIMPSE_LIVEZ_MAX_DELAY_SECONDS) for the next 5–10 s.
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface EventLoopWatch {
  /** the longest event-loop delay seen in the last 5–10 s, in seconds */
  delaySeconds(): number;
  stop(): void;
}

export function watchEventLoop(windowMs = 5000): EventLoopWatch {
  const histogram = monitorEventLoopDelay({ resolution: 20 });
  histogram.enable();
  let previous = 0;
  const timer = setInterval(() => {
    previous = histogram.max / 1e9;
    histogram.reset();
  }, windowMs);
  timer.unref();
  return {
    delaySeconds: () => Math.max(previous, histogram.max / 1e9),
    stop() {
      clearInterval(timer);
      histogram.disable();
    },
  };
}
