import { AS_OF_FLAG } from '../args/common-flags.ts';
import { parseSnapshotRef } from '../args/snapshot-ref.ts';
import { describeFilterView, isEmptyFilterView, SELECTION_FLAGS } from '../args/snapshot-selection.ts';
import { UsageError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { table } from '../output/format.ts';
import type { Command } from './command.ts';
import { listVersions } from './ls-versions.ts';
import { commandFilter, selectOne, selectSnapshots } from './selection.ts';
import { entryJson, entryLine, entryLongLines, snapshotJson, snapshotRow } from './views.ts';
import { withStore } from './with-store.ts';

export const lsCommand: Command = {
  words: ['ls'],
  summary: 'list snapshots, or the entries of a snapshot',
  description:
    'Without an argument, lists the snapshots of the store, oldest first (only those matching\n' +
    '-tag, -name, -source, -since and -before, when given): id, time, size, files, name, source\n' +
    "(s3://ENDPOINT/BUCKET[/PREFIX/], the path of a directory, HOST:PATH for another machine's)\n" +
    'and tags. With SNAPSHOT[:PATH], lists the entries of that directory of the snapshot (the\n' +
    'whole sub-tree with -recursive), or the entry itself when PATH is not a directory; "latest"\n' +
    'is then the newest snapshot matching the filters (refused, listing the sources, exit 2, when\n' +
    'those snapshots come from several sources: choose one with -source).\n' +
    'A snapshot header that cannot be read or authenticated is named on stderr and the listing\n' +
    'exits with 4 (the readable snapshots are still listed).\n' +
    'An entry without POSIX permissions (an S3 object, or a prefix listed as a directory) shows\n' +
    'its type and dashes as its mode (----------, d---------; -json: "mode": null). With -l, each\n' +
    'entry is followed by one indented line per header, user metadata, tag and attribute its\n' +
    'source recorded: "content-type: text/html", "meta owner: alice", "tag color: red",\n' +
    '"storage-class: STANDARD", "etag: ...", "s3.key: ..."; -json always carries them.\n' +
    'With -versions, lists the versions of the S3 object at PATH that a backup with the S3\n' +
    "source's versions=all recorded, newest first: version id (null for the null version),\n" +
    'LastModified, size, and "latest" or "delete-marker"; a deleted key (its latest version a\n' +
    'delete marker) has its versions listed though it is not in the plain tree.',
  usesStore: true,
  flags: [
    { name: 'recursive', kind: 'boolean', description: 'list the whole sub-tree' },
    {
      name: 'long',
      kind: 'boolean',
      aliases: ['l'],
      description: "also show each entry's headers, user metadata, tags and attributes",
    },
    {
      name: 'versions',
      kind: 'boolean',
      description: 'list the versions of the S3 object at PATH (snapshots taken with versions=all)',
    },
    ...SELECTION_FLAGS,
    AS_OF_FLAG,
  ],
  args: [
    {
      name: 'SNAPSHOT[:PATH]',
      required: false,
      description: 'a snapshot id prefix or "latest", and a path in it',
    },
  ],
  json:
    'one line per snapshot {snapshot}, or one line per entry {"path", "type", "size", "mtime", "mode", "uid", "gid", "link"?, "error"?, ' +
    '"headers": {"content-type"...}, "metadata": {name: value}, "tags": {key: value}, "storage_class", "etag", "attributes": {stored key: value}}; ' +
    'with -versions, one line per version {"key", "version_id", "last_modified", "size", "latest", "delete_marker", "etag", "path"}',
  examples: [
    'kloset ls',
    'kloset ls -tag daily -since 7d',
    'kloset ls -source @my-s3-bucket',
    'kloset ls latest',
    'kloset ls 1a2b3c4d:/etc -recursive',
    'kloset ls -l latest:/photos',
    'kloset ls -versions latest:/photos/cat.jpg',
  ],
  async run(ctx) {
    const raw = ctx.args[0];
    const ref = raw === undefined ? undefined : parseSnapshotRef(raw, 'ls');
    if (ref === undefined && ctx.flags.bool('long')) {
      throw new UsageError('ls: -l lists the entries of a snapshot: give SNAPSHOT[:PATH]', 'ls');
    }
    const versions = ctx.flags.bool('versions');
    if (versions && (ref === undefined || ref.path === '/')) {
      throw new UsageError('ls: -versions lists the versions of an S3 object: give SNAPSHOT:PATH', 'ls');
    }
    if (versions && (ctx.flags.bool('recursive') || ctx.flags.bool('long'))) {
      throw new UsageError('ls: -versions goes with neither -recursive nor -l', 'ls');
    }
    const filter = await commandFilter(ctx, 'ls');
    return withStore(ctx, true, async (store) => {
      if (!ref) {
        const unreadable: { id: string; reason: string }[] = [];
        const snapshots = await selectSnapshots(store, [], filter, false, (id, reason) =>
          unreadable.push({ id, reason }),
        );
        if (snapshots.length === 0 && !isEmptyFilterView(filter)) {
          await ctx.out.note(`no snapshot matches the filter (${describeFilterView(filter)})`);
        }
        if (ctx.out.json) for (const s of snapshots) await ctx.out.record(snapshotJson(s));
        else
          await ctx.out.text(
            ...table(
              snapshots.map((s) => snapshotRow(s)),
              [2],
            ),
          );
        // A header that cannot be read is never silently left out: named, and the exit code says so.
        for (const u of unreadable) {
          await ctx.out.warn(`snapshot ${u.id}: cannot be read: ${u.reason} (run 'kloset check')`);
        }
        return unreadable.length > 0 ? ExitCode.Integrity : ExitCode.Ok;
      }
      const snap = await selectOne(store, ref.snapshot, filter, (l) => ctx.out.warn(l));
      if (versions) {
        await listVersions(ctx, store, snap.id, ref.path, raw ?? ref.path);
        return ExitCode.Ok;
      }
      const recursive = ctx.flags.bool('recursive');
      const long = ctx.flags.bool('long');
      let first = true;
      for await (const entry of store.entries(snap.id, ref.path, recursive)) {
        // The first entry is the target itself: shown only when it is not a directory.
        const isTarget = first;
        first = false;
        if (isTarget && entry.type === 'directory') continue;
        if (ctx.out.json) await ctx.out.record(entryJson(entry));
        else await ctx.out.text(...(long ? entryLongLines(entry) : [entryLine(entry)]));
      }
      return ExitCode.Ok;
    });
  },
};
