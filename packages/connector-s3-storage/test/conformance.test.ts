/** The contract's Storage conformance suite, run on S3Storage against the RGW test server. */
import { storageConformance } from '@kloset/connector-contract/conformance';
import { readS3Settings } from '@kloset/s3-common';
import { emptyPrefix, s3TestBuckets, s3TestParams, startIncompleteUpload } from '@kloset/s3-common/testing';
import { afterAll, beforeAll } from 'vitest';
import { S3_STORAGE_OPTIONS, S3Storage, type S3StorageConfig, StoreLayout } from '../src/index.ts';

const s3 = s3TestBuckets();
const { env, client } = s3;
let bucket = '';
let n = 0;

beforeAll(async () => {
  bucket = await s3.create('storage-conf');
});
afterAll(async () => {
  await s3.dispose();
});

const MiB = 1024 * 1024;

function suite(name: string, tuning: Omit<S3StorageConfig, 'settings'>): void {
  const settingsOf = new WeakMap<object, S3StorageConfig['settings']>();
  storageConformance(
    name,
    async () => {
      const prefix = `store-${++n}`;
      const settings = readS3Settings(s3TestParams(env, bucket, prefix), S3_STORAGE_OPTIONS);
      const storage = new S3Storage({ settings, ...tuning });
      settingsOf.set(storage, settings);
      let made = 0;
      // What a put stopped by a crash leaves: an incomplete multipart upload of its key.
      const makeLeftover = async (id: string) => {
        const bytes = 1000 + ++made;
        await startIncompleteUpload(client, bucket, new StoreLayout(`${prefix}/`).key('packfile', id), bytes);
        return { bytes };
      };
      return { storage, cleanup: () => emptyPrefix(client, bucket, `${prefix}/`), makeLeftover };
    },
    {
      openReadOnly: async (storage) => {
        const settings = settingsOf.get(storage);
        if (!settings) throw new Error('openReadOnly: unknown storage');
        return new S3Storage({ settings, ...tuning, mode: 'read-only' });
      },
    },
  );
}

suite('S3 on RGW', {});
suite('S3 on RGW, multipart from 5 MiB', {
  multipartThreshold: 5 * MiB,
  partSize: 5 * MiB,
  partsInFlight: 3,
});
