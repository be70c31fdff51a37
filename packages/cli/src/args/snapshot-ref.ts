/**
 * `SNAPSHOT[:PATH]`: a snapshot chosen by a prefix of its id (hex) or `latest`, and optionally a
 * path inside it (`/` when absent).
 */
import { UsageError } from '../errors.ts';

export interface SnapshotRef {
  /** A lowercase hex prefix, or `latest`. */
  readonly snapshot: string;
  /** Normalized: starts with `/`, no trailing `/`, no empty, `.` or `..` components. */
  readonly path: string;
  /** True when `:PATH` was given. */
  readonly hasPath: boolean;
}

export const LATEST = 'latest';

/** `/a//b/./c/` -> `/a/b/c`; `..` is refused. */
export function normalizeSnapshotPath(raw: string, command?: string): string {
  const parts: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..')
      throw new UsageError(`path ${JSON.stringify(raw)}: ".." is not allowed in a snapshot path`, command);
    parts.push(part);
  }
  return `/${parts.join('/')}`;
}

export function parseSnapshotRef(raw: string, command?: string): SnapshotRef {
  const colon = raw.indexOf(':');
  const snapshot = (colon >= 0 ? raw.slice(0, colon) : raw).toLowerCase();
  if (snapshot === '')
    throw new UsageError(`${JSON.stringify(raw)}: the snapshot id is missing before ":"`, command);
  if (snapshot !== LATEST && !/^[0-9a-f]{1,64}$/.test(snapshot)) {
    throw new UsageError(`${JSON.stringify(raw)} is not a snapshot id (hex digits) nor "latest"`, command);
  }
  if (colon < 0) return { snapshot, path: '/', hasPath: false };
  return { snapshot, path: normalizeSnapshotPath(raw.slice(colon + 1), command), hasPath: true };
}

/** The short form shown to users. */
export function shortId(id: string): string {
  return id.slice(0, 8);
}
