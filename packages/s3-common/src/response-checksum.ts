/**
 * The full-object checksum of a GetObject answer, checked over the body as the SDK does it when
 * GetObject is sent with `ChecksumMode: ENABLED`: the first checksum present in the SDK's order
 * (SHA-256, SHA-1, CRC32, CRC32C, CRC64NVME); none when every checksum present is a composite
 * one of a multipart upload (`...-N`), which no GET can check.
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { Crc32c, Crc64Nvme } from '@aws-sdk/checksums/crc';
import type { ObjectHeaderFields } from './object-metadata.ts';

/** A running checksum of a body. */
export interface BodyChecksum {
  /** `crc32`, `sha256`...: for messages. */
  readonly algorithm: string;
  /** The base64 value the server announced. */
  readonly expected: string;
  update(data: Uint8Array): void;
  /** The base64 checksum of what was given to `update`. */
  digest(): Promise<string>;
}

type Field = 'ChecksumSHA256' | 'ChecksumSHA1' | 'ChecksumCRC32' | 'ChecksumCRC32C' | 'ChecksumCRC64NVME';

/** The SDK's order of preference (PRIORITY_ORDER_ALGORITHMS). */
const ORDER: readonly Field[] = [
  'ChecksumSHA256',
  'ChecksumSHA1',
  'ChecksumCRC32',
  'ChecksumCRC32C',
  'ChecksumCRC64NVME',
];

/** True for a checksum of parts (`abc==-12`). */
function isComposite(value: string): boolean {
  const m = /-([1-9]\d*)$/.exec(value);
  return m !== null && Number(m[1]) <= 10_000;
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

function hashed(algorithm: 'sha256' | 'sha1', expected: string): BodyChecksum {
  const h = createHash(algorithm);
  return {
    algorithm,
    expected,
    update: (data) => void h.update(data),
    digest: async () => h.digest('base64'),
  };
}

function zlibCrc32(expected: string): BodyChecksum {
  let value = 0;
  return {
    algorithm: 'crc32',
    expected,
    update: (data) => {
      value = crc32(data, value);
    },
    digest: async () => {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(value >>> 0);
      return out.toString('base64');
    },
  };
}

/** The SDK's checksum classes (@smithy/types Checksum). */
interface SdkChecksum {
  update(data: Uint8Array): void;
  digest(): Promise<Uint8Array>;
}

function sdkChecksum(algorithm: string, impl: SdkChecksum, expected: string): BodyChecksum {
  return {
    algorithm,
    expected,
    update: (data) => impl.update(data),
    digest: async () => b64(await impl.digest()),
  };
}

/** The checksum to verify the body of `answer` with, or undefined when there is none to check. */
export function responseChecksum(answer: Pick<ObjectHeaderFields, Field>): BodyChecksum | undefined {
  for (const field of ORDER) {
    const expected = answer[field];
    if (expected === undefined || isComposite(expected)) continue;
    switch (field) {
      case 'ChecksumSHA256':
        return hashed('sha256', expected);
      case 'ChecksumSHA1':
        return hashed('sha1', expected);
      case 'ChecksumCRC32':
        return zlibCrc32(expected);
      case 'ChecksumCRC32C':
        return sdkChecksum('crc32c', new Crc32c(), expected);
      case 'ChecksumCRC64NVME':
        return sdkChecksum('crc64nvme', new Crc64Nvme(), expected);
    }
  }
  return undefined;
}
