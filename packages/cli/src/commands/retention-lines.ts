/** What maintenance says of the upkeep of a store with Object Lock (RetentionUpkeep). */
import type { RetentionUpkeep } from '@kloset/connector-contract';
import { formatBytes, formatCount } from '../output/format.ts';

/** The `retention` object of maintenance's -json output. */
export function retentionJson(r: RetentionUpkeep): Record<string, number | string | null> {
  return {
    reclaimed: r.reclaimed,
    reclaimed_bytes: r.reclaimedBytes,
    kept: r.kept,
    kept_bytes: r.keptBytes,
    kept_until: r.keptUntil === undefined ? null : new Date(r.keptUntil).toISOString(),
    extended: r.extended,
  };
}

/** Its lines: what was reclaimed, what is kept until when, what was extended. */
export function retentionLines(r: RetentionUpkeep): string[] {
  const out: string[] = [];
  if (r.reclaimed > 0) {
    out.push(
      `reclaimed ${formatCount(r.reclaimed)} deleted objects whose retention has ended (${formatBytes(r.reclaimedBytes)})`,
    );
  }
  if (r.kept > 0) {
    const until = r.keptUntil === undefined ? '' : `, the last on ${new Date(r.keptUntil).toISOString()}`;
    out.push(
      `${formatCount(r.kept)} deleted objects kept until their retention ends (${formatBytes(r.keptBytes)}${until}): a later maintenance deletes them`,
    );
  }
  if (r.extended > 0) out.push(`extended the retention of ${formatCount(r.extended)} objects in use`);
  return out;
}
