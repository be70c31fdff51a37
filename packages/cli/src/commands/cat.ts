import { once } from 'node:events';
import { AS_OF_FLAG } from '../args/common-flags.ts';
import { parseSnapshotRef } from '../args/snapshot-ref.ts';
import { SELECTION_FLAGS } from '../args/snapshot-selection.ts';
import { UsageError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import type { Command } from './command.ts';
import { commandFilter, selectOne } from './selection.ts';
import { withStore } from './with-store.ts';

/** With -json, content goes out in records of at most this many bytes (base64). */
const JSON_PART_BYTES = 1024 * 1024;

export const catCommand: Command = {
  words: ['cat'],
  summary: 'print a file of a snapshot on stdout, verified',
  description:
    'Writes the content of the file at PATH in SNAPSHOT to stdout. Every block is decrypted and\n' +
    'verified before it is written. Files up to 16 MiB are verified whole first, so a corrupt one\n' +
    'prints nothing; a larger file streams, and a block found corrupt after the first 8 MiB stops\n' +
    'the output there (what was printed is verified). Corrupt or missing data exits with 4.\n' +
    'With -json, the content is sent as base64 records, then a summary record.',
  usesStore: true,
  flags: [...SELECTION_FLAGS, AS_OF_FLAG],
  args: [
    {
      name: 'SNAPSHOT:PATH',
      required: true,
      description: 'a snapshot id prefix or "latest", and a file in it',
    },
  ],
  json: '{"offset", "data": base64} per part of at most 1 MiB, then {"snapshot", "path", "bytes"}',
  examples: ['kloset cat latest:/etc/hosts', 'kloset at @my-s3-store cat 1a2b3c4d:/index.html > index.html'],
  async run(ctx) {
    const ref = parseSnapshotRef(ctx.args[0]!, 'cat');
    if (!ref.hasPath || ref.path === '/') {
      throw new UsageError(`cat: give the file as SNAPSHOT:PATH, e.g. ${ref.snapshot}:/etc/hosts`, 'cat');
    }
    const filter = await commandFilter(ctx, 'cat');
    return withStore(ctx, true, async (store) => {
      const snap = await selectOne(store, ref.snapshot, filter, (l) => ctx.out.warn(l));
      const stdout = ctx.io.stdout;
      let bytes = 0;
      for await (const part of store.cat(snap.id, ref.path, ctx.io.signal)) {
        if (ctx.out.json) {
          for (let off = 0; off < part.length; off += JSON_PART_BYTES) {
            const slice = part.subarray(off, off + JSON_PART_BYTES);
            await ctx.out.record({ offset: bytes + off, data: Buffer.from(slice).toString('base64') });
          }
        } else if (!stdout.write(part)) {
          await once(stdout, 'drain');
        }
        bytes += part.length;
      }
      await ctx.out.record({ snapshot: snap.id, path: ref.path, bytes });
      return ExitCode.Ok;
    });
  },
};
