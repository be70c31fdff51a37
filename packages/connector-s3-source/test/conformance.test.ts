/** The contract's Source conformance suite, run on S3Source against the RGW test server. */
import { sourceConformance } from '@kloset/connector-contract/conformance';
import {
  createTestBucket,
  deleteTestBucket,
  plainS3Client,
  readS3TestEnv,
  requireS3,
  s3TestParams,
  seedObjects,
} from '@kloset/s3-common/testing';
import { createS3Source } from '../src/index.ts';

const env = readS3TestEnv();

for (const prefix of ['', 'root']) {
  sourceConformance(
    prefix ? `S3 on RGW, under a prefix` : 'S3 on RGW, a whole bucket',
    async (fixture) => {
      await requireS3(env);
      const plain = plainS3Client(env);
      const bucket = await createTestBucket(plain, 'source-conf');
      // Fixture paths are plain names: the object key is the path without its leading '/'.
      await seedObjects(
        plain,
        bucket,
        prefix ? `${prefix}/` : '',
        fixture.files.map((f) => ({ key: f.path.slice(1), body: f.bytes })),
      );
      const source = await createS3Source(s3TestParams(env, bucket, prefix, { concurrency: 8 }));
      return {
        source,
        cleanup: async () => {
          await deleteTestBucket(plain, bucket);
          plain.destroy();
        },
      };
    },
    { emptyDirectories: false, mode: false, changeToken: true },
  );
}
