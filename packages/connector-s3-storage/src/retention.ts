/**
 * The upkeep of a store with Object Lock (FORMAT.md §12), run by maintenance through
 * `removeLeftovers`. In its versioned bucket a delete only adds a delete marker: the version keeps
 * its data until its retention ends. Here, key by key (ListObjectVersions, streamed):
 *
 * - versions hidden (by a delete marker or a newer version) for at least the grace period are
 *   deleted by version id once their retention has ended, never before; those still retained are
 *   counted as kept, with the last date their retention ends;
 * - delete markers left with no version behind them are deleted;
 * - the current version of a resource or the config (not a lock) whose retention ends within half
 *   the store's retention gets it extended (PutObjectRetention) to a full retention from now.
 *
 * A version written at T under the policy is retained until T + retention at least: only versions
 * older than that (hidden ones) or than half of it (current ones) are asked for their actual
 * retention (GetObjectRetention). So an object written without the options (a store that had
 * none before) gets its retention from the first upkeep once it is half a retention old.
 */
import {
  DeleteObjectCommand,
  GetObjectRetentionCommand,
  PutObjectRetentionCommand,
} from '@aws-sdk/client-s3';
import type { RetentionUpkeep } from '@kloset/connector-contract';
import { type S3Connection, s3Call, s3ErrorCode } from '@kloset/s3-common';
import { type LockPolicy, retentionFrom } from './object-lock.ts';
import { listVersions, type ObjectVersion } from './versions.ts';

export interface UpkeepRequest {
  readonly conn: S3Connection;
  readonly bucket: string;
  readonly prefix: string;
  readonly policy: LockPolicy;
  /** Hidden versions younger than this (since they were hidden) are left alone. */
  readonly graceMs: number;
  /** Whether `key` is one of the store's own (resources and config). */
  readonly owns: (key: string) => boolean;
  /** Whether `key` is a lock (never retained, never extended). */
  readonly isLock: (key: string) => boolean;
  readonly now?: number;
}

interface Counts {
  reclaimed: number;
  reclaimedBytes: number;
  kept: number;
  keptBytes: number;
  keptUntil: number | undefined;
  extended: number;
}

class Upkeep {
  readonly #req: UpkeepRequest;
  readonly #now: number;
  readonly #running = new Set<Promise<void>>();
  #failure: { err: unknown } | undefined;
  readonly counts: Counts = {
    reclaimed: 0,
    reclaimedBytes: 0,
    kept: 0,
    keptBytes: 0,
    keptUntil: undefined,
    extended: 0,
  };

  constructor(req: UpkeepRequest) {
    this.#req = req;
    this.#now = req.now ?? Date.now();
  }

  #ctx(op: string, key: string) {
    return { op, bucket: this.#req.bucket, key, endpoint: this.#req.conn.settings.location.endpoint };
  }

  /** Runs `task`, a bounded number at once; the first failure is thrown by `drain` (or the next spawn). */
  async #spawn(task: () => Promise<void>): Promise<void> {
    // Requests in flight: the store's `concurrency`.
    while (this.#running.size >= this.#req.conn.settings.concurrency) await Promise.race(this.#running);
    if (this.#failure) throw this.#failure.err;
    const p = task()
      .catch((err: unknown) => {
        this.#failure ??= { err };
      })
      .finally(() => this.#running.delete(p));
    this.#running.add(p);
  }

  async drain(): Promise<void> {
    await Promise.all(this.#running);
    if (this.#failure) throw this.#failure.err;
  }

  /** The retain-until date of a version (0 when it has none). */
  async #retainUntil(v: ObjectVersion): Promise<number> {
    try {
      const out = await s3Call(this.#ctx('GetObjectRetention', v.key), () =>
        this.#req.conn.client.send(
          new GetObjectRetentionCommand({ Bucket: this.#req.bucket, Key: v.key, VersionId: v.versionId }),
        ),
      );
      return out.Retention?.RetainUntilDate?.getTime() ?? 0;
    } catch (err) {
      // No retention on this version (AWS; RGW says ObjectLockConfigurationNotFoundError).
      const code = s3ErrorCode(err);
      if (code === 'NoSuchObjectLockConfiguration' || code === 'ObjectLockConfigurationNotFoundError')
        return 0;
      throw err;
    }
  }

  #keep(v: ObjectVersion, until: number): void {
    this.counts.kept++;
    this.counts.keptBytes += v.size;
    this.counts.keptUntil = Math.max(this.counts.keptUntil ?? 0, until);
  }

  /** Deletes a version (or marker) by its id; true when done, false when the lock still refuses. */
  async #deleteVersion(v: ObjectVersion): Promise<boolean> {
    try {
      await s3Call(this.#ctx('DeleteObject', v.key), () =>
        this.#req.conn.client.send(
          new DeleteObjectCommand({ Bucket: this.#req.bucket, Key: v.key, VersionId: v.versionId }),
        ),
      );
      return true;
    } catch (err) {
      // Still under retention after all (clocks): kept, as any retained version.
      if (s3ErrorCode(err) === 'AccessDenied' && !v.deleteMarker) return false;
      throw err;
    }
  }

  /** A hidden version: deleted once its retention has ended, else kept. */
  async #hidden(v: ObjectVersion): Promise<void> {
    const { retentionMs } = this.#req.policy;
    // Written under the policy: retained at least until written + retention (locks: never).
    const surely = v.modified + retentionMs;
    const until = this.#req.isLock(v.key) ? 0 : surely > this.#now ? surely : await this.#retainUntil(v);
    if (until > this.#now || !(await this.#deleteVersion(v))) {
      this.#keep(v, until);
      return;
    }
    this.counts.reclaimed++;
    this.counts.reclaimedBytes += v.size;
  }

  /** The current version of a key in use: its retention extended when less than half is left. */
  async #current(v: ObjectVersion): Promise<void> {
    if (this.#req.isLock(v.key)) return;
    const { policy } = this.#req;
    const half = policy.retentionMs / 2;
    if (v.modified + policy.retentionMs - this.#now > half) return;
    const until = await this.#retainUntil(v);
    if (until - this.#now > half) return;
    const retention = retentionFrom(policy, this.#now);
    await s3Call(this.#ctx('PutObjectRetention', v.key), () =>
      this.#req.conn.client.send(
        new PutObjectRetentionCommand({
          Bucket: this.#req.bucket,
          Key: v.key,
          VersionId: v.versionId,
          Retention: { Mode: retention.mode, RetainUntilDate: retention.retainUntil },
        }),
      ),
    );
    this.counts.extended++;
  }

  /** One key's versions and markers, newest first. */
  async key(entries: readonly ObjectVersion[]): Promise<void> {
    const first = entries[0];
    if (first === undefined || !this.#req.owns(first.key)) return;
    if (!first.deleteMarker) await this.#spawn(() => this.#current(first));
    const grace = this.#req.graceMs;
    // Delete markers with no version left behind them hide nothing (their versions went earlier).
    if (entries.every((v) => v.deleteMarker)) {
      for (const m of entries) {
        if (this.#now - m.modified >= grace)
          await this.#spawn(async () => void (await this.#deleteVersion(m)));
      }
      return;
    }
    for (const [i, v] of entries.entries()) {
      // A version is hidden since the entry just newer than it was written.
      const hiddenAt = entries[i - 1]?.modified;
      if (v.deleteMarker || hiddenAt === undefined || this.#now - hiddenAt < grace) continue;
      await this.#spawn(() => this.#hidden(v));
    }
  }
}

/** Runs the upkeep over every key under `prefix` (see above). */
export async function retentionUpkeep(req: UpkeepRequest): Promise<RetentionUpkeep> {
  const upkeep = new Upkeep(req);
  let group: ObjectVersion[] = [];
  for await (const v of listVersions(req.conn, req.bucket, req.prefix)) {
    if (group.length > 0 && group[0]?.key !== v.key) {
      await upkeep.key(group);
      group = [];
    }
    group.push(v);
  }
  await upkeep.key(group);
  await upkeep.drain();
  const { keptUntil, ...counts } = upkeep.counts;
  return { ...counts, ...(keptUntil !== undefined && counts.kept > 0 ? { keptUntil } : {}) };
}
