/** Backup counters and the throttled progress callback. */
import type { BackupProgress } from './backup-options.ts';
import type { ScanTally } from './scan-ahead.ts';

/** Mutable counters of a running backup. */
export class BackupCounters {
  entries = 0;
  files = 0;
  directories = 0;
  symlinks = 0;
  errors = 0;
  bytes = 0;
  readBytes = 0;
  reusedFiles = 0;
  filesRead = 0;
  storedBytes = 0;
  newBlobs = 0;
  filesInFlight = 0;
  finishing = false;
  readonly started = performance.now();
  /** The scan's tally, when the source is a scanAhead one. */
  readonly scan: ScanTally | undefined;

  constructor(scan?: ScanTally) {
    this.scan = scan;
  }

  snapshot(done: boolean): BackupProgress {
    const elapsedMs = performance.now() - this.started;
    return {
      entries: this.entries,
      files: this.files,
      directories: this.directories,
      symlinks: this.symlinks,
      errors: this.errors,
      bytes: this.bytes,
      readBytes: this.readBytes,
      reusedFiles: this.reusedFiles,
      storedBytes: this.storedBytes,
      newBlobs: this.newBlobs,
      elapsedMs,
      bytesPerSecond: elapsedMs > 0 ? (this.bytes * 1000) / elapsedMs : 0,
      filesInFlight: this.filesInFlight,
      finishing: this.finishing,
      done,
      ...(this.scan
        ? { scanned: { entries: this.scan.entries, bytes: this.scan.bytes, done: this.scan.done } }
        : {}),
    };
  }
}

/** Calls `onProgress` every `intervalMs` until stopped; `stop(true)` sends a last report. */
export function startProgress(
  counters: BackupCounters,
  onProgress: ((p: BackupProgress) => void) | undefined,
  intervalMs: number,
): { stop(final: boolean): void } {
  if (onProgress === undefined) return { stop() {} };
  const timer = setInterval(() => onProgress(counters.snapshot(false)), intervalMs);
  timer.unref();
  return {
    stop(final: boolean) {
      clearInterval(timer);
      if (final) onProgress(counters.snapshot(true));
    },
  };
}
