// Loaded captioners kept between caption jobs, least recently used evicted (and disposed) first.
import { loadCaptioner, type Captioner } from '../ml/index.ts';

export class CaptionerCache {
  /** Map iteration order = least recently used first */
  private readonly entries = new Map<string, Promise<Captioner>>();

  constructor(
    private readonly capacity: number,
    private readonly load: (dir: string) => Promise<Captioner> = loadCaptioner,
  ) {}

  /**
   * the captioner of the model saved in `dir`, keyed by `key` (the Model id); `dir` may be a
   * function giving the folder (e.g. from the artifact cache), called only when not loaded yet
   */
  get(key: string, dir: string | (() => Promise<{ dir: string; release(): void }>)): Promise<Captioner> {
    let entry = this.entries.get(key);
    if (entry) this.entries.delete(key);
    else {
      entry =
        typeof dir === 'string'
          ? this.load(dir)
          : dir().then(async (folder) => {
              try {
                return await this.load(folder.dir);
              } finally {
                folder.release();
              }
            });
      // a failed load is not cached
      entry.catch(() => this.entries.get(key) === entry && this.entries.delete(key));
    }
    this.entries.set(key, entry);
    while (this.entries.size > this.capacity) {
      const [oldest, loading] = this.entries.entries().next().value!;
      this.entries.delete(oldest);
      loading.then(
        (c) => c.dispose(),
        () => undefined,
      );
    }
    return entry;
  }

  get size(): number {
    return this.entries.size;
  }

  async clear(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(
      all.map((p) =>
        p.then(
          (c) => c.dispose(),
          () => undefined,
        ),
      ),
    );
  }
}
