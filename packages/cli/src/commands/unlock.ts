/** `unlock`: removes the locks (FORMAT §9) that block writers although nobody holds them. */
import { shortId } from '../args/snapshot-ref.ts';
import { CliError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import type { Command } from './command.ts';
import { withStore } from './with-store.ts';

export const unlockCommand: Command = {
  words: ['unlock'],
  summary: 'remove locks nobody holds (stale, of a dead process, unreadable)',
  description:
    'Removes the locks that block backups and maintenance although no command holds them: stale\n' +
    'ones (not refreshed for 30 minutes), those of a process of this host that no longer runs, and\n' +
    'those that cannot be read (corrupt, or not a kloset lock). Locks that look live are kept and\n' +
    'listed; -all removes them too: use it only when no kloset command uses the store. Run it\n' +
    'when a command says a lock cannot be read and no kloset command is running.',
  usesStore: true,
  flags: [{ name: 'all', kind: 'boolean', description: 'also remove locks that look live' }],
  args: [],
  json: '{"removed": [{"id", "why"}, ...], "kept": [{"id", "hostname", "pid"}, ...]}',
  examples: ['kloset unlock', 'kloset at @my-s3-store unlock', 'kloset unlock -all'],
  async run(ctx) {
    const all = ctx.flags.bool('all');
    return withStore(ctx, false, async (store) => {
      if (store.unlock === undefined) throw new CliError('unlock: this store has no locks to remove');
      const r = await store.unlock({ all });
      const removed = r.removed.map(({ id, why }) => ({ id, why }));
      const kept = r.kept.map(({ id, hostname, pid }) => ({ id, hostname, pid }));
      await ctx.out.result({ removed, kept }, () => [
        ...r.removed.map((l) => `removed ${l.why} lock ${shortId(l.id)}`),
        ...r.kept.map(
          (l) => `kept lock ${shortId(l.id)} of ${l.hostname} pid ${l.pid} (it looks live; -all removes it)`,
        ),
        ...(r.removed.length === 0 && r.kept.length === 0 ? ['no locks'] : []),
      ]);
      return ExitCode.Ok;
    });
  },
};
