/** The one-line error of a lock that cannot be read, naming the store and `unlock`. */
import { CliError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import type { ResolvedLocation } from '../location/location.ts';
import { shellWord } from '../output/shell-word.ts';

/**
 * The core's UnreadableLockError (`lock HEXID cannot be read (REASON)`) as the one line a user
 * needs: which store, and the command that clears it. Other errors are returned as they are.
 */
export function unreadableLockError(err: unknown, where: ResolvedLocation): unknown {
  // The core's error, or a command's error about it (`backup of SOURCE: lock ...`).
  let lock: unknown = err;
  for (let depth = 0; lock instanceof Error && lock.name !== 'UnreadableLockError' && depth < 4; depth++)
    lock = lock.cause;
  if (!(lock instanceof Error) || lock.name !== 'UnreadableLockError') return err;
  const { lockId, reason } = lock as Error & { lockId?: unknown; reason?: unknown };
  if (typeof lockId !== 'string' || typeof reason !== 'string') return err;
  const store = shellWord(where.display);
  return new CliError(
    `lock ${lockId} in ${where.display} cannot be read (${reason}); if no kloset command is running, remove it with 'kloset at ${store} unlock'`,
    ExitCode.Error,
    { cause: err },
  );
}
