/** storageConformance: put, get (whole and ranged), delete, overwrite, PutBody and atomicity. */
import { expect, it } from 'vitest';
import { bytesBody, type PutBody, RESOURCE_KINDS, type Storage } from '../storage/storage.ts';
import { deterministicBytes, testResourceId } from '../testing/deterministic-data.ts';
import { collect, expectBytes, expectConnectorError, expectFailure, listed } from './assertions.ts';
import { type StorageFactory, withStorage } from './storage-harness.ts';

const MiB = 1024 * 1024;

/** A PutBody yielding `bytes` in parts of irregular sizes (including empty parts). */
export function chunkedBody(
  bytes: Uint8Array,
  partSizes: readonly number[] = [1, 0, 7, 65536, 1000, 300000],
): PutBody {
  return {
    size: bytes.length,
    async *open() {
      let off = 0;
      let i = 0;
      while (off < bytes.length) {
        const n = partSizes[i++ % partSizes.length]!;
        yield bytes.slice(off, off + n);
        off += n;
      }
    },
  };
}

/** A PutBody that declares `size` but yields `actual` bytes, or throws after `failAfter` bytes. */
function faultyBody(size: number, behaviour: { actual?: number; failAfter?: number }): PutBody {
  return {
    size,
    async *open() {
      const total = behaviour.actual ?? size;
      let off = 0;
      while (off < total) {
        if (behaviour.failAfter !== undefined && off >= behaviour.failAfter) {
          throw new Error('conformance: body failed on purpose');
        }
        const n = Math.min(64 * 1024, total - off);
        yield deterministicBytes(off, n);
        off += n;
      }
      if (behaviour.failAfter !== undefined) throw new Error('conformance: body failed on purpose');
    },
  };
}

async function expectAbsent(storage: Storage, id: string, what: string): Promise<void> {
  expect(
    (await collect(storage.list('packfile'))).map((r) => r.id),
    `${what}: list('packfile') must not show it`,
  ).not.toContain(id);
  await expectConnectorError(`${what}: get()`, 'not_found', () => storage.get('packfile', id));
}

/** Registers the put/get/delete tests. */
export function resourceCases(factory: StorageFactory, timeout: number): void {
  it(
    'put() then get() returns the bytes, for every kind and several sizes',
    () =>
      withStorage(factory, async (storage) => {
        const sizes = [1, 1000, MiB + 3];
        for (const [k, kind] of RESOURCE_KINDS.entries()) {
          for (const [s, size] of sizes.entries()) {
            const id = testResourceId(k * 10 + s);
            const bytes = deterministicBytes(k * 10 + s, size);
            await storage.put(kind, id, bytes);
            expectBytes(await storage.get(kind, id), bytes, `get('${kind}') of a ${size}-byte resource`);
          }
        }
      }),
    timeout,
  );

  it(
    'a zero-length resource round-trips',
    () =>
      withStorage(factory, async (storage) => {
        const id = testResourceId(5);
        await storage.put('state', id, new Uint8Array(0));
        expectBytes(await storage.get('state', id), new Uint8Array(0), 'get of an empty state');
        expectBytes(
          await storage.get('state', id, { offset: 0, length: 0 }),
          new Uint8Array(0),
          'range 0+0 of it',
        );
        expect(await listed(storage.list('state')), 'list of an empty state').toEqual([{ id, size: 0 }]);
        await expectConnectorError('range 0+1 of an empty resource', 'invalid', () =>
          storage.get('state', id, { offset: 0, length: 1 }),
        );
      }),
    timeout,
  );

  it(
    'changing the caller buffer after put() resolves does not change the stored resource',
    () =>
      withStorage(factory, async (storage) => {
        const id = testResourceId(6);
        const bytes = deterministicBytes(6, 5000);
        const copy = bytes.slice();
        await storage.put('packfile', id, bytes);
        bytes.fill(0);
        expectBytes(await storage.get('packfile', id), copy, 'get after the caller reused its buffer');
      }),
    timeout,
  );

  it(
    'ranged get() returns exactly the requested bytes (start, middle, end, empty, whole)',
    () =>
      withStorage(factory, async (storage) => {
        const id = testResourceId(7);
        const size = 3 * MiB + 17;
        const bytes = deterministicBytes(7, size);
        await storage.put('packfile', id, bytes);
        const ranges = [
          { offset: 0, length: 1 },
          { offset: 0, length: 100 },
          { offset: 12345, length: 678 },
          { offset: MiB - 5, length: MiB + 10 },
          { offset: size - 10, length: 10 },
          { offset: size - 1, length: 1 },
          { offset: 500, length: 0 },
          { offset: size, length: 0 },
          { offset: 0, length: size },
        ];
        for (const r of ranges) {
          const got = await storage.get('packfile', id, r);
          expectBytes(got, bytes.subarray(r.offset, r.offset + r.length), `range ${r.offset}+${r.length}`);
        }
      }),
    timeout,
  );

  it(
    'ranged get() with `into` returns the bytes, in `into` or in a new array, and no byte beyond',
    () =>
      withStorage(factory, async (storage) => {
        const id = testResourceId(8);
        const size = 2 * MiB + 3;
        const bytes = deterministicBytes(8, size);
        await storage.put('packfile', id, bytes);
        const into = new Uint8Array(MiB + 100).fill(0xa5);
        for (const r of [
          { offset: 0, length: MiB },
          { offset: 777, length: 1000 },
          { offset: size - MiB, length: MiB },
        ]) {
          const got = await storage.get('packfile', id, { ...r, into });
          expectBytes(
            got,
            bytes.subarray(r.offset, r.offset + r.length),
            `range ${r.offset}+${r.length} into`,
          );
          if (got.buffer === into.buffer) {
            expect(got.byteOffset, 'a result in `into` starts at its first byte').toBe(into.byteOffset);
          }
        }
        // Too short to hold the range: ignored, the result is still right.
        const short = new Uint8Array(10);
        const got = await storage.get('packfile', id, { offset: 5, length: 100, into: short });
        expectBytes(got, bytes.subarray(5, 105), 'range 5+100 into a 10-byte buffer');
        expectBytes(into.subarray(MiB), new Uint8Array(100).fill(0xa5), 'bytes of `into` past the range');
      }),
    timeout,
  );
  it(
    'a range past the end, or malformed, fails with invalid',
    () =>
      withStorage(factory, async (storage) => {
        const id = testResourceId(8);
        const size = 1000;
        await storage.put('packfile', id, deterministicBytes(8, size));
        const bad = [
          { offset: size - 1, length: 2 },
          { offset: size, length: 1 },
          { offset: size + 1, length: 0 },
          { offset: 0, length: size + 1 },
          { offset: -1, length: 10 },
          { offset: 0, length: -1 },
          { offset: 0.5, length: 1 },
        ];
        for (const r of bad) {
          await expectConnectorError(
            `get() of range ${r.offset}+${r.length} of a ${size}-byte resource`,
            'invalid',
            () => storage.get('packfile', id, r),
          );
        }
      }),
    timeout,
  );

  it(
    'get() of a missing resource fails with not_found (whole and ranged)',
    () =>
      withStorage(factory, async (storage) => {
        for (const kind of RESOURCE_KINDS) {
          await expectConnectorError(`get('${kind}') of a missing id`, 'not_found', () =>
            storage.get(kind, testResourceId(9)),
          );
        }
        await expectConnectorError('ranged get() of a missing packfile', 'not_found', () =>
          storage.get('packfile', testResourceId(9), { offset: 0, length: 1 }),
        );
        // The same id under another kind is another resource.
        await storage.put('state', testResourceId(9), new Uint8Array(4));
        await expectConnectorError("get('packfile') of an id that exists only as a state", 'not_found', () =>
          storage.get('packfile', testResourceId(9)),
        );
      }),
    timeout,
  );

  it(
    'delete() removes the resource and is idempotent',
    () =>
      withStorage(factory, async (storage) => {
        const id = testResourceId(10);
        const other = testResourceId(11);
        await storage.put('packfile', id, deterministicBytes(10, 100));
        await storage.put('packfile', other, deterministicBytes(11, 100));
        await storage.delete('packfile', id);
        await expectAbsent(storage, id, 'a deleted packfile');
        await storage.delete('packfile', id);
        await storage.delete('packfile', testResourceId(12));
        await storage.delete('snapshot', id);
        expectBytes(
          await storage.get('packfile', other),
          deterministicBytes(11, 100),
          'the packfile not deleted',
        );
      }),
    timeout,
  );

  it(
    'putting a lock again replaces it (content and listed size)',
    () =>
      withStorage(factory, async (storage) => {
        const id = testResourceId(13);
        await storage.put('lock', id, deterministicBytes(13, 300));
        const second = deterministicBytes(14, 120);
        await storage.put('lock', id, second);
        expectBytes(await storage.get('lock', id), second, 'lock after being rewritten');
        expect(await listed(storage.list('lock')), 'list of a rewritten lock').toEqual([{ id, size: 120 }]);
        const third = deterministicBytes(15, 5000);
        await storage.put('lock', id, chunkedBody(third));
        expectBytes(await storage.get('lock', id), third, 'lock rewritten with a streamed body');
      }),
    timeout,
  );

  it(
    'a PutBody streamed in many parts is stored exactly (also an empty one)',
    () =>
      withStorage(factory, async (storage) => {
        const big = deterministicBytes(16, 5 * MiB + 11);
        await storage.put('packfile', testResourceId(16), chunkedBody(big));
        expectBytes(
          await storage.get('packfile', testResourceId(16)),
          big,
          'get of a streamed 5 MiB packfile',
        );
        const small = deterministicBytes(17, 10);
        await storage.put('state', testResourceId(17), bytesBody(small));
        expectBytes(await storage.get('state', testResourceId(17)), small, 'get of a bytesBody state');
        await storage.put('snapshot', testResourceId(18), chunkedBody(new Uint8Array(0)));
        expect(await listed(storage.list('snapshot')), 'list of an empty streamed snapshot').toEqual([
          { id: testResourceId(18), size: 0 },
        ]);
      }),
    timeout,
  );

  it(
    'a PutBody that throws midway fails the put and stores nothing',
    () =>
      withStorage(factory, async (storage) => {
        const id = testResourceId(19);
        await expectFailure('put() of a body that throws after 200 KiB', () =>
          storage.put('packfile', id, faultyBody(MiB, { failAfter: 200 * 1024 })),
        );
        await expectAbsent(storage, id, 'a packfile whose body threw');
      }),
    timeout,
  );

  it(
    'a PutBody that yields fewer or more bytes than its size fails with invalid and stores nothing',
    () =>
      withStorage(factory, async (storage) => {
        const short = testResourceId(20);
        await expectConnectorError('put() of a body shorter than its size', 'invalid', () =>
          storage.put('packfile', short, faultyBody(100_000, { actual: 99_999 })),
        );
        await expectAbsent(storage, short, 'a packfile whose body was short');
        const long = testResourceId(21);
        await expectConnectorError('put() of a body longer than its size', 'invalid', () =>
          storage.put('packfile', long, faultyBody(100_000, { actual: 100_001 })),
        );
        await expectAbsent(storage, long, 'a packfile whose body was long');
      }),
    timeout,
  );

  it(
    'a failed rewrite of a lock keeps the previous lock',
    () =>
      withStorage(factory, async (storage) => {
        const id = testResourceId(22);
        const first = deterministicBytes(22, 700);
        await storage.put('lock', id, first);
        await expectFailure('rewrite of a lock with a body that throws', () =>
          storage.put('lock', id, faultyBody(1000, { failAfter: 0 })),
        );
        expectBytes(await storage.get('lock', id), first, 'lock after a failed rewrite');
      }),
    timeout,
  );
}
