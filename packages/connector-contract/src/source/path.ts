/** Helpers for EntryPath (see record.ts for the rules). */
import type { EntryPath } from './record.ts';

export function isValidComponent(name: string): boolean {
  return name.length > 0 && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

export function isValidPath(path: string): path is EntryPath {
  if (path === '/') return true;
  if (!path.startsWith('/')) return false;
  return path.slice(1).split('/').every(isValidComponent);
}

/** `/a/b` -> ['a', 'b']; `/` -> []. */
export function splitPath(path: EntryPath): string[] {
  return path === '/' ? [] : path.slice(1).split('/');
}

export function joinPath(parent: EntryPath, name: string): EntryPath {
  if (!isValidComponent(name)) throw new Error(`invalid path component ${JSON.stringify(name)}`);
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

export function parentPath(path: EntryPath): EntryPath {
  if (path === '/') return '/';
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function baseName(path: EntryPath): string {
  return path === '/' ? '' : path.slice(path.lastIndexOf('/') + 1);
}
