/**
 * `check`: audits the store's states and packfiles (packfile-audit.ts: unreadable states, packfiles
 * missing or of the wrong size, and in a full check each packfile's own index and footer against
 * the states), walks the tree of every snapshot (reading, and so verifying, every tree node), then
 * - fast: checks that every chunk a file references is in the index and its packfile sound;
 * - full: reads and verifies every referenced chunk once (see blob-verify.ts).
 * Every problem is reported with the snapshot and the file it affects. Run it on an index built
 * from the store alone (check-store.ts) so that what it says holds for a new client.
 */

import { toHex } from '../encoding/bytes.ts';
import { BlobKind } from '../repository/blob-store.ts';
import type { EngineRepository } from '../snapshot/engine-repository.ts';
import type { SnapshotEntry } from '../snapshot/entry.ts';
import { ExternalSorter } from '../snapshot/external-sorter.ts';
import type { SnapshotHeader } from '../snapshot/header.ts';
import { readSnapshots, resolveSnapshot } from '../snapshot/snapshots.ts';
import { errorMessage } from '../snapshot/tree-reader.ts';
import { chunkRefKey, chunkRefValue, verifyChunkRefs } from './blob-verify.ts';
import type { CheckOptions, CheckProblem, CheckProgress, CheckResult } from './check-options.ts';
import { auditPackfiles, isAuditable } from './packfile-audit.ts';
import { walkTree } from './tree-walk.ts';

const MAX_REPORTS = 1000;

/** Checks the store's snapshots; see CheckOptions for fast and full. Throws only on abort or storage failure. */
export async function check(repo: EngineRepository, options: CheckOptions = {}): Promise<CheckResult> {
  const signal = options.signal;
  signal?.throwIfAborted();
  const fast = options.fast ?? false;
  const started = performance.now();
  const counts = { snapshots: 0, entries: 0, blobs: 0, bytes: 0, problems: 0 };
  let unindexedPackfiles = 0;
  let packIndexesRead = 0;
  let phase: CheckProgress['phase'] = 'trees';
  const reports: CheckProblem[] = [];
  const report = (p: CheckProblem) => {
    counts.problems++;
    if (reports.length < MAX_REPORTS) reports.push(p);
    options.onProblem?.(p);
  };
  const progressOf = (done: boolean): CheckProgress => ({
    phase,
    ...counts,
    elapsedMs: performance.now() - started,
    done,
  });
  const onProgress = options.onProgress;
  const timer =
    onProgress === undefined
      ? undefined
      : setInterval(() => onProgress(progressOf(false)), options.progressIntervalMs ?? 250);
  timer?.unref();

  const sorter = fast
    ? undefined
    : new ExternalSorter({
        ...(options.sortMemoryBytes !== undefined ? { memoryBytes: options.sortMemoryBytes } : {}),
        ...(options.tempDir !== undefined ? { tempDir: options.tempDir } : {}),
      });
  let completed = false;
  try {
    // The snapshots.
    const headers: SnapshotHeader[] = [];
    if (options.snapshots !== undefined) {
      for (const ref of options.snapshots) headers.push(await resolveSnapshot(repo, ref));
    } else {
      for await (const r of readSnapshots(repo)) {
        if (r.ok) headers.push(r.header);
        else report({ kind: 'unreadable-snapshot', message: `snapshot ${r.id}: ${r.error}`, snapshot: r.id });
      }
    }
    // The packfiles: those the states list, audited (sizes, own indexes); else those in storage.
    let damaged = new Map<string, string>();
    let present: Set<string> | undefined;
    const audited = isAuditable(repo) ? repo : undefined;
    if (audited !== undefined) {
      phase = 'packfiles';
      const audit = await auditPackfiles(audited, !fast, report, signal);
      damaged = audit.damaged;
      unindexedPackfiles = audit.unindexed;
      packIndexesRead = audit.packIndexesRead;
      phase = 'trees';
    } else {
      present = new Set<string>();
      for await (const p of repo.listPackfiles()) present.add(toHex(p.id));
    }

    // Phase 1: trees.
    for (const header of headers) {
      signal?.throwIfAborted();
      counts.snapshots++;
      const snapHex = toHex(header.id);
      const label = `snapshot ${snapHex.slice(0, 8)}`;
      const checkEntry = async (e: SnapshotEntry) => {
        counts.entries++;
        if (e.type !== 'file' || e.error !== undefined) return;
        let total = 0;
        let missing: { blob: string; packfile?: string; message: string } | undefined;
        let missingCount = 0;
        for (const c of e.chunks) {
          total += c.length;
          const loc = repo.locateBlob(BlobKind.Chunk, c.id);
          const blob = toHex(c.id);
          if (loc === undefined) {
            missingCount++;
            const lost = audited?.locateLostBlob(BlobKind.Chunk, c.id);
            const pack = lost === undefined ? undefined : toHex(lost.packfile);
            missing ??=
              pack === undefined
                ? { blob, message: `blob ${blob} is not in the index` }
                : {
                    blob,
                    packfile: pack,
                    message: `blob ${blob}: packfile ${pack} is ${damaged.get(pack) ?? 'missing'}`,
                  };
            continue;
          }
          const pack = toHex(loc.packfile);
          const damage =
            present === undefined ? damaged.get(pack) : present.has(pack) ? undefined : 'not in storage';
          if (damage !== undefined) {
            missingCount++;
            missing ??= { blob, packfile: pack, message: `blob ${blob}: packfile ${pack} is ${damage}` };
            continue;
          }
          if (loc.rawLength !== c.length) {
            report({
              kind: 'size-mismatch',
              message: `${e.path} in ${label}: chunk ${blob} is ${loc.rawLength} bytes in the index, ${c.length} in the snapshot`,
              snapshot: snapHex,
              path: e.path,
              blob,
            });
          }
          if (sorter !== undefined) {
            await sorter.add(chunkRefKey(loc.packfile, loc.offset, c.id), chunkRefValue(header.id, e.path));
          } else counts.blobs++;
        }
        if (missing !== undefined) {
          const more = missingCount > 1 ? ` (and ${missingCount - 1} more chunks)` : '';
          report({
            kind: missing.packfile === undefined ? 'missing-blob' : 'missing-packfile',
            message: `${e.path} in ${label}: ${missing.message}${more}`,
            snapshot: snapHex,
            path: e.path,
            blob: missing.blob,
            ...(missing.packfile === undefined ? {} : { packfile: missing.packfile }),
          });
        }
        if (total !== e.size) {
          report({
            kind: 'size-mismatch',
            message: `${e.path} in ${label}: chunks hold ${total} bytes, the entry says ${e.size}`,
            snapshot: snapHex,
            path: e.path,
          });
        }
      };
      await walkTree(
        repo,
        header.root,
        {
          async leaf(entries) {
            for (const e of entries) await checkEntry(e);
          },
          node() {
            counts.blobs++;
          },
          unreadable(id, firstPath, err) {
            report({
              kind: 'unreadable-tree',
              message:
                `${label}: tree node ${toHex(id)} cannot be read, entries ` +
                `${firstPath === undefined ? 'of the whole snapshot' : `from ${firstPath} on`} are unknown: ${errorMessage(err)}`,
              snapshot: snapHex,
              ...(firstPath === undefined ? {} : { path: firstPath }),
              blob: toHex(id),
            });
          },
        },
        options.concurrency ?? 8,
        signal,
      );
    }

    // Phase 2 (full): every referenced chunk, once.
    if (sorter !== undefined) {
      phase = 'blobs';
      await verifyChunkRefs(repo, sorter.sorted(), options.batchBlobs ?? 512, counts, report, signal);
    }
    completed = true;
  } finally {
    await sorter?.close();
    if (timer !== undefined) clearInterval(timer);
    onProgress?.(progressOf(completed));
  }
  return {
    ok: counts.problems === 0,
    fast,
    snapshots: counts.snapshots,
    entries: counts.entries,
    blobs: counts.blobs,
    bytes: counts.bytes,
    problems: counts.problems,
    reports,
    unindexedPackfiles,
    packIndexesRead,
  };
}
