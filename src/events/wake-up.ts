// An async iterator of wake-ups. Wake-ups that arrive while the consumer is busy fold into one:
// each wake-up means "re-read what is stored", not "here is an event".
export class WakeUps implements AsyncIterableIterator<void> {
  private pending = false;
  private done = false;
  private waiter: ((result: IteratorResult<void>) => void) | undefined;

  constructor(private readonly onClose: (self: WakeUps) => void) {}

  wake(): void {
    if (this.done) return;
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter({ value: undefined, done: false });
    } else {
      this.pending = true;
    }
  }

  next(): Promise<IteratorResult<void>> {
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    if (this.pending) {
      this.pending = false;
      return Promise.resolve({ value: undefined, done: false });
    }
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  return(): Promise<IteratorResult<void>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** ends the iteration: a pending next() resolves with done */
  end(): void {
    if (this.done) return;
    this.done = true;
    this.onClose(this);
    this.waiter?.({ value: undefined, done: true });
    this.waiter = undefined;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<void> {
    return this;
  }
}
