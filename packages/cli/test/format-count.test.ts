import { expect, it } from 'vitest';
import { formatCount } from '../src/output/format.ts';

it('formatCount groups thousands with commas, as en-US does', () => {
  for (const n of [0, 7, 999, 1000, 12_345, 999_999, 1_000_000, 1_234_567, 9_007_199_254_740_991, -1234]) {
    expect(formatCount(n)).toBe(n.toLocaleString('en-US'));
  }
});
