// Loaded captioners kept between caption jobs, least recently used evicted (and disposed) first.
import { loadCaptioner, type Captioner } from '../ml/index.ts';

export class CaptionerCache {
  /** Map iteration order = least recently used first */
  private readonly entries = new Map<string, Promise<Captioner>>();

  constructor(
    private readonly capacity: number,
    private readonly load: (dir: string) => Promise<Captioner> = loadCaptioner,
  ) {}

  /** the captioner of the model saved in `dir`, keyed by `key` (the Model id) */
  get(key: string, dir: string): Promise<Captioner> {
    let entry = this.entries.get(key);
    if (entry) this.entries.delete(key);
    else {
      entry = this.load(dir);
      // a failed load is not cached
      entry.catch(() => this.entries.get(key) === entry && this.entries.delete(key));
    }
    this.entries.set(key, entry);
    while (this.entries.size > this.capacity) {
      const [oldest, loading] = this.entries.entries().next().value!;
      this.entries.delete(oldest);
      loading.then((c) => c.dispose(), () => undefined);
    }
    return entry;
  }

  get size(): number {
    return this.entries.size;
  }

  async clear(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((p) => p.then((c) => c.dispose(), () => undefined)));
  }
}
