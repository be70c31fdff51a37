import type { Destination } from '@kloset/connector-contract';
import { AS_OF_FLAG } from '../args/common-flags.ts';
import { parseSnapshotRef } from '../args/snapshot-ref.ts';
import { SELECTION_FLAGS } from '../args/snapshot-selection.ts';
import { parseTimeSpec } from '../args/time-spec.ts';
import type { OpenStore, RestoreOutcome, VersionsTreeRef } from '../engine/engine.ts';
import { CliError, UsageError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { describeLocation } from '../location/location.ts';
import { formatBytes, formatCount } from '../output/format.ts';
import type { Command } from './command.ts';
import { entryAt } from './entry-at.ts';
import { keyNameOfVersionDir, VERSIONS_DIR, versionDirOfPath } from './ls-versions.ts';
import { commandFilter, selectOne } from './selection.ts';
import { FailureList } from './views.ts';
import { withStore } from './with-store.ts';

const OVERWRITE_MODES = ['always', 'if-changed', 'never'] as const;
type OverwriteMode = (typeof OVERWRITE_MODES)[number];

function overwriteMode(raw: string | undefined): OverwriteMode {
  const mode = OVERWRITE_MODES.find((m) => m === (raw ?? 'always'));
  if (mode === undefined) {
    throw new UsageError(
      `restore: -overwrite takes always, if-changed or never, not ${JSON.stringify(raw)}`,
      'restore',
    );
  }
  return mode;
}

/**
 * Refuses -at or -all-versions (`flag`) on a snapshot without a versions tree (one taken without
 * versions=all): exit 1.
 */
async function requireVersions(store: OpenStore, id: string, flag: string): Promise<void> {
  const found = (await entryAt(store, id, `/${VERSIONS_DIR}`))?.type === 'directory';
  if (!found) {
    throw new CliError(
      `restore: ${flag}: snapshot ${id.slice(0, 8)} holds no object versions (only a snapshot of a bucket taken with the S3 source's versions=all does)`,
    );
  }
}

/** The versions tree of an S3 snapshot taken with versions=all (docs/FORMAT.md §8.4). */
const VERSIONS_TREE: VersionsTreeRef = {
  root: `/${VERSIONS_DIR}`,
  keyName: keyNameOfVersionDir,
  keyDir: versionDirOfPath,
};

/**
 * Refuses -all-versions into a destination that keeps no versions (exit 1): a local directory, a
 * bucket whose versioning is not Enabled (or that does not exist: it is not created).
 */
async function requireVersionedDestination(destination: Destination, display: string): Promise<void> {
  const keeps = destination.keepsVersions === undefined ? undefined : await destination.keepsVersions();
  if (keeps === true && destination.remove !== undefined) return;
  throw new CliError(
    keeps === undefined
      ? `restore: -all-versions needs a versioned bucket: ${display} keeps no versions`
      : `restore: -all-versions needs a versioned bucket: ${display} has no versioning enabled (or does not exist)`,
  );
}

/** The usage errors of -all-versions with other flags, and of a PATH inside the versions tree. */
function checkVersionFlags(
  all: boolean,
  at: number | undefined,
  overwrite: string | undefined,
  path: string,
) {
  const flag = all ? '-all-versions' : '-at';
  if (all && at !== undefined) {
    throw new UsageError(
      'restore: -all-versions and -at exclude each other: every version, or one instant',
      'restore',
    );
  }
  if (all && overwrite !== undefined && overwrite !== 'always') {
    throw new UsageError(
      `restore: -all-versions writes every version: -overwrite ${overwrite} does not apply (only always)`,
      'restore',
    );
  }
  if ((all || at !== undefined) && (path === `/${VERSIONS_DIR}` || path.startsWith(`/${VERSIONS_DIR}/`))) {
    throw new UsageError(
      `restore: ${flag} takes a path of the plain tree (a folder or a key), not one inside /${VERSIONS_DIR}`,
      'restore',
    );
  }
}

/** The human summary: what was (or would be) restored, replaced and skipped. */
function summaryLine(
  o: RestoreOutcome,
  what: string,
  mode: OverwriteMode,
  dryRun: boolean,
  failed: number,
): string {
  const replaced = o.replaced === undefined ? '' : `, ${formatCount(o.replaced)} replaced`;
  const counted =
    o.versions === undefined
      ? `${formatCount(o.entries)} entries`
      : `${formatCount(o.versions)} versions and ${formatCount(o.deleteMarkers ?? 0)} delete markers`;
  let line = `${dryRun ? 'dry run: would restore' : 'restored'} ${counted} (${formatBytes(o.bytes)}${replaced}) of ${what}`;
  if (failed) line += `, ${formatCount(failed)} failed`;
  if (mode !== 'always' || o.skipped > 0) {
    line +=
      `; ${dryRun ? 'would skip' : 'skipped'} ${formatCount(o.skipped)} ` +
      `(${formatCount(o.skippedIdentical)} identical, ${formatCount(o.skippedExisting)} existing)`;
  }
  return dryRun ? `${line}; nothing was written` : line;
}

export const restoreCommand: Command = {
  words: ['restore'],
  summary: 'restore a snapshot, or a path of it, into a directory or a named destination',
  description:
    'Restores SNAPSHOT (or only PATH of it) into DIR or the named destination @NAME. Every block\n' +
    'is verified before it is written: content that fails verification is not written, the\n' +
    'entry is reported and the command exits with 4. Entries that cannot be written exit with 3.\n' +
    'With -tag, -name, -source, -since or -before, "latest" is the newest snapshot matching them.\n' +
    'When the snapshots "latest" is chosen from come from several sources (two buckets, a bucket\n' +
    'and a directory), it is refused: each source is listed (name, source, newest snapshot id and\n' +
    'time, the -source that chooses it) and the command exits 2.\n' +
    "A bucket snapshot taken with the S3 source's versions=all restores its latest versions, as\n" +
    'without it: the versions under /%%versions are left out unless PATH is one of them (see\n' +
    '"ls -versions").\n' +
    '\n' +
    '-at TIME (2025-01-31T13:45:00Z, or 2h for two hours ago) restores such a snapshot as the\n' +
    'bucket was at TIME: each key as its newest version last modified at or before TIME (its\n' +
    "content, headers, user metadata and tags), written at the key's own path; nothing for a key\n" +
    'deleted then (its newest version a delete marker) or not written yet. With PATH, the keys\n' +
    'under that folder, or the one key PATH names. The versions are read in one pass, newest\n' +
    'first per key, the older ones skipped. A snapshot without versions is refused (exit 1); a\n' +
    'PATH inside /%%versions with -at is a usage error (exit 2). -overwrite and -dry-run apply.\n' +
    '\n' +
    '-all-versions restores every version of every key of such a snapshot (or of PATH, a folder or\n' +
    'a key) into a bucket with versioning enabled, replaying its history: for each key its\n' +
    'versions oldest first, each written at the key (content, headers, user metadata, tags), each\n' +
    'delete marker as a DeleteObject (a new delete marker). The bucket gives them new version ids\n' +
    'and LastModified times; the order and contents are those of the source. The versions of one\n' +
    'key are written one after the other, different keys at once. A destination that keeps no\n' +
    'versions (a directory, a bucket without versioning enabled; a missing bucket is not created)\n' +
    'and a snapshot without versions are refused (exit 1); with -at, or an -overwrite other than\n' +
    'always, it is a usage error (exit 2). -dry-run counts what would be written.\n' +
    '\n' +
    "What exists already at an entry's place in DIR or the bucket is decided by -overwrite:\n" +
    '  always      (the default, as with restic and tar) write every entry, replacing what is there\n' +
    '  if-changed  skip a file or symlink that already holds the same content, write the others\n' +
    '  never       never replace anything: skip every file or symlink whose place is taken\n' +
    'Directories are always merged. "The same content" is decided exactly: the same type, the same\n' +
    'symlink target, the same size, then the same bytes: the existing file or object is read and\n' +
    "hashed piece by piece along the snapshot's chunk boundaries (the keyed SHA-256 of the backup)\n" +
    'and compared with the snapshot. An object whose ETag is the MD5 of its body, restored from a\n' +
    'bucket backup that recorded such an ETag, is compared by ETag without being read. Sizes and\n' +
    'mtimes alone are never trusted. A skipped entry keeps its own mode, mtime and metadata, and\n' +
    'its content is not read from the store. With never, a file is only created if absent (O_EXCL;\n' +
    'on S3 If-None-Match: *, and a HeadObject before a multipart upload).\n' +
    '\n' +
    '-dry-run reports what would be restored and skipped and writes nothing: no directory, file,\n' +
    'object or bucket is created, and no content is read from the store.',
  usesStore: true,
  flags: [
    { name: 'to', kind: 'string', value: 'DIR|@NAME', description: 'where to restore (required)' },
    {
      name: 'overwrite',
      kind: 'string',
      value: 'always|if-changed|never',
      description: 'what to do with entries that exist already (default always)',
    },
    {
      name: 'dry-run',
      kind: 'boolean',
      description: 'show what would be restored and skipped, write nothing',
    },
    {
      name: 'at',
      kind: 'string',
      value: 'TIME',
      description:
        'restore each key as it was at TIME, from the object versions of a snapshot taken with versions=all',
    },
    {
      name: 'all-versions',
      kind: 'boolean',
      description:
        'restore every version of every key, oldest first, from a snapshot taken with versions=all into a versioned bucket',
    },
    ...SELECTION_FLAGS,
    AS_OF_FLAG,
  ],
  args: [
    {
      name: 'SNAPSHOT[:PATH]',
      required: true,
      description: 'a snapshot id prefix or "latest", and a path in it',
    },
  ],
  json:
    '{"snapshot", "path", "at" (ISO 8601, null without -at), "all_versions", "to", "dry_run", "overwrite", "entries", "bytes", "replaced" (null with always), ' +
    '"versions", "delete_markers" (written with -all-versions, else null), ' +
    '"skipped", "skipped_identical", "skipped_existing", "failed": [{"path", "error"}] (first 1000), ' +
    '"failed_count", "corrupt"}',
  examples: [
    'kloset restore -to /tmp/restore latest',
    'kloset at /var/backups restore -to @my-s3-restore -source @my-s3-bucket latest',
    'kloset at /var/backups restore -to @my-s3-restore 1a2b3c4d',
    'kloset restore -to /srv/data -overwrite if-changed -dry-run latest',
    'kloset restore -to @my-s3-restore -at 2026-12-01T09:00:00Z -source @my-s3-bucket latest:/docs',
    'kloset restore -to @my-versioned-bucket -all-versions -source @my-s3-bucket latest',
  ],
  async run(ctx) {
    const to = ctx.flags.string('to');
    if (to === undefined) throw new UsageError('restore: missing -to DIR|@NAME', 'restore');
    const ref = parseSnapshotRef(ctx.args[0]!, 'restore');
    const filter = await commandFilter(ctx, 'restore');
    const mode = overwriteMode(ctx.flags.string('overwrite'));
    const dryRun = ctx.flags.bool('dry-run');
    const atText = ctx.flags.string('at');
    const at = atText === undefined ? undefined : parseTimeSpec(atText, Date.now(), 'at', 'restore');
    const all = ctx.flags.bool('all-versions');
    checkVersionFlags(all, at, ctx.flags.string('overwrite'), ref.path);
    // A bad -to (unknown @NAME, a bad option or a secret in its query) is told before the store opens.
    const target = await ctx.services.resolve(to, 'destination');
    return withStore(ctx, true, async (store) => {
      const snap = await selectOne(store, ref.snapshot, filter, (l) => ctx.out.warn(l));
      if (at !== undefined || all) await requireVersions(store, snap.id, all ? '-all-versions' : '-at');
      // Every version goes into a bucket that exists and keeps versions: none is created.
      const { where, destination } = await ctx.services.destinationAt(target, dryRun || all);
      if (all) {
        try {
          await requireVersionedDestination(destination, describeLocation(where));
        } catch (err) {
          await destination.close();
          throw err;
        }
      }
      const failures = new FailureList();
      const progress = ctx.out.progress('restore');
      let outcome: Awaited<ReturnType<typeof store.restore>>;
      try {
        outcome = await store.restore(destination, {
          destination: describeLocation(where),
          snapshotId: snap.id,
          path: ref.path,
          // The versions of an S3 snapshot taken with versions=all are restored only when asked for.
          ...(all
            ? { allVersions: VERSIONS_TREE }
            : at !== undefined
              ? { versionsAt: { ...VERSIONS_TREE, time: at } }
              : snap.source.protocol === 's3'
                ? { leaveOut: [`/${VERSIONS_DIR}`] }
                : {}),
          overwrite: mode,
          dryRun,
          signal: ctx.io.signal,
          onProgress: (e) => progress.update(e),
          onFailure: (f) => {
            failures.add(f);
            void ctx.out.warn(`restore: ${f.path}: ${f.error}`);
          },
        });
      } finally {
        progress.stop();
        await destination.close();
      }
      const failed = Math.max(outcome.failures, failures.count);
      await ctx.out.result(
        {
          snapshot: snap.id,
          path: ref.path,
          at: at === undefined ? null : new Date(at).toISOString(),
          all_versions: all,
          to: where.location,
          dry_run: dryRun,
          overwrite: mode,
          entries: outcome.entries,
          bytes: outcome.bytes,
          replaced: outcome.replaced ?? null,
          versions: outcome.versions ?? null,
          delete_markers: outcome.deleteMarkers ?? null,
          skipped: outcome.skipped,
          skipped_identical: outcome.skippedIdentical,
          skipped_existing: outcome.skippedExisting,
          failed: failures.json(),
          failed_count: failed,
          corrupt: outcome.corrupt,
        },
        () => [
          summaryLine(
            outcome,
            `${snap.id.slice(0, 8)}:${ref.path}${at === undefined ? '' : ` at ${new Date(at).toISOString()}`}${all ? ', every version,' : ''} to ${where.display}`,
            mode,
            dryRun,
            failed,
          ),
        ],
      );
      if (outcome.corrupt > 0) return ExitCode.Integrity;
      return failed > 0 ? ExitCode.Partial : ExitCode.Ok;
    });
  },
};
