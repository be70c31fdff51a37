/** Turns Node file-system errors into ConnectorErrors that name the operation and the path. */
import { ConnectorError, type ErrorCode, isConnectorError } from '@kloset/connector-contract';

const CODES: Readonly<Record<string, ErrorCode>> = {
  ENOENT: 'not_found',
  EEXIST: 'already_exists',
  ENOTEMPTY: 'already_exists',
  EACCES: 'permission',
  EPERM: 'permission',
  EROFS: 'permission',
  ENOTDIR: 'invalid',
  EISDIR: 'invalid',
  ENAMETOOLONG: 'invalid',
  EINVAL: 'invalid',
  ELOOP: 'invalid',
  EXDEV: 'invalid',
  ENOSPC: 'unavailable',
  EDQUOT: 'unavailable',
  ENODEV: 'unavailable',
  ENXIO: 'unavailable',
  EIO: 'transient',
  EAGAIN: 'transient',
  EBUSY: 'transient',
  EMFILE: 'transient',
  ENFILE: 'transient',
  ETIMEDOUT: 'transient',
  ESTALE: 'transient',
  EINTR: 'transient',
};

/** The errno code of a Node system error (`ENOENT`...), or undefined. */
export function errnoOf(err: unknown): string | undefined {
  if (err instanceof Error && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

/** "no such file or directory (ENOENT)" from a Node error, without Node's path and syscall. */
export function reasonOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const errno = errnoOf(err);
  if (!errno) return err.message;
  const m = /^[A-Z0-9]+: ([^,]+)/.exec(err.message);
  return `${m ? m[1] : err.message} (${errno})`;
}

/**
 * A ConnectorError for a failed file-system call: `op` names what was being done (`put`,
 * `opendir`...), `path` the file. ENOENT maps to not_found, EACCES/EPERM/EROFS to permission,
 * EEXIST to already_exists, ENOSPC/EDQUOT to unavailable, EIO/EMFILE/EBUSY... to transient, path
 * problems to invalid; unknown system errors to transient. ConnectorErrors pass through.
 */
export function fsError(err: unknown, op: string, path: string, container?: string): ConnectorError {
  if (isConnectorError(err)) return err;
  const errno = errnoOf(err);
  const code: ErrorCode = errno ? (CODES[errno] ?? 'transient') : 'transient';
  return new ConnectorError(
    code,
    `${op} ${path}: ${reasonOf(err)}`,
    { op, key: path, ...(container === undefined ? {} : { container }) },
    { cause: err },
  );
}
