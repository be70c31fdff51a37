/** Opens the store of the command line, runs `fn`, and closes the store whatever happens. */
import type { OpenStore } from '../engine/engine.ts';
import type { ResolvedLocation } from '../location/location.ts';
import type { StoreOptions } from '../services.ts';
import type { CommandContext } from './command.ts';

/** A store being opened, and where. */
export type OpeningStore = Promise<{ where: ResolvedLocation; store: OpenStore }>;

/** The store options of the command line; `sourcePassphrase` as for `withStore`. */
export function storeOptions(ctx: CommandContext, sourcePassphrase?: string): StoreOptions {
  return { at: ctx.at, keyfile: ctx.flags.string('keyfile'), sourcePassphrase };
}

/** Closes a store opened early that will not be used (its opening failed: nothing to close). */
export async function abandonStore(opening: OpeningStore): Promise<void> {
  await opening.then(
    ({ store }) => store.close(),
    () => undefined,
  );
}

/**
 * `sourcePassphrase`: `passphrase=` of a named source being backed up, used if the store has none.
 * `opening`: the store already being opened with those options (see `Services.opensWithoutPrompt`).
 */
export async function withStore<T>(
  ctx: CommandContext,
  readOnly: boolean,
  fn: (store: OpenStore, where: ResolvedLocation) => Promise<T>,
  sourcePassphrase?: string,
  opening?: OpeningStore,
): Promise<T> {
  const { store, where } = await (opening ??
    ctx.services.openStore(storeOptions(ctx, sourcePassphrase), readOnly));
  try {
    return await fn(store, where);
  } finally {
    await store.close();
  }
}
