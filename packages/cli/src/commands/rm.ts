import { parseSnapshotRef, shortId } from '../args/snapshot-ref.ts';
import { isEmptyFilterView, SELECTION_FLAGS } from '../args/snapshot-selection.ts';
import { UsageError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import type { Command } from './command.ts';
import { commandFilter, selectSnapshots } from './selection.ts';
import { withStore } from './with-store.ts';

export const rmCommand: Command = {
  words: ['rm'],
  summary: 'remove snapshots',
  description:
    'Removes the given snapshots (their headers), or, without SNAPSHOT, every snapshot matching\n' +
    'the filters (-tag, -name, -source, -since, -before; at least one is then needed). The data they alone\n' +
    'used stays in the store until maintenance reclaims it. Every id is resolved before anything\n' +
    'is removed.',
  usesStore: true,
  flags: [...SELECTION_FLAGS],
  args: [
    { name: 'SNAPSHOT', required: false, variadic: true, description: 'snapshot id prefixes or "latest"' },
  ],
  json: '{"removed": [id, ...]}',
  examples: ['kloset rm 1a2b3c4d', 'kloset rm 1a2b 3c4d', 'kloset rm -tag test -before 30d'],
  async run(ctx) {
    const refs = ctx.args.map((a) => parseSnapshotRef(a, 'rm').snapshot);
    const filter = await commandFilter(ctx, 'rm');
    if (refs.length === 0 && isEmptyFilterView(filter)) {
      throw new UsageError('rm: give SNAPSHOT ids, or filters (-tag, -name, -source, -since, -before)', 'rm');
    }
    return withStore(ctx, false, async (store) => {
      const ids = (await selectSnapshots(store, refs, filter, true)).map((s) => s.id);
      await store.remove(ids);
      await ctx.out.result({ removed: ids }, () => ids.map((id) => `removed snapshot ${shortId(id)}`));
      return ExitCode.Ok;
    });
  },
};
