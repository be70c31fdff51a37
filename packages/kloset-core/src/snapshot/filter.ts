/**
 * Choosing snapshots: by reference (`latest`, a prefix of the hex id) and by filters (tags, name,
 * a time range). Works on headers and on any view of them that has an id, a time, a name and tags,
 * so the CLI's views and the core's headers are chosen by the same rules:
 *
 * - a snapshot matches a filter when it has every tag, exactly the name, `time >= since` and
 *   `time < before` (each only when given);
 * - without references, the selection is every matching snapshot, oldest first (FORMAT.md §8.1);
 * - with references, each names one matching snapshot: `latest` the newest match, a prefix the
 *   one match whose id starts with it.
 */
import { toHex } from '../encoding/bytes.ts';
import { AmbiguousSnapshotError, SnapshotNotFoundError, type SnapshotRef } from './snapshots.ts';

/** Conditions a snapshot must all meet. An empty filter matches every snapshot. */
export interface SnapshotFilter {
  /** Every one of these tags. */
  readonly tags?: readonly string[];
  /** Exactly this name. */
  readonly name?: string;
  /** Taken at or after this time (Unix ms). */
  readonly since?: number;
  /** Taken strictly before this time (Unix ms). */
  readonly before?: number;
}

/** What selection looks at: a header, or a view of one with the id in hex. */
export interface Selectable {
  /** 32 bytes, or their 64 hex digits. */
  readonly id: Uint8Array | string;
  /** Unix ms. */
  readonly time: number;
  readonly name: string;
  readonly tags: readonly string[];
}

function idHex(s: Selectable): string {
  return typeof s.id === 'string' ? s.id.toLowerCase() : toHex(s.id);
}

/** True when the filter sets no condition. */
export function isEmptyFilter(filter: SnapshotFilter): boolean {
  return (
    (filter.tags === undefined || filter.tags.length === 0) &&
    filter.name === undefined &&
    filter.since === undefined &&
    filter.before === undefined
  );
}

/** True when `s` meets every condition of `filter`. */
export function matchesFilter(s: Selectable, filter: SnapshotFilter): boolean {
  if (filter.name !== undefined && s.name !== filter.name) return false;
  if (filter.since !== undefined && s.time < filter.since) return false;
  if (filter.before !== undefined && s.time >= filter.before) return false;
  for (const tag of filter.tags ?? []) if (!s.tags.includes(tag)) return false;
  return true;
}

/** The filter in words, for messages: `tag daily, name "www", since 2025-01-01T00:00:00.000Z`. */
export function describeFilter(filter: SnapshotFilter): string {
  const parts: string[] = [];
  for (const tag of filter.tags ?? []) parts.push(`tag ${JSON.stringify(tag)}`);
  if (filter.name !== undefined) parts.push(`name ${JSON.stringify(filter.name)}`);
  if (filter.since !== undefined) parts.push(`since ${new Date(filter.since).toISOString()}`);
  if (filter.before !== undefined) parts.push(`before ${new Date(filter.before).toISOString()}`);
  return parts.join(', ');
}

/** Oldest first, then by id (FORMAT.md §8.1): `latest` is the last. */
export function compareSnapshots(a: Selectable, b: Selectable): number {
  return a.time - b.time || (idHex(a) < idHex(b) ? -1 : idHex(a) > idHex(b) ? 1 : 0);
}

/**
 * The snapshots of `all` chosen by `refs` and `filter` (see the module comment): without refs,
 * every match, oldest first; with refs, one snapshot per ref, in the order of the refs, each once.
 * Throws SnapshotNotFoundError when a ref names nothing (saying whether the filter left it out)
 * and AmbiguousSnapshotError when a prefix names several snapshots.
 */
export function selectSnapshots<T extends Selectable>(
  all: readonly T[],
  refs: readonly SnapshotRef[],
  filter: SnapshotFilter = {},
): T[] {
  const matching = all.filter((s) => matchesFilter(s, filter)).sort(compareSnapshots);
  if (refs.length === 0) return matching;
  const filtered = isEmptyFilter(filter) ? '' : ` with ${describeFilter(filter)}`;
  const out: T[] = [];
  const seen = new Set<string>();
  for (const raw of refs) {
    const ref = raw.toLowerCase();
    let found: T;
    if (ref === 'latest') {
      const last = matching[matching.length - 1];
      if (last === undefined) {
        throw new SnapshotNotFoundError(
          all.length === 0 ? 'the store has no snapshot' : `no snapshot${filtered} for "latest"`,
        );
      }
      found = last;
    } else {
      if (!/^[0-9a-f]{1,64}$/.test(ref)) {
        throw new SnapshotNotFoundError(
          `invalid snapshot reference ${JSON.stringify(raw)}: expected "latest" or a hex id`,
        );
      }
      const hits = matching.filter((s) => idHex(s).startsWith(ref));
      if (hits.length === 0) {
        const elsewhere = filtered !== '' && all.some((s) => idHex(s).startsWith(ref));
        throw new SnapshotNotFoundError(
          elsewhere
            ? `snapshot ${JSON.stringify(raw)} does not match the filter (${describeFilter(filter)})`
            : `no snapshot matches ${JSON.stringify(raw)}`,
        );
      }
      if (hits.length > 1) {
        const shown = hits
          .slice(0, 10)
          .map((s) => idHex(s).slice(0, Math.max(8, ref.length + 1)))
          .join(', ');
        throw new AmbiguousSnapshotError(
          `snapshot reference ${JSON.stringify(raw)} is ambiguous: ${hits.length} snapshots match (${shown})`,
        );
      }
      found = hits[0]!;
    }
    const key = idHex(found);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(found);
    }
  }
  return out;
}
