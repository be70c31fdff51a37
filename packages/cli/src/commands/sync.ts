import { AS_OF_FLAG } from '../args/common-flags.ts';
import { parseSnapshotRef, shortId } from '../args/snapshot-ref.ts';
import { isEmptyFilterView, SELECTION_FLAGS } from '../args/snapshot-selection.ts';
import { asOfFlag } from '../args/time-spec.ts';
import type { OpenStore, SyncedView } from '../engine/engine.ts';
import { MissingPassphraseError, PassphraseError, UsageError, WrongPassphraseError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatBytes, formatCount } from '../output/format.ts';
import type { Command, CommandContext } from './command.ts';
import { commandFilter, selectSnapshots } from './selection.ts';
import { withStore } from './with-store.ts';

interface SyncPlan {
  readonly direction: 'to' | 'from';
  readonly peer: string;
  readonly refs: readonly string[];
}

/** `-to DST` / `-from SRC`, or Plakar's words `to DST` / `from SRC` before the snapshots. */
function plan(ctx: CommandContext): SyncPlan {
  const to = ctx.flags.string('to');
  const from = ctx.flags.string('from');
  let args = [...ctx.args];
  let direction: 'to' | 'from' | undefined;
  let peer: string | undefined;
  if (args[0] === 'to' || args[0] === 'from') {
    if (to !== undefined || from !== undefined) {
      throw new UsageError(`sync: give either "${args[0]} STORE" or -to/-from, not both`, 'sync');
    }
    direction = args[0];
    peer = args[1];
    if (peer === undefined)
      throw new UsageError(`sync: "${direction}" needs a store: sync ${direction} STORE`, 'sync');
    args = args.slice(2);
  } else if (to !== undefined && from !== undefined) {
    throw new UsageError('sync: give -to or -from, not both', 'sync');
  } else if (to !== undefined) {
    [direction, peer] = ['to', to];
  } else if (from !== undefined) {
    [direction, peer] = ['from', from];
  }
  if (direction === undefined || peer === undefined) {
    throw new UsageError(
      'sync: say where: sync -to STORE (or to STORE), or sync -from STORE (or from STORE)',
      'sync',
    );
  }
  return { direction, peer, refs: args.map((a) => parseSnapshotRef(a, 'sync').snapshot) };
}

function line(s: SyncedView): string {
  if (s.status === 'present') return `present ${shortId(s.id)} (already there)`;
  return (
    `copied  ${shortId(s.id)} (${formatBytes(s.readBytes)} read, ${formatBytes(s.storedBytes)} stored` +
    (s.mappedFiles > 0 ? `, ${formatCount(s.mappedFiles)} files known from earlier copies` : '') +
    ')'
  );
}

/**
 * The other store of the sync. A wrong or missing passphrase names it, and how its own passphrase
 * is given: the one of "at" is not the one to fix.
 */
async function openPeer(
  ctx: CommandContext,
  p: SyncPlan,
): ReturnType<CommandContext['services']['openStore']> {
  try {
    return await ctx.services.openStore(
      {
        at: p.peer,
        keyfile: ctx.flags.string('peer-keyfile') ?? ctx.flags.string('keyfile'),
        sourcePassphrase: ctx.io.env.KLOSET_PEER_PASSPHRASE,
        sourcePassphraseFrom: 'KLOSET_PEER_PASSPHRASE',
        // -as-of is of the source: the peer in `sync -from` (the store of "at" in `sync -to`).
        asOf: p.direction === 'from' ? asOfFlag(ctx.flags, 'sync') : undefined,
      },
      p.direction === 'from',
    );
  } catch (err) {
    // Its passphrase: passphrase= of @NAME, else KLOSET_PEER_PASSPHRASE, else as for "at" (the
    // environment before the keyfile): when it came from one shared with "at", say where its own goes.
    const own = "the other store's own passphrase goes in KLOSET_PEER_PASSPHRASE";
    if (err instanceof WrongPassphraseError) {
      const hint =
        err.from === 'KLOSET_PASSPHRASE'
          ? `; ${own}`
          : err.from?.startsWith('keyfile ') && ctx.flags.string('peer-keyfile') === undefined
            ? `; ${own} or -peer-keyfile FILE`
            : '';
      throw new WrongPassphraseError(`sync -${p.direction}: ${err.message}${hint}`, {
        cause: err,
        from: err.from,
      });
    }
    if (err instanceof PassphraseError) {
      const more = err instanceof MissingPassphraseError ? `; ${own} or -peer-keyfile FILE` : '';
      const message = `sync -${p.direction} ${p.peer}: ${err.message}${more}`;
      throw new PassphraseError(message, ExitCode.Error, {
        cause: err,
      });
    }
    throw err;
  }
}

export const syncCommand: Command = {
  words: ['sync'],
  summary: 'copy snapshots to or from another store',
  description:
    'Copies the given snapshots (default: all, or all matching the filters) from the store of\n' +
    '"at" to STORE (-to STORE, or Plakar\'s "sync to STORE"), or from STORE into the store of\n' +
    '"at" (-from STORE, "sync from STORE"). The stores may have different passphrases and keys:\n' +
    'content is read and verified, re-chunked and re-encrypted for the destination, and stored\n' +
    'once (deduplicated against what the destination holds). A snapshot keeps its id; one the\n' +
    "destination has already is skipped, so an interrupted sync resumes. The other store's\n" +
    'passphrase: its passphrase= option (@NAME), else KLOSET_PEER_PASSPHRASE, else\n' +
    'KLOSET_PASSPHRASE, else -peer-keyfile FILE (default: -keyfile), else a prompt. Create the\n' +
    'destination first (kloset at STORE create). -as-of TIME reads the source store as it was then.',
  usesStore: true,
  flags: [
    {
      name: 'to',
      kind: 'string',
      value: 'STORE',
      description: 'copy into this store (a path, a URL or @NAME)',
    },
    {
      name: 'from',
      kind: 'string',
      value: 'STORE',
      description: 'copy from this store into the store of "at"',
    },
    {
      name: 'peer-keyfile',
      kind: 'string',
      value: 'FILE',
      description: "read the other store's passphrase from FILE",
    },
    ...SELECTION_FLAGS,
    AS_OF_FLAG,
  ],
  args: [
    {
      name: 'SNAPSHOT',
      required: false,
      variadic: true,
      description: 'snapshot id prefixes or "latest" (of the source)',
    },
  ],
  json: '{"from", "to", "copied", "present", "stored_bytes", "snapshots": [{"id", "status": "copied"|"present", "read_bytes", "stored_bytes", "mapped_files"}]}',
  examples: [
    'kloset at /var/backups sync -to @my-s3-store',
    'kloset at /var/backups sync to @my-s3-store latest',
    'kloset at @offsite sync -from /var/backups -tag weekly',
  ],
  async run(ctx) {
    const p = plan(ctx);
    const filter = await commandFilter(ctx, 'sync');
    return withStore(ctx, p.direction === 'to', async (here, where) => {
      const { store: peer, where: peerWhere } = await openPeer(ctx, p);
      try {
        const [src, dst]: [OpenStore, OpenStore] = p.direction === 'to' ? [here, peer] : [peer, here];
        const [srcName, dstName] =
          p.direction === 'to' ? [where.display, peerWhere.display] : [peerWhere.display, where.display];
        const required = p.refs.length > 0 || !isEmptyFilterView(filter);
        const snapshots = await selectSnapshots(src, p.refs, filter, required);
        const progress = ctx.out.progress('sync');
        let outcome: Awaited<ReturnType<OpenStore['syncTo']>>;
        try {
          outcome = await src.syncTo(dst, {
            snapshotIds: snapshots.map((s) => s.id),
            signal: ctx.io.signal,
            onProgress: (e) => progress.update(e),
            onSnapshot: (s) => {
              if (!ctx.out.json) void ctx.out.text(line(s));
            },
          });
        } finally {
          progress.stop();
        }
        await ctx.out.result(
          {
            from: p.direction === 'to' ? where.location : peerWhere.location,
            to: p.direction === 'to' ? peerWhere.location : where.location,
            copied: outcome.copied,
            present: outcome.present,
            stored_bytes: outcome.storedBytes,
            snapshots: outcome.snapshots.map((s) => ({
              id: s.id,
              status: s.status,
              read_bytes: s.readBytes,
              stored_bytes: s.storedBytes,
              mapped_files: s.mappedFiles,
            })),
          },
          () => [
            `synced ${srcName} to ${dstName}: ${formatCount(outcome.copied)} copied, ` +
              `${formatCount(outcome.present)} already there, ${formatBytes(outcome.storedBytes)} stored`,
          ],
        );
        return ExitCode.Ok;
      } finally {
        await peer.close();
      }
    });
  },
};
