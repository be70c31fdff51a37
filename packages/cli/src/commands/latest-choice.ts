/**
 * `latest` among the snapshots of several sources, as the user sees it: exit 2, and one line per
 * source (newest first) with its name, where it was taken, its newest snapshot and the `-source`
 * that chooses it.
 */
import { hostname } from 'node:os';
import { shortId } from '../args/snapshot-ref.ts';
import type { AmbiguousLatestError } from '../engine/ambiguous-latest.ts';
import type { SnapshotView } from '../engine/engine.ts';
import { ChoiceError } from '../errors.ts';
import { formatTime, table } from '../output/format.ts';
import { shellWord } from '../output/shell-word.ts';
import { sourceLabel } from './views.ts';

/**
 * The `-source` value that chooses the source of `s`, if one does: the named source its name is
 * (when it is still configured), the path of a directory of this machine, or a bucket's URL.
 */
export function sourceFlagValue(
  s: SnapshotView,
  namedSources: readonly string[],
  localHost: string = hostname(),
): string | undefined {
  if (s.name.startsWith('@') && namedSources.includes(s.name.slice(1))) return s.name;
  const { protocol, origin } = s.source;
  if (protocol === 's3' || (protocol === 'fs' && origin === localHost))
    return sourceLabel(s.source, localHost);
  return undefined;
}

/** The error the user sees for `latest` among several sources (`namedSources`: the configured ones). */
export function latestChoice(
  err: AmbiguousLatestError,
  namedSources: readonly string[],
  localHost: string = hostname(),
): ChoiceError {
  const rows = err.sources.map(({ newest, count }) => {
    const flag = sourceFlagValue(newest, namedSources, localHost);
    return [
      newest.name,
      sourceLabel(newest.source, localHost),
      shortId(newest.id),
      formatTime(newest.time),
      `${count} snapshot${count === 1 ? '' : 's'}`,
      flag === undefined ? '(no -source names it: give the id)' : `-source ${shellWord(flag)}`,
    ];
  });
  return new ChoiceError(
    `"latest" is ambiguous: the snapshots it is chosen from come from ${err.sources.length} sources; ` +
      'choose one with -source, or give a snapshot id:',
    table(rows),
    { cause: err },
  );
}
