import { parseSnapshotRef, pickSnapshot, shortId } from '../args/snapshot-ref.ts';
import { ExitCode } from '../exit-codes.ts';
import type { Command } from './command.ts';
import { withStore } from './with-store.ts';

export const rmCommand: Command = {
  words: ['rm'],
  summary: 'remove snapshots',
  description:
    'Removes the given snapshots (their headers). The data they alone used stays in the store\n' +
    'until maintenance reclaims it. Every id is resolved before anything is removed.',
  usesStore: true,
  flags: [],
  args: [
    { name: 'SNAPSHOT', required: true, variadic: true, description: 'snapshot id prefixes or "latest"' },
  ],
  json: '{"removed": [id, ...]}',
  examples: ['kloset rm 1a2b3c4d', 'kloset rm 1a2b 3c4d'],
  async run(ctx) {
    const refs = ctx.args.map((a) => parseSnapshotRef(a, 'rm'));
    return withStore(ctx, false, async (store) => {
      const all = await store.snapshots();
      const ids = [...new Set(refs.map((r) => pickSnapshot(all, r.snapshot).id))];
      await store.remove(ids);
      await ctx.out.result({ removed: ids }, () => ids.map((id) => `removed snapshot ${shortId(id)}`));
      return ExitCode.Ok;
    });
  },
};
