import { describe, expect, it } from 'vitest';
import { WrittenChunks } from '../src/restore/written-chunks.ts';

const id = (n: number) => new Uint8Array(32).fill(n);

describe('WrittenChunks', () => {
  it('remembers where chunks of at least minLength bytes were restored, at their offsets', () => {
    const w = new WrittenChunks(10, 100);
    w.record('/a', [
      { id: id(1), length: 150 },
      { id: id(2), length: 50 },
      { id: id(3), length: 100 },
    ]);
    expect(w.find(id(1))).toEqual({ path: '/a', offset: 0 });
    expect(w.find(id(2)), 'shorter than minLength').toBeUndefined();
    expect(w.find(id(3))).toEqual({ path: '/a', offset: 200 });
    w.record('/b', [{ id: id(1), length: 150 }]);
    expect(w.find(id(1)), 'the newest copy').toEqual({ path: '/b', offset: 0 });
    w.forget(id(1));
    expect(w.find(id(1))).toBeUndefined();
  });

  it('keeps at most maxEntries chunks, forgetting the oldest', () => {
    const w = new WrittenChunks(3, 1);
    for (let n = 1; n <= 5; n++) w.record(`/f${n}`, [{ id: id(n), length: 10 }]);
    expect(w.size).toBe(3);
    expect(w.find(id(1))).toBeUndefined();
    expect(w.find(id(2))).toBeUndefined();
    expect(w.find(id(5))).toEqual({ path: '/f5', offset: 0 });
  });
});
