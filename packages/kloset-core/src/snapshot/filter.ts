/**
 * Choosing snapshots: by reference (`latest`, a prefix of the hex id) and by filters (tags, name,
 * source, a time range). Works on headers and on any view of them that has an id, a time, a name,
 * tags and a source, so the CLI's views and the core's headers are chosen by the same rules:
 *
 * - a snapshot matches a filter when it has every tag, exactly the name, the source (same
 *   protocol, origin and root, or the source's name), `time >= since` and `time < before` (each
 *   only when given);
 * - without references, the selection is every matching snapshot, oldest first (FORMAT.md §8.1);
 * - with references, each names one matching snapshot: `latest` the newest match, provided every
 *   match is of one source (else AmbiguousLatestError lists the sources); a prefix the one match
 *   whose id starts with it.
 */
import type { SourceInfo } from '@kloset/connector-contract';
import { toHex } from '../encoding/bytes.ts';
import { sameSource } from './header.ts';
import { AmbiguousSnapshotError, SnapshotNotFoundError, type SnapshotRef } from './snapshots.ts';

/**
 * The snapshots of one source: those whose header source equals `info` (same protocol, origin and
 * root), and, when `name` is given, those named `name` (a named source's snapshots keep its name
 * when the source is moved elsewhere).
 */
export interface SourceFilter {
  /** How the user named the source, for messages: `@www`, `/var/www`, `s3://host/bucket`. */
  readonly label: string;
  readonly info: SourceInfo;
  readonly name?: string;
}

/** Conditions a snapshot must all meet. An empty filter matches every snapshot. */
export interface SnapshotFilter {
  /** Every one of these tags. */
  readonly tags?: readonly string[];
  /** Exactly this name. */
  readonly name?: string;
  /** Of this source. */
  readonly source?: SourceFilter;
  /** Taken at or after this time (Unix ms). */
  readonly since?: number;
  /** Taken strictly before this time (Unix ms). */
  readonly before?: number;
}

/** What ordering looks at: the time, then the id. */
export interface Ordered {
  /** 32 bytes, or their 64 hex digits. */
  readonly id: Uint8Array | string;
  /** Unix ms. */
  readonly time: number;
}

/** What selection looks at: a header, or a view of one with the id in hex. */
export interface Selectable extends Ordered {
  readonly name: string;
  readonly tags: readonly string[];
  readonly source: SourceInfo;
}

function idHex(s: Ordered): string {
  return typeof s.id === 'string' ? s.id.toLowerCase() : toHex(s.id);
}

/** True when the filter sets no condition. */
export function isEmptyFilter(filter: SnapshotFilter): boolean {
  return (
    (filter.tags === undefined || filter.tags.length === 0) &&
    filter.name === undefined &&
    filter.source === undefined &&
    filter.since === undefined &&
    filter.before === undefined
  );
}

/** True when `s` was taken of `source` (see SourceFilter). */
export function ofSource(s: Selectable, source: SourceFilter): boolean {
  return sameSource(s.source, source.info) || (source.name !== undefined && s.name === source.name);
}

/** True when `s` meets every condition of `filter`. */
export function matchesFilter(s: Selectable, filter: SnapshotFilter): boolean {
  if (filter.name !== undefined && s.name !== filter.name) return false;
  if (filter.source !== undefined && !ofSource(s, filter.source)) return false;
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
  if (filter.source !== undefined) parts.push(`source ${filter.source.label}`);
  if (filter.since !== undefined) parts.push(`since ${new Date(filter.since).toISOString()}`);
  if (filter.before !== undefined) parts.push(`before ${new Date(filter.before).toISOString()}`);
  return parts.join(', ');
}

/** Oldest first, then by id (FORMAT.md §8.1): `latest` is the last. */
export function compareSnapshots(a: Ordered, b: Ordered): number {
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
      const sources = sourcesOf(matching);
      if (sources.length > 1) throw new AmbiguousLatestError(sources, filtered);
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

/** One source among snapshots: the newest of its snapshots, and how many there are. */
export interface SourceGroup<T extends Selectable> {
  readonly newest: T;
  readonly count: number;
}

/**
 * The sources (same protocol, origin and root) of `snapshots`, given oldest first: one group per
 * source, the one with the newest snapshot first.
 */
export function sourcesOf<T extends Selectable>(snapshots: readonly T[]): SourceGroup<T>[] {
  const groups = new Map<string, { newest: T; count: number }>();
  for (const s of snapshots) {
    const key = JSON.stringify([s.source.protocol, s.source.origin, s.source.root]);
    const g = groups.get(key);
    if (g === undefined) groups.set(key, { newest: s, count: 1 });
    else groups.set(key, { newest: s, count: g.count + 1 });
  }
  return [...groups.values()].sort((a, b) => compareSnapshots(b.newest, a.newest));
}

/**
 * `latest` among snapshots of several sources: the newest of them would be a snapshot of whichever
 * source was backed up last. `sources` lists them (the newest snapshot of each), to choose from.
 */
export class AmbiguousLatestError<T extends Selectable = Selectable> extends Error {
  override readonly name = 'AmbiguousLatestError';
  readonly sources: readonly SourceGroup<T>[];
  constructor(sources: readonly SourceGroup<T>[], filtered = '') {
    super(
      `"latest" is ambiguous: the snapshots${filtered} come from ${sources.length} sources: ` +
        'choose one with a source filter, or give a snapshot id',
    );
    this.sources = sources;
  }
}
