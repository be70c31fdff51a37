/**
 * Reusable buffers for the ranged reads of packfiles. A restore reads every stored byte once: with
 * a new array per read, each read is fresh memory for the allocator and new external memory for
 * V8, which collects it with full garbage collections (about one per 64 MiB read). Buffers given
 * back once their blobs have been written are read into again instead.
 *
 * Buffers are whole ArrayBuffers (they can be transferred to a worker and back). Capacities are
 * rounded up to a size class: powers of two up to 1 MiB, then whole MiB, so that a buffer given
 * back fits the next read of about the same size. At most `maxIdleBytes` wait in the pool; beyond
 * that a buffer given back is left to the garbage collector.
 */

const MiB = 1024 * 1024;
const MIN_CLASS = 64 * 1024;

/** The capacity of the size class for `length` bytes. */
export function sizeClass(length: number): number {
  if (length <= MIN_CLASS) return MIN_CLASS;
  if (length <= MiB) return 2 ** Math.ceil(Math.log2(length));
  return Math.ceil(length / MiB) * MiB;
}

export class ReadBufferPool {
  readonly #free = new Map<number, ArrayBuffer[]>();
  readonly #maxIdleBytes: number;
  #idleBytes = 0;

  constructor(maxIdleBytes: number) {
    this.#maxIdleBytes = maxIdleBytes;
  }

  /** Bytes waiting in the pool. */
  get idleBytes(): number {
    return this.#idleBytes;
  }

  /**
   * A buffer of at least `length` bytes spanning a whole ArrayBuffer: the smallest waiting one that
   * holds it without wasting more than its size class again (a 3 MiB read may take a 4 or 6 MiB
   * buffer, never a 16 MiB one), or a new one of its size class. Reads of a restore vary in size
   * (64 KiB to 16 MiB): with exact classes only, 191 MB of new buffers were made for 1.4 GB read.
   */
  take(length: number): Uint8Array {
    const wanted = sizeClass(length);
    let best: number | undefined;
    for (const [capacity, list] of this.#free) {
      if (
        list.length > 0 &&
        capacity >= wanted &&
        capacity <= 2 * wanted &&
        (best === undefined || capacity < best)
      )
        best = capacity;
    }
    const buffer = best === undefined ? undefined : this.#free.get(best)!.pop();
    if (buffer !== undefined) {
      this.#idleBytes -= buffer.byteLength;
      return new Uint8Array(buffer);
    }
    // Not zero-filled: every byte is read into before it is used.
    const fresh = Buffer.allocUnsafeSlow(wanted);
    return new Uint8Array(fresh.buffer, fresh.byteOffset, fresh.byteLength);
  }

  /**
   * Gives back a buffer from `take` (or its transferred twin) that nothing reads any more. Buffers
   * that are not whole ArrayBuffers of a size class (or are detached) are ignored.
   */
  give(bytes: Uint8Array): void {
    const buffer = bytes.buffer;
    const capacity = buffer.byteLength;
    if (!(buffer instanceof ArrayBuffer) || capacity === 0 || sizeClass(capacity) !== capacity) return;
    if (this.#idleBytes + capacity > this.#maxIdleBytes) return;
    const list = this.#free.get(capacity);
    if (list === undefined) this.#free.set(capacity, [buffer]);
    else if (list.includes(buffer))
      return; // given back twice: it must be handed out once
    else list.push(buffer);
    this.#idleBytes += capacity;
  }
}

/**
 * Release functions for `count` holders of a pooled buffer (views of it handed out): the buffer
 * goes back to `pool` when every one of them has been called (each counts once). With no holder
 * it goes back at once.
 */
export function shareBuffer(
  pool: { give(bytes: Uint8Array): void },
  buffer: Uint8Array,
  count: number,
): (() => void)[] {
  let holders = count;
  if (holders === 0) pool.give(buffer);
  return Array.from({ length: count }, () => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      holders--;
      if (holders === 0) pool.give(buffer);
    };
  });
}
