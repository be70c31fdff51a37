/** A small least-recently-used map, bounded by its number of items. */
export class LruCache<K, V> {
  readonly #max: number;
  readonly #map = new Map<K, V>();

  constructor(maxItems: number) {
    if (maxItems < 1) throw new Error('LRU cache needs room for at least one item');
    this.#max = maxItems;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The value for `key`, marked most recently used. */
  get(key: K): V | undefined {
    const v = this.#map.get(key);
    if (v !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, v);
    }
    return v;
  }

  /** Forgets `key`. */
  delete(key: K): void {
    this.#map.delete(key);
  }

  /** Stores a value, evicting the least recently used one when full. */
  set(key: K, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next();
      if (!oldest.done) this.#map.delete(oldest.value);
    }
  }
}
