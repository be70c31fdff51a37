import { expect, it } from 'vitest';
import { formatMode } from '../src/output/format.ts';

it('formatMode shows POSIX bits, and an entry without any as its type and dashes, never "?"', () => {
  expect(formatMode('file', 0o644)).toBe('-rw-r--r--');
  expect(formatMode('directory', 0o750)).toBe('drwxr-x---');
  expect(formatMode('symlink', 0o777)).toBe('lrwxrwxrwx');
  expect(formatMode('file', undefined)).toBe('----------');
  expect(formatMode('directory', undefined)).toBe('d---------');
});
