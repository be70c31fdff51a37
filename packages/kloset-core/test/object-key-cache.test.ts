/** ObjectKeyCache: derives like deriveObjectKey, once per (key, salt), within its bound. */
import { expect, it } from 'vitest';
import { ObjectKeyCache } from '../src/crypto/object-key-cache.ts';
import { deriveObjectKey } from '../src/crypto/seal.ts';
import { toHex } from '../src/encoding/bytes.ts';
import { testKeys } from './repository-helpers.ts';

it('returns the derived key, the same object while cached, and forgets the oldest past its limit', async () => {
  const { provider, keyRing } = await testKeys();
  const other = await testKeys();
  const cache = new ObjectKeyCache(2);
  const salts = [1, 2, 3].map(() => provider.randomBytes(32));
  const a = cache.get(provider, keyRing, salts[0]!);
  expect(toHex(a.key)).toBe(toHex(deriveObjectKey(provider, keyRing, salts[0]!).key));
  expect(cache.get(provider, { ...keyRing }, salts[0]!)).toBe(a); // equal keys, another object
  const b = cache.get(provider, other.keyRing, salts[0]!);
  expect(toHex(b.key)).not.toBe(toHex(a.key));
  expect(toHex(b.key)).toBe(toHex(deriveObjectKey(provider, other.keyRing, salts[0]!).key));
  cache.get(provider, keyRing, salts[1]!); // a is now the oldest of three: forgotten
  const again = cache.get(provider, keyRing, salts[0]!);
  expect(again).not.toBe(a);
  expect(toHex(again.key)).toBe(toHex(a.key));
});
