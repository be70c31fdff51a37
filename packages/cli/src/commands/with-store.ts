/** Opens the store of the command line, runs `fn`, and closes the store whatever happens. */
import { asOfFlag } from '../args/time-spec.ts';
import { AmbiguousLatestError } from '../engine/ambiguous-latest.ts';
import type { OpenStore } from '../engine/engine.ts';
import type { ResolvedLocation } from '../location/location.ts';
import type { StoreOptions } from '../services.ts';
import type { CommandContext } from './command.ts';
import { latestChoice } from './latest-choice.ts';
import { unreadableLockError } from './lock-error.ts';

/** A store being opened, and where. */
export type OpeningStore = Promise<{ where: ResolvedLocation; store: OpenStore }>;

/** The store options of the command line; `source` as for `withStore`. */
export function storeOptions(ctx: CommandContext, source?: ResolvedLocation): StoreOptions {
  return {
    at: ctx.at,
    keyfile: ctx.flags.string('keyfile'),
    sourcePassphrase: source?.passphrase,
    sourcePassphraseFrom: source === undefined ? undefined : `passphrase= of source ${source.display}`,
  };
}

/** Closes a store opened early that will not be used (its opening failed: nothing to close). */
export async function abandonStore(opening: OpeningStore): Promise<void> {
  await opening.then(
    ({ store }) => store.close(),
    () => undefined,
  );
}

/**
 * `source`: the named source being backed up, whose `passphrase=` is used if the store has none.
 * `opening`: the store already being opened with those options (see `Services.opensWithoutPrompt`).
 */
export async function withStore<T>(
  ctx: CommandContext,
  readOnly: boolean,
  fn: (store: OpenStore, where: ResolvedLocation) => Promise<T>,
  source?: ResolvedLocation,
  opening?: OpeningStore,
  options: { readonly damageReported?: boolean } = {},
): Promise<T> {
  // -as-of (the read commands): the store as it was then; a store opened to be written never is.
  const asOf = readOnly ? asOfFlag(ctx.flags, ctx.command) : undefined;
  const opts = { ...storeOptions(ctx, source), asOf };
  const { store, where } = await (opening ?? ctx.services.openStore(opts, readOnly));
  try {
    for (const line of store.notices) await ctx.out.warn(line);
    // The command reports the store's damage itself (check), or it is a warning here.
    if (options.damageReported !== true) for (const line of store.damage) await ctx.out.warn(line);
    return await fn(store, where);
  } catch (err) {
    // `latest` of several sources, wherever the command chose it: the sources to choose from.
    if (err instanceof AmbiguousLatestError) throw latestChoice(err, await namedSources(ctx));
    throw unreadableLockError(err, where);
  } finally {
    await store.close();
  }
}

/** The names of the configured sources; none when the configuration cannot be read. */
async function namedSources(ctx: CommandContext): Promise<string[]> {
  try {
    return (await ctx.services.config()).names('source');
  } catch {
    return [];
  }
}
