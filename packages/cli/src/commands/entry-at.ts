/** The entry at one path of a snapshot, or nothing: for commands that look before they read. */
import type { EntryView, OpenStore } from '../engine/engine.ts';
import { CliError } from '../errors.ts';

/** True for the error `store.entries` throws when the snapshot has nothing at the path. */
export function isNoSuchPath(err: unknown): boolean {
  return err instanceof CliError && err.message.endsWith('no such file or directory in the snapshot');
}

/** The entry at `path` of snapshot `id`, undefined when there is none. */
export async function entryAt(store: OpenStore, id: string, path: string): Promise<EntryView | undefined> {
  try {
    for await (const e of store.entries(id, path, false)) return e;
  } catch (err) {
    if (!isNoSuchPath(err)) throw err;
  }
  return undefined;
}
