/** How snapshots, entries and stores look in human output and in -json (snake_case keys). */
import { hostname } from 'node:os';
import { shortId } from '../args/snapshot-ref.ts';
import type { EntryFailure, EntryView, SnapshotView, SourceInfoView, StoreView } from '../engine/engine.ts';
import { formatBytes, formatCount, formatDuration, formatMode, formatTime } from '../output/format.ts';
import type { JsonObject } from '../output/json.ts';
import { metadataJson, metadataLines } from './entry-metadata.ts';

/** At most this many failures/problems are kept for a -json result (the count is always exact). */
export const MAX_LISTED = 1000;

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

export function snapshotJson(s: SnapshotView): JsonObject {
  return {
    id: s.id,
    short_id: shortId(s.id),
    time: isoTime(s.time),
    duration_ms: s.durationMs,
    name: s.name,
    tags: [...s.tags],
    hostname: s.hostname,
    username: s.username,
    source: { protocol: s.source.protocol, origin: s.source.origin, root: s.source.root },
    summary: {
      files: s.summary.files,
      directories: s.summary.directories,
      symlinks: s.summary.symlinks,
      errors: s.summary.errors,
      bytes: s.summary.bytes,
      stored_bytes: s.summary.storedBytes,
    },
  };
}

/**
 * Where a snapshot was taken, as a user would name it: `s3://ENDPOINT/BUCKET[/PREFIX/]` for a
 * bucket, the path of a directory of this machine (`HOST:PATH` for another machine's),
 * `PROTOCOL://ORIGIN ROOT` for other sources.
 */
export function sourceLabel(source: SourceInfoView, localHost: string = hostname()): string {
  const { protocol, origin, root } = source;
  if (protocol === 's3') return `s3://${origin}${root === '/' ? '' : root}`;
  if (protocol === 'fs') return origin === localHost ? root : `${origin}:${root}`;
  return `${protocol}://${origin}${root.startsWith('/') ? '' : '/'}${root}`;
}

/** ID, TIME, SIZE, FILES, NAME, SOURCE, [TAGS]: aligned by `table`. */
export function snapshotRow(s: SnapshotView, localHost?: string): string[] {
  return [
    shortId(s.id),
    formatTime(s.time),
    formatBytes(s.summary.bytes),
    `${formatCount(s.summary.files)} files`,
    s.name,
    sourceLabel(s.source, localHost),
    s.tags.length ? `[${s.tags.join(',')}]` : '',
  ];
}

export function snapshotDetails(s: SnapshotView): string[] {
  const rows: [string, string][] = [
    ['id', s.id],
    ['time', `${formatTime(s.time)} (${isoTime(s.time)})`],
    ['duration', formatDuration(s.durationMs)],
    ['name', s.name],
    ['tags', s.tags.join(', ') || '-'],
    ['host', `${s.username}@${s.hostname}`],
    ['source', sourceLabel(s.source)],
    ['files', formatCount(s.summary.files)],
    ['directories', formatCount(s.summary.directories)],
    ['symlinks', formatCount(s.summary.symlinks)],
    ['errors', formatCount(s.summary.errors)],
    ['size', `${formatBytes(s.summary.bytes)} (${formatCount(s.summary.bytes)} bytes)`],
    ['stored', `${formatBytes(s.summary.storedBytes)} added to the store`],
  ];
  return rows.map(([k, v]) => `${`${k}:`.padEnd(13)}${v}`);
}

export function entryJson(e: EntryView): JsonObject {
  const out: Record<string, JsonObject[string]> = {
    path: e.path,
    type: e.type,
    size: e.size,
    mtime: isoTime(e.mtime.sec * 1000 + Math.floor(e.mtime.nsec / 1e6)),
    mode: e.mode ?? null,
    uid: e.uid ?? null,
    gid: e.gid ?? null,
  };
  if (e.linkTarget !== undefined) out.link = e.linkTarget;
  if (e.error !== undefined) out.error = e.error;
  return { ...out, ...metadataJson(e.metadata) };
}

export function entryLine(e: EntryView): string {
  const mtime = formatTime(e.mtime.sec * 1000 + Math.floor(e.mtime.nsec / 1e6));
  const name = e.type === 'symlink' && e.linkTarget !== undefined ? `${e.path} -> ${e.linkTarget}` : e.path;
  const err = e.error !== undefined ? `  (error: ${e.error})` : '';
  return `${formatMode(e.type, e.mode)}  ${formatBytes(e.size).padStart(10)}  ${mtime}  ${name}${err}`;
}

/** `ls -l`: the entry's line, then one indented line per header, user metadata, tag and attribute. */
export function entryLongLines(e: EntryView): string[] {
  return [entryLine(e), ...metadataLines(e.metadata, '    ')];
}

export function storeJson(location: string, v: StoreView): JsonObject {
  return {
    location,
    store_id: v.storeId,
    encrypted: v.encrypted,
    created: isoTime(v.created),
    version: v.version,
    compression: v.compression,
    packfile_size: v.packfileSize,
    chunking: { min: v.chunking.min, avg: v.chunking.avg, max: v.chunking.max },
  };
}

export function storeDetails(location: string, v: StoreView): string[] {
  const rows: [string, string][] = [
    ['location', location],
    ['store id', v.storeId],
    ['encrypted', v.encrypted ? 'yes (AES-256-GCM, Argon2id)' : 'no (plaintext store)'],
    ['created', formatTime(v.created)],
    ['format', `kloset v${v.version}`],
    ['compression', v.compression],
    ['packfiles', `${formatBytes(v.packfileSize)} target size`],
    [
      'chunking',
      `FastCDC ${formatBytes(v.chunking.min)} / ${formatBytes(v.chunking.avg)} / ${formatBytes(v.chunking.max)}`,
    ],
  ];
  return rows.map(([k, val]) => `${`${k}:`.padEnd(13)}${val}`);
}

/** Collects failures for a -json result: the first MAX_LISTED, and the exact count. */
export class FailureList {
  readonly items: EntryFailure[] = [];
  count = 0;
  add(f: EntryFailure): void {
    this.count++;
    if (this.items.length < MAX_LISTED) this.items.push(f);
  }
  json(): JsonObject[] {
    return this.items.map((f) => ({ path: f.path, error: f.error }));
  }
}
