/** Opens the store of the command line, runs `fn`, and closes the store whatever happens. */
import type { OpenStore } from '../engine/engine.ts';
import type { ResolvedLocation } from '../location/location.ts';
import type { CommandContext } from './command.ts';

/** `sourcePassphrase`: `passphrase=` of a named source being backed up, used if the store has none. */
export async function withStore<T>(
  ctx: CommandContext,
  readOnly: boolean,
  fn: (store: OpenStore, where: ResolvedLocation) => Promise<T>,
  sourcePassphrase?: string,
): Promise<T> {
  const { store, where } = await ctx.services.openStore(
    { at: ctx.at, keyfile: ctx.flags.string('keyfile'), sourcePassphrase },
    readOnly,
  );
  try {
    return await fn(store, where);
  } finally {
    await store.close();
  }
}
