/**
 * Immutable stores: the `object_lock` and `retention` options, and the Object Lock retention the
 * store's objects are written with (every object but locks, FORMAT.md §12).
 */
import { GetObjectLockConfigurationCommand } from '@aws-sdk/client-s3';
import { ConnectorError, durationMs, type OptionSpec, type OptionValues } from '@kloset/connector-contract';
import { type ObjectRetention, type S3Connection, s3Call, s3ErrorCode } from '@kloset/s3-common';

/** The Object Lock settings of a store. */
export interface LockPolicy {
  readonly mode: 'GOVERNANCE' | 'COMPLIANCE';
  /** Each object written is retained at least this long (ms). */
  readonly retentionMs: number;
}

export const OBJECT_LOCK_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'object_lock',
    type: 'enum',
    values: ['governance', 'compliance'],
    required: false,
    description:
      'Write every object of the store (but locks) under an S3 Object Lock retention in this mode, so that nobody with these credentials can delete or overwrite it before the retention ends (compliance: nobody at all; governance: except with s3:BypassGovernanceRetention). The bucket must have Object Lock enabled: create makes it so when it creates the bucket. With retention.',
  },
  {
    name: 'retention',
    type: 'string',
    required: false,
    description:
      'How long each object stays locked, at least (30d, 12h, 1d12h; units s m h d w), with object_lock. Maintenance extends the retention of objects still in use when less than half of it is left, and reclaims deleted ones once theirs has ended.',
  },
];

/** A retention such as `30d` or `1d12h` in ms, or undefined when `text` is not a positive duration. */
export function parseRetention(text: string): number | undefined {
  const ms = durationMs(text);
  return ms !== undefined && ms > 0 ? ms : undefined;
}

/** The lock policy of the options, undefined without them; ConnectorError `invalid` when malformed. */
export function lockPolicyOf(values: OptionValues): LockPolicy | undefined {
  const mode = values.object_lock;
  const retention = values.retention;
  const hasMode = mode !== undefined && mode !== '';
  const hasRetention = retention !== undefined && retention !== '';
  if (!hasMode && !hasRetention) return undefined;
  if (!hasMode || !hasRetention) {
    throw new ConnectorError(
      'invalid',
      'options object_lock and retention go together: object_lock=governance|compliance retention=DURATION (e.g. 30d)',
    );
  }
  if (mode !== 'governance' && mode !== 'compliance') {
    throw new ConnectorError(
      'invalid',
      `option object_lock: expected governance or compliance, got ${JSON.stringify(String(mode))}`,
    );
  }
  const ms = parseRetention(String(retention));
  if (ms === undefined) {
    throw new ConnectorError(
      'invalid',
      `option retention: ${JSON.stringify(String(retention))} is not a duration (e.g. 30d, 12h, 1d12h; units s m h d w)`,
    );
  }
  return { mode: mode === 'governance' ? 'GOVERNANCE' : 'COMPLIANCE', retentionMs: ms };
}

/** The retention of an object written now under `policy`. */
export function retentionFrom(policy: LockPolicy, now = Date.now()): ObjectRetention {
  return { mode: policy.mode, retainUntil: new Date(now + policy.retentionMs) };
}

/** Whether the bucket has Object Lock enabled; `missing` when there is no such bucket. */
export async function bucketLockState(
  conn: S3Connection,
  bucket: string,
): Promise<'enabled' | 'disabled' | 'missing'> {
  const ctx = { op: 'GetObjectLockConfiguration', bucket, endpoint: conn.settings.location.endpoint };
  try {
    const out = await s3Call(ctx, () =>
      conn.client.send(new GetObjectLockConfigurationCommand({ Bucket: bucket })),
    );
    return out.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled' ? 'enabled' : 'disabled';
  } catch (err) {
    const code = s3ErrorCode(err);
    if (code === 'NoSuchBucket') return 'missing';
    if (code === 'ObjectLockConfigurationNotFoundError') return 'disabled';
    throw err;
  }
}

/** The one-line refusal of the options on a bucket without Object Lock. */
export function noObjectLockError(bucket: string, location: string): ConnectorError {
  return new ConnectorError(
    'invalid',
    `bucket ${JSON.stringify(bucket)} has no Object Lock: options object_lock and retention of ${location} need a bucket created with Object Lock enabled ('kloset create' makes one when the bucket does not exist yet)`,
    { op: 'GetObjectLockConfiguration', container: bucket },
  );
}
