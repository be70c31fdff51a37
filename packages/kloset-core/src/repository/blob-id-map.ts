/**
 * A map keyed by (blob kind, blob id) without a string per key: blob ids are HMAC outputs, so 30
 * bits of their first bytes are a well-spread hash; entries sharing them are chained. Costs one
 * small node per entry (a hex key would cost a 64-character string and its hashing per lookup).
 */
import type { BlobId, BlobKind } from './blob-store.ts';

interface Node<V> {
  readonly kind: BlobKind;
  readonly id: BlobId;
  value: V;
  next: Node<V> | undefined;
}

/** 30 bits of an id's first four bytes (a V8 small integer: no heap number per key). */
function hashOf(id: BlobId): number {
  return (id[0]! | (id[1]! << 8) | (id[2]! << 16) | ((id[3]! & 0x3f) << 24)) >>> 0;
}

function sameId(a: BlobId, b: BlobId): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = a.length - 1; i >= 0; i--) if (a[i] !== b[i]) return false;
  return true;
}

/** (kind, id) -> V. */
export class BlobIdMap<V> {
  readonly #buckets = new Map<number, Node<V>>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(kind: BlobKind, id: BlobId): V | undefined {
    for (let n = this.#buckets.get(hashOf(id)); n !== undefined; n = n.next) {
      if (n.kind === kind && sameId(n.id, id)) return n.value;
    }
    return undefined;
  }

  has(kind: BlobKind, id: BlobId): boolean {
    for (let n = this.#buckets.get(hashOf(id)); n !== undefined; n = n.next) {
      if (n.kind === kind && sameId(n.id, id)) return true;
    }
    return false;
  }

  /** Sets the value of (kind, id), replacing an existing one. */
  set(kind: BlobKind, id: BlobId, value: V): void {
    const h = hashOf(id);
    const head = this.#buckets.get(h);
    for (let n = head; n !== undefined; n = n.next) {
      if (n.kind === kind && sameId(n.id, id)) {
        n.value = value;
        return;
      }
    }
    this.#buckets.set(h, { kind, id, value, next: head });
    this.#size++;
  }

  /** Removes (kind, id); true if it was there. */
  delete(kind: BlobKind, id: BlobId): boolean {
    const h = hashOf(id);
    let prev: Node<V> | undefined;
    for (let n = this.#buckets.get(h); n !== undefined; prev = n, n = n.next) {
      if (n.kind !== kind || !sameId(n.id, id)) continue;
      if (prev) prev.next = n.next;
      else if (n.next) this.#buckets.set(h, n.next);
      else this.#buckets.delete(h);
      this.#size--;
      return true;
    }
    return false;
  }

  clear(): void {
    this.#buckets.clear();
    this.#size = 0;
  }
}
