// Ctrl-C handling: the first SIGINT/SIGTERM aborts the returned signal (the work stops at its
// next safe point, e.g. after writing a checkpoint); a second one exits at once.

export function interruptSignal(what: string): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      process.stderr.write(`\n${name} again: exiting without waiting\n`);
      process.exit(130);
    }
    process.stderr.write(`\n${name}: stopping ${what} (press Ctrl-C again to exit at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
