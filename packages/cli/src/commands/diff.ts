import { AS_OF_FLAG } from '../args/common-flags.ts';
import { parseSnapshotRef, shortId } from '../args/snapshot-ref.ts';
import { SELECTION_FLAGS } from '../args/snapshot-selection.ts';
import type { DiffChangeView, EntryView } from '../engine/engine.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatCount } from '../output/format.ts';
import type { JsonObject } from '../output/json.ts';
import type { Command } from './command.ts';
import { versionChangeJson, versionChangeLines, versionChangeOf, versionSides } from './diff-versions.ts';
import {
  type MetadataChange,
  metadataChangeJson,
  metadataChangeLine,
  metadataChanges,
} from './entry-metadata.ts';
import { commandFilter, selectOne } from './selection.ts';
import { entryJson } from './views.ts';
import { withStore } from './with-store.ts';

const MARK = { added: '+', removed: '-', changed: '~' } as const;

function shown(e: EntryView | undefined, path: string): string {
  if (e?.type === 'directory') return path === '/' ? '/' : `${path}/`;
  if (e?.type === 'symlink') return `${path} -> ${e.linkTarget ?? ''}`;
  return path;
}

/** The headers, user metadata, tags and attributes that differ (a changed entry with `metadata` only). */
function metadataChangesOf(c: DiffChangeView): MetadataChange[] {
  if (c.change !== 'changed' || !c.fields.includes('metadata') || !c.before || !c.after) return [];
  return metadataChanges(c.before.metadata, c.after.metadata);
}

function changeLines(c: DiffChangeView): string[] {
  const entry = c.after ?? c.before;
  const what = c.change === 'changed' ? `  (${c.fields.join(', ')})` : '';
  const details = metadataChangesOf(c).map((m) => metadataChangeLine(m, '    '));
  return [`${MARK[c.change]} ${shown(entry, c.path)}${what}`, ...details];
}

function changeJson(c: DiffChangeView): JsonObject {
  return {
    change: c.change,
    path: c.path,
    type: (c.after ?? c.before)?.type ?? null,
    fields: [...c.fields],
    changes: metadataChangesOf(c).map(metadataChangeJson),
    before: c.before ? entryJson(c.before) : null,
    after: c.after ? entryJson(c.after) : null,
  };
}

export const diffCommand: Command = {
  words: ['diff'],
  summary: 'show what changed between two snapshots, or two paths of them',
  description:
    'Lists the entries added (+), removed (-) and changed (~, with what changed: content, mode,\n' +
    'mtime, owner, link, metadata, error) from the first snapshot to the second, in tree order\n' +
    '(a directory before its entries). With :PATH on both sides, compares those paths (entries\n' +
    'below them are matched by their path relative to them). A file that became a directory is\n' +
    'one removal and one addition. Reads both trees once, in step; memory does not grow with them.\n' +
    'When metadata changed, one indented line follows per header, user metadata, tag or attribute\n' +
    'added (+), removed (-) or changed (~): "~ content-type: text/plain -> text/html",\n' +
    '"+ meta owner: alice", "- tag color: red"; -json lists them in "changes".\n' +
    'Snapshots of the S3 source taken with versions=all: the changes under /%%versions are shown\n' +
    "as changes of the keys' versions, worded as ls -versions, in tree order among the others:\n" +
    '"+ /docs/a.txt  version ID  TIME  SIZE  latest" (a new version), "+ /docs/b.txt  delete-marker\n' +
    'ID  TIME  latest" (a key deleted), "- /old.txt  version ID  TIME  SIZE" (a version expired or\n' +
    'deleted by its id; "was latest" when it was the latest), "~ ... (metadata)" (its tags or\n' +
    'storage class changed). The directories of /%%versions are not shown (they follow from the\n' +
    'versions below them), nor a version whose IsLatest alone changed (it changes only when a\n' +
    'version of its key is added or removed, which is shown). With :PATH of the plain tree, the\n' +
    'versions of the keys at or below PATH follow its changes. The note counts both: "5\n' +
    'differences, 4 version changes". From a versions=latest snapshot every version is added.',
  usesStore: true,
  flags: [...SELECTION_FLAGS, AS_OF_FLAG],
  args: [
    { name: 'SNAPSHOT[:PATH]', required: true, description: 'the older side' },
    { name: 'SNAPSHOT[:PATH]', required: true, description: 'the newer side' },
  ],
  json:
    'one line per change {"change": "added"|"removed"|"changed", "path", "type", "fields", ' +
    '"changes": [{"kind": "header"|"metadata"|"tag"|"storage_class"|"etag"|"attribute", "field", "change", "from", "to"}], ' +
    '"before": {entry}|null, "after": {entry}|null}; a version change (S3 versions=all) ' +
    '{"change": "version_added"|"version_removed"|"version_changed", "key" (the S3 key), ' +
    '"key_path" (its path in the plain tree, for ls -versions), "version_id", "last_modified", "size", ' +
    '"latest" (in the snapshot it is shown from: the first for a removal), "delete_marker", "etag", ' +
    '"path" (in /%%versions), "fields", "changes", "before", "after"}',
  examples: [
    'kloset diff 1a2b3c4d latest',
    'kloset diff 1a2b3c4d:/etc latest:/etc',
    'kloset diff -source @my-s3-bucket 1a2b3c4d:/docs/a.txt latest:/docs/a.txt',
  ],
  async run(ctx) {
    const a = parseSnapshotRef(ctx.args[0]!, 'diff');
    const b = parseSnapshotRef(ctx.args[1]!, 'diff');
    const filter = await commandFilter(ctx, 'diff');
    return withStore(ctx, true, async (store) => {
      const sa = await selectOne(store, a.snapshot, filter, (l) => ctx.out.warn(l));
      const sb = await selectOne(store, b.snapshot, filter, (l) => ctx.out.warn(l));
      // The versions tree of an S3 snapshot (versions=all) is shown as the keys' version changes.
      const sideA = { snapshotId: sa.id, path: a.path, s3: sa.source.protocol === 's3' };
      const sideB = { snapshotId: sb.id, path: b.path, s3: sb.source.protocol === 's3' };
      const s3 = { before: sideA.s3, after: sideB.s3 };
      let n = 0;
      let versions = 0;
      const show = async (changes: AsyncIterable<DiffChangeView>): Promise<void> => {
        for await (const c of changes) {
          const v = versionChangeOf(c, s3);
          if (v === 'folded') continue;
          if (v !== undefined) {
            versions++;
            if (ctx.out.json) await ctx.out.record(versionChangeJson(v));
            else await ctx.out.text(...versionChangeLines(v));
            continue;
          }
          n++;
          if (ctx.out.json) await ctx.out.record(changeJson(c));
          else await ctx.out.text(...changeLines(c));
        }
      };
      await show(store.diff(sideA, sideB));
      // PATHs of the plain tree: then the versions of the keys at or below them.
      const more = await versionSides(store, sideA, sideB);
      if (more !== undefined) await show(store.diff(...more));
      const counted = [
        `${formatCount(n)} difference${n === 1 ? '' : 's'}`,
        ...(versions > 0 ? [`${formatCount(versions)} version change${versions === 1 ? '' : 's'}`] : []),
      ];
      await ctx.out.note(
        `${counted.join(', ')} from ${shortId(sa.id)}:${a.path} to ${shortId(sb.id)}:${b.path}`,
      );
      return ExitCode.Ok;
    });
  },
};
