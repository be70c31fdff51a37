/** Names of the Storage methods, as wrappers report and match them. */

/** A Storage method that does I/O (every one but `close`). */
export type StorageOperation =
  | 'create'
  | 'open'
  | 'put'
  | 'get'
  | 'list'
  | 'delete'
  | 'removeLeftovers'
  | 'replaceConfig';

/** All StorageOperation values. */
export const STORAGE_OPERATIONS: readonly StorageOperation[] = [
  'create',
  'open',
  'put',
  'get',
  'list',
  'delete',
  'removeLeftovers',
  'replaceConfig',
];
