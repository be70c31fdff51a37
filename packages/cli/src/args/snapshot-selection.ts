/**
 * The snapshot filters every command that takes snapshots accepts: `-tag T` (repeatable, or
 * `a,b`: the snapshot must have every tag), `-name N` (exactly), `-source @NAME|PATH|URL` (the
 * snapshots of that source: see commands/source-filter.ts, which resolves it), `-since DATE`,
 * `-before DATE` (see time-spec.ts). With SNAPSHOT references, `latest` is the newest snapshot
 * that matches, provided the matches are all of one source (else the command lists the sources
 * and exits 2), and an id prefix must name a snapshot that matches; without references, a command
 * works on every snapshot that matches.
 */

import type { SnapshotFilterView } from '../engine/engine.ts';
import { UsageError } from '../errors.ts';
import type { FlagSpec, ParsedFlags } from './flags.ts';
import { parseTimeSpec } from './time-spec.ts';

export const SELECTION_FLAGS: readonly FlagSpec[] = [
  {
    name: 'tag',
    kind: 'list',
    value: 'TAG',
    description: 'only snapshots with this tag (repeat, or a,b: every tag given)',
  },
  { name: 'name', kind: 'string', value: 'NAME', description: 'only snapshots with exactly this name' },
  {
    name: 'source',
    kind: 'string',
    value: '@NAME|PATH|URL',
    description:
      'only snapshots of this source: those recording what a backup of it here records (protocol, ' +
      'origin: host name, or endpoint and bucket; root: path, or prefix), and for @NAME those named @NAME',
  },
  {
    name: 'since',
    kind: 'string',
    value: 'DATE',
    description: 'only snapshots taken at or after DATE (2025-01-31, 2025-01-31T13:45Z, or 7d, 12h ago)',
  },
  {
    name: 'before',
    kind: 'string',
    value: 'DATE',
    description: 'only snapshots taken before DATE (same forms as -since)',
  },
];

/**
 * The filter of the selection flags but -source (resolved by commands/selection.ts); bad dates and
 * an empty range are usage errors.
 */
export function filterFromFlags(flags: ParsedFlags, command: string, now = Date.now()): SnapshotFilterView {
  const since = flags.string('since');
  const before = flags.string('before');
  const name = flags.string('name');
  const filter: SnapshotFilterView = {
    tags: flags.list('tag'),
    ...(name !== undefined ? { name } : {}),
    ...(since !== undefined ? { since: parseTimeSpec(since, now, 'since', command) } : {}),
    ...(before !== undefined ? { before: parseTimeSpec(before, now, 'before', command) } : {}),
  };
  if (filter.since !== undefined && filter.before !== undefined && filter.since >= filter.before) {
    throw new UsageError(
      `${command}: -since ${since} is not before -before ${before}: no snapshot can match`,
      command,
    );
  }
  return filter;
}

/** True when no filter flag was given. */
export function isEmptyFilterView(filter: SnapshotFilterView): boolean {
  return (
    filter.tags.length === 0 &&
    filter.name === undefined &&
    filter.source === undefined &&
    filter.since === undefined &&
    filter.before === undefined
  );
}

/** The filter in words for messages: `-tag daily -since 2025-01-01T00:00:00.000Z`. */
export function describeFilterView(filter: SnapshotFilterView): string {
  const parts = filter.tags.map((t) => `-tag ${t}`);
  if (filter.name !== undefined) parts.push(`-name ${JSON.stringify(filter.name)}`);
  if (filter.source !== undefined) parts.push(`-source ${filter.source.label}`);
  if (filter.since !== undefined) parts.push(`-since ${new Date(filter.since).toISOString()}`);
  if (filter.before !== undefined) parts.push(`-before ${new Date(filter.before).toISOString()}`);
  return parts.join(' ');
}
