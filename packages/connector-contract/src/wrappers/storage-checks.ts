/** Argument checks every Storage implementation needs: resource ids and byte ranges. */
import { ConnectorError, type ErrorContext } from '../errors/connector-error.ts';
import {
  type ByteRange,
  RESOURCE_ID_PATTERN,
  RESOURCE_KINDS,
  type ResourceKind,
} from '../storage/storage.ts';

/**
 * Throws ConnectorError `invalid` unless `kind` is a ResourceKind and `id` is 64 lowercase hex
 * characters. Call it first in put/get/delete: an id is used to build keys and file names.
 */
export function checkResourceId(kind: ResourceKind, id: string, op: string, container: string): void {
  if (!RESOURCE_KINDS.includes(kind)) {
    throw new ConnectorError('invalid', `${op}: unknown resource kind ${JSON.stringify(kind)}`, {
      op,
      container,
    });
  }
  if (typeof id !== 'string' || !RESOURCE_ID_PATTERN.test(id)) {
    throw new ConnectorError(
      'invalid',
      `${op} ${kind}: invalid id ${JSON.stringify(id)} (expected 64 lowercase hex characters)`,
      { op, container, key: `${kind}/${String(id)}` },
    );
  }
}

/**
 * Throws ConnectorError `invalid` unless `range` has non-negative safe-integer offset and length
 * and ends at or before `size`. A zero-length range at `size` is valid (it reads nothing).
 */
export function checkRange(range: ByteRange, size: number, context: ErrorContext): void {
  const { offset, length } = range;
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new ConnectorError(
      'invalid',
      `${context.op ?? 'get'} ${context.key ?? ''}: malformed range`.trim(),
      context,
    );
  }
  if (offset + length > size) {
    throw new ConnectorError(
      'invalid',
      `${context.op ?? 'get'} ${context.key ?? ''}: range ${offset}+${length} goes past the end (${size} bytes)`,
      context,
    );
  }
}
