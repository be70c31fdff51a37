/**
 * `kloset source|store|destination ping NAME`: connects to a named location with its connector and
 * says in one line what is there. Reads only; a destination's connector may create a missing
 * bucket, as a restore would.
 *
 * - source: scans the first entries (at most SAMPLE) and counts them;
 * - store: a kloset store (config present, snapshot headers counted) or empty, and the mode;
 * - destination: the connector is created (the S3 one checks the bucket); writable is tested for
 *   local directories; for other protocols the contract offers no probe that writes nothing, so
 *   it is reported as unknown (null).
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isNotFound, protocolOf, RESOURCE_KINDS, type Storage } from '@kloset/connector-contract';
import type { ConfigKind } from '../config/named-config.ts';
import { CliError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import type { ResolvedLocation } from '../location/location.ts';
import { formatBytes, formatCount, formatDuration } from '../output/format.ts';
import type { JsonObject } from '../output/json.ts';
import type { Command, CommandContext } from './command.ts';

/** How many entries a source ping reads at most. */
export const SAMPLE = 1000;
const SHOWN = 3;

async function pingSource(ctx: CommandContext, raw: string): Promise<[JsonObject, string]> {
  const { source } = await ctx.services.source(raw);
  const counts = { entries: 0, files: 0, directories: 0, bytes: 0, errors: 0 };
  const sample: string[] = [];
  let complete = true;
  const stop = new AbortController();
  const signal = AbortSignal.any([ctx.io.signal, stop.signal]);
  try {
    for await (const r of source.scan(signal)) {
      if (counts.entries >= SAMPLE) {
        complete = false;
        break;
      }
      counts.entries++;
      if (r.error !== undefined) counts.errors++;
      if (r.type === 'directory') counts.directories++;
      if (r.type === 'file') {
        counts.files++;
        counts.bytes += r.size;
        if (sample.length < SHOWN) sample.push(r.path);
      }
    }
  } finally {
    stop.abort();
    await source.close();
  }
  const first = complete ? `${formatCount(counts.entries)} entries` : `first ${formatCount(SAMPLE)} entries`;
  const text =
    `reachable, ${first}: ${formatCount(counts.files)} files (${formatBytes(counts.bytes)}), ` +
    `${formatCount(counts.directories)} directories` +
    (counts.errors ? `, ${formatCount(counts.errors)} unreadable` : '') +
    (sample.length ? `; e.g. ${sample.join(', ')}` : '');
  return [{ reachable: true, ...counts, complete, sample }, text];
}

async function count(
  storage: Storage,
  kind: (typeof RESOURCE_KINDS)[number],
  limit: number,
): Promise<number> {
  let n = 0;
  for await (const _ of storage.list(kind)) if (++n >= limit) break;
  return n;
}

async function pingStore(ctx: CommandContext, where: ResolvedLocation): Promise<[JsonObject, string]> {
  const storage = await ctx.services.storage(where);
  try {
    let store = true;
    try {
      await storage.open();
    } catch (err) {
      if (!isNotFound(err)) throw err;
      store = false;
    }
    const mode = storage.mode;
    if (store) {
      const snapshots = await count(storage, 'snapshot', Number.POSITIVE_INFINITY);
      return [
        { reachable: true, store: true, empty: false, snapshots, mode },
        `reachable, a kloset store with ${formatCount(snapshots)} snapshots (${mode})`,
      ];
    }
    let resources = 0;
    for (const kind of RESOURCE_KINDS) resources += await count(storage, kind, 1);
    const empty = resources === 0;
    return [
      { reachable: true, store: false, empty, snapshots: 0, mode },
      empty
        ? `reachable, empty: no kloset store yet (kloset at ${where.display} create) (${mode})`
        : `reachable, no kloset config but store resources are there: not a usable store (${mode})`,
    ];
  } finally {
    await storage.close();
  }
}

/** Whether a local directory (or, if missing, its nearest existing parent) can be written. */
async function localWritable(path: string): Promise<boolean> {
  for (let p = path; ; p = dirname(p)) {
    const st = await stat(p).catch(() => undefined);
    if (st)
      return (
        st.isDirectory() &&
        (await access(p, constants.W_OK).then(
          () => true,
          () => false,
        ))
      );
    if (dirname(p) === p) return false;
  }
}

async function pingDestination(ctx: CommandContext, raw: string): Promise<[JsonObject, string]> {
  const { where, destination } = await ctx.services.destination(raw);
  await destination.close();
  const local = protocolOf(where.location) === 'fs';
  const writable = local ? await localWritable(where.location) : null;
  const text =
    writable === null
      ? 'reachable (writable: not tested: the connector has no write probe)'
      : writable
        ? 'reachable, writable'
        : 'reachable, not writable';
  return [{ reachable: true, writable }, text];
}

function makePing(kind: ConfigKind): Command {
  return {
    words: [kind, 'ping'],
    summary: `connect to a named ${kind} and say what is there`,
    description: {
      source: 'Connects to source NAME and reads its first entries (at most 1000): how many, of what size.',
      store:
        'Connects to store NAME and says whether it holds a kloset store (and how many snapshots) or is empty.',
      destination:
        'Connects to destination NAME (an S3 bucket that does not exist is created, as a restore would)\n' +
        'and says whether it is writable (tested for local directories; unknown for other protocols).',
    }[kind],
    usesStore: false,
    flags: [],
    args: [{ name: 'NAME', required: true, description: `the ${kind} name (or @NAME)` }],
    json: {
      source:
        '{"kind", "name", "location", "reachable", "entries", "files", "directories", "bytes", "errors", "complete", "sample", "duration_ms"}',
      store:
        '{"kind", "name", "location", "reachable", "store", "empty", "snapshots", "mode", "duration_ms"}',
      destination: '{"kind", "name", "location", "reachable", "writable": true|false|null, "duration_ms"}',
    }[kind],
    examples: [
      `kloset ${kind} ping my-s3-${kind === 'store' ? 'store' : kind === 'source' ? 'bucket' : 'restore'}`,
    ],
    async run(ctx) {
      const arg = ctx.args[0]!;
      const raw = arg.startsWith('@') ? arg : `@${arg}`;
      const started = Date.now();
      const where = await ctx.services.resolve(raw, kind);
      let found: [JsonObject, string];
      try {
        found =
          kind === 'source'
            ? await pingSource(ctx, raw)
            : kind === 'store'
              ? await pingStore(ctx, where)
              : await pingDestination(ctx, raw);
      } catch (err) {
        if (err instanceof CliError) throw err;
        const message = (err as Error).message;
        throw new CliError(`${kind} ${raw} (${where.location}): ${message}`, ExitCode.Error, { cause: err });
      }
      const ms = Date.now() - started;
      const [json, text] = found;
      await ctx.out.result(
        { kind, name: where.name ?? arg, location: where.location, ...json, duration_ms: ms },
        () => [`${kind} ${raw} (${where.location}): ${text} in ${formatDuration(ms)}`],
      );
      return ExitCode.Ok;
    },
  };
}

/** `source ping`, `store ping`, `destination ping`. */
export const PING_COMMANDS: readonly Command[] = (['source', 'store', 'destination'] as const).map(makePing);
