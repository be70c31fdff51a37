/**
 * An entry's connector metadata (its `s3.*` keys: headers, user metadata, tags, storage class,
 * ETag...) as `ls` and `diff` show it. The names are the S3 connectors' (s3-common
 * metadata-keys.ts, README "Entry metadata"); the CLI does not load a connector to print a
 * listing, so they are repeated here (test/entry-metadata.test.ts checks them against
 * @kloset/s3-common). Any other key is shown as it is stored, as an attribute.
 */
import type { JsonObject } from '../output/json.ts';

export type EntryMetadataMap = Readonly<Record<string, string>>;

/** What a metadata key is: an HTTP header, user metadata, a tag, the storage class, the ETag, or any other. */
export type MetadataKind = 'header' | 'metadata' | 'tag' | 'storage_class' | 'etag' | 'attribute';

/** One key, classified: `name` is the header (lower case), the user metadata name, the tag key, or the stored key. */
export interface MetadataField {
  readonly kind: MetadataKind;
  readonly name: string;
}

const S3 = 's3.';
const USER_PREFIX = 's3.meta.';
const TAG_PREFIX = 's3.tag.';

/** Stored key -> HTTP header name, in the order human output lists them. */
const HEADERS: ReadonlyMap<string, string> = new Map([
  ['s3.content-type', 'content-type'],
  ['s3.content-encoding', 'content-encoding'],
  ['s3.content-disposition', 'content-disposition'],
  ['s3.content-language', 'content-language'],
  ['s3.cache-control', 'cache-control'],
  ['s3.expires', 'expires'],
  ['s3.website-redirect-location', 'x-amz-website-redirect-location'],
]);
const HEADER_ORDER = [...HEADERS.keys()];

const KIND_ORDER: readonly MetadataKind[] = [
  'header',
  'metadata',
  'tag',
  'storage_class',
  'etag',
  'attribute',
];

export function classifyKey(key: string): MetadataField {
  const header = HEADERS.get(key);
  if (header !== undefined) return { kind: 'header', name: header };
  if (key.startsWith(USER_PREFIX)) return { kind: 'metadata', name: key.slice(USER_PREFIX.length) };
  if (key.startsWith(TAG_PREFIX)) return { kind: 'tag', name: key.slice(TAG_PREFIX.length) };
  if (key === `${S3}storage-class`) return { kind: 'storage_class', name: 'storage_class' };
  if (key === `${S3}etag`) return { kind: 'etag', name: 'etag' };
  return { kind: 'attribute', name: key };
}

/** Headers first (in HEADERS' order), then user metadata, tags, storage class, ETag, the rest; by name within each. */
function compareKeys(a: string, b: string): number {
  const fa = classifyKey(a);
  const fb = classifyKey(b);
  const byKind = KIND_ORDER.indexOf(fa.kind) - KIND_ORDER.indexOf(fb.kind);
  if (byKind !== 0) return byKind;
  if (fa.kind === 'header') return HEADER_ORDER.indexOf(a) - HEADER_ORDER.indexOf(b);
  return fa.name < fb.name ? -1 : fa.name > fb.name ? 1 : 0;
}

/** The keys of one or two maps, each once, in display order. */
function orderedKeys(...maps: EntryMetadataMap[]): string[] {
  return [...new Set(maps.flatMap((m) => Object.keys(m)))].sort(compareKeys);
}

/** How a field is named in human output: `content-type`, `meta owner`, `tag color`, `storage-class`, `etag`, `s3.key`. */
export function fieldLabel(f: MetadataField): string {
  switch (f.kind) {
    case 'metadata':
      return `meta ${f.name}`;
    case 'tag':
      return `tag ${f.name}`;
    case 'storage_class':
      return 'storage-class';
    default:
      return f.name;
  }
}

/** The -json fields of an entry's metadata: always all six, empty or null when the entry has none. */
export function metadataJson(m: EntryMetadataMap): JsonObject {
  const headers: Record<string, string> = {};
  const metadata: Record<string, string> = {};
  const tags: Record<string, string> = {};
  const attributes: Record<string, string> = {};
  let storageClass: string | null = null;
  let etag: string | null = null;
  for (const key of orderedKeys(m)) {
    const value = m[key]!;
    const f = classifyKey(key);
    if (f.kind === 'header') headers[f.name] = value;
    else if (f.kind === 'metadata') metadata[f.name] = value;
    else if (f.kind === 'tag') tags[f.name] = value;
    else if (f.kind === 'storage_class') storageClass = value;
    else if (f.kind === 'etag') etag = value;
    else attributes[f.name] = value;
  }
  return { headers, metadata, tags, storage_class: storageClass, etag, attributes };
}

/** `ls -l`: one indented `label: value` line per key, in display order. */
export function metadataLines(m: EntryMetadataMap, indent: string): string[] {
  return orderedKeys(m).map((key) => `${indent}${fieldLabel(classifyKey(key))}: ${m[key]}`);
}

/** One key that differs between two entries' metadata. */
export interface MetadataChange extends MetadataField {
  readonly change: 'added' | 'removed' | 'changed';
  readonly from: string | null;
  readonly to: string | null;
}

/** The keys added, removed or changed from `before` to `after`, in display order. */
export function metadataChanges(before: EntryMetadataMap, after: EntryMetadataMap): MetadataChange[] {
  const out: MetadataChange[] = [];
  for (const key of orderedKeys(before, after)) {
    const from = Object.hasOwn(before, key) ? before[key]! : null;
    const to = Object.hasOwn(after, key) ? after[key]! : null;
    if (from === to) continue;
    const change = from === null ? 'added' : to === null ? 'removed' : 'changed';
    out.push({ ...classifyKey(key), change, from, to });
  }
  return out;
}

const CHANGE_MARK = { added: '+', removed: '-', changed: '~' } as const;

/** `diff`: `~ content-type: text/plain -> text/html`, `+ meta owner: alice`, `- tag color: red`. */
export function metadataChangeLine(c: MetadataChange, indent: string): string {
  const label = fieldLabel(c);
  const value = c.change === 'changed' ? `${c.from} -> ${c.to}` : (c.to ?? c.from);
  return `${indent}${CHANGE_MARK[c.change]} ${label}: ${value}`;
}

export function metadataChangeJson(c: MetadataChange): JsonObject {
  return { kind: c.kind, field: c.name, change: c.change, from: c.from, to: c.to };
}
