/** Reads an async byte stream in pieces of exact sizes (multipart parts). */

/**
 * Pulls from `stream` and returns pieces of exactly the size asked (shorter only at the end of the
 * stream). Holds at most one incoming chunk besides the piece being filled. A piece that lies within
 * one incoming chunk is a view of it, not a copy (a small object restored from one chunk costs no
 * copy): the stream must not reuse the buffers it yields.
 */
export class ExactReader {
  readonly #it: AsyncIterator<Uint8Array>;
  #left: Uint8Array = new Uint8Array(0);
  #done = false;

  constructor(stream: AsyncIterable<Uint8Array>) {
    this.#it = stream[Symbol.asyncIterator]();
  }

  async #fill(): Promise<boolean> {
    while (this.#left.length === 0) {
      if (this.#done) return false;
      const r = await this.#it.next();
      if (r.done) {
        this.#done = true;
        return false;
      }
      this.#left = r.value;
    }
    return true;
  }

  /**
   * The next `n` bytes: a view of the incoming chunk when it holds them all, else a new buffer;
   * fewer if the stream ends first.
   */
  async read(n: number): Promise<Uint8Array> {
    if (n > 0 && (await this.#fill()) && this.#left.length >= n) {
      const view = this.#left.subarray(0, n);
      this.#left = this.#left.subarray(n);
      return view;
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n && (await this.#fill())) {
      const take = Math.min(n - off, this.#left.length);
      out.set(this.#left.subarray(0, take), off);
      this.#left = this.#left.subarray(take);
      off += take;
    }
    return off === n ? out : out.subarray(0, off);
  }

  /** True when the stream has no byte left. */
  async atEnd(): Promise<boolean> {
    return !(await this.#fill());
  }

  /** Stops the stream early (lets its producer release resources). */
  async close(): Promise<void> {
    if (!this.#done) {
      this.#done = true;
      await this.#it.return?.();
    }
  }
}
