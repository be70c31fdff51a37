#!/usr/bin/env node
// The kloset command. Runs the built CLI (dist/); in a workspace checkout that has not been built,
// runs the TypeScript sources instead (Node >= 23.6 strips types natively).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 15)) {
  process.stderr.write(`kloset: Node.js >= 22.15 is required (this is ${process.version})\n`);
  process.exit(1);
}

/**
 * glibc's allocator (and, below, V8's young generation), as tuned for a backup: buffers below
 * 32 MiB come from the heap rather than from mmap, and freed memory stays in the process (no
 * trimming), so the read, compression and cipher buffers of one chunk reuse pages the process
 * already has. By default each such buffer is fresh memory the kernel must fault in and zero; on
 * a 2-core VM that was a third of a backup's CPU time (1.5 GiB data set: 190k page faults -> 105k,
 * restore 6.3-7.0 s -> 5.7-5.8 s). And the heap is in transparent huge pages where the kernel
 * offers them for the asking (THP "madvise", the common default; glibc >= 2.35, older ones ignore
 * the setting): one fault maps 2 MiB instead of 4 KiB, and on a VM each fault is a trap to the
 * hypervisor. Scale-1 restore: 99-100k page faults -> 43-45k, CPU -13 to -19%, peak RSS about the
 * same; backup 140-146k -> 38k faults. One arena for all threads (the main thread, the crypto
 * worker and the thread pool allocate little at once, and a thread's arena is a 64 MiB mapping
 * that grows in small steps, with few huge pages): restore 43-45k -> 20k faults, backup 38k ->
 * 20k, peak RSS 30-60 MB lower, CPU the same or lower (S3 bucket backup: the same). The
 * variable is read when a process starts, so the commands that move data (and only those: it
 * costs one more exec) replace this process (process.execve: same pid, no launcher left waiting,
 * ~48 MB of RSS less than a parent process) with node started again with it. An existing
 * GLIBC_TUNABLES (or KLOSET_MALLOC_TUNED=0) is left as it is. Other C libraries ignore it.
 */
const MALLOC_TUNABLES = [
  'glibc.malloc.mmap_threshold=33554432',
  'glibc.malloc.trim_threshold=4294967296',
  'glibc.malloc.hugetlb=1',
  'glibc.malloc.arena_max=1',
].join(':');
/**
 * V8's heap, as tuned for moving data:
 * - 4 MiB semi-spaces instead of 16: a backup's heap holds ~11 MiB of live objects (the data is
 *   in ArrayBuffers, outside it), so bigger semi-spaces only add resident pages. Scale-1 backup:
 *   peak RSS 543 -> 474 MB, 238k -> 203k page faults, ~0.7 s less CPU.
 * - an old generation that starts at 64 MiB: from V8's small initial limit, a heap this small
 *   gets a full collection every few MiB of old-generation growth (backup of a 4,182-object
 *   bucket: 49-61 of them, each marking the whole heap on the GC threads). 64 MiB: 32-33; CPU
 *   median 13.9 -> 13.0 s over 5 interleaved pairs; local restore 57 -> 28, CPU -4%; peak RSS
 *   +15-50 MB.
 * - an old generation that grows by half its live size at most between full collections (V8 lets
 *   it grow by up to 4x when collections are fast): a backup allocates fast and keeps little, so
 *   the heap grew to 2-4x its live objects. 100,000-object bucket backup: peak RSS 385 -> 303 MB
 *   (main heap 190 -> ~110 MB), CPU the same (50.5 vs 49.8 s); 100,000 files: 285-295 -> 237-244
 *   MB, CPU the same.
 */
const V8_FLAGS = ['--max-semi-space-size=4', '--initial-old-space-size=64', '--heap-growing-percent=50'];
const DATA_COMMANDS = new Set(['backup', 'restore', 'check', 'sync', 'maintenance', 'cat', 'diff']);

const dist = new URL('../dist/main.js', import.meta.url);
const built = existsSync(fileURLToPath(dist));
const retune =
  process.platform === 'linux' &&
  process.env.GLIBC_TUNABLES === undefined &&
  process.env.KLOSET_MALLOC_TUNED !== '0' &&
  process.argv.slice(2).some((arg) => DATA_COMMANDS.has(arg));

if (built && !retune) {
  await import(dist.href);
} else {
  const src = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  if (!built && (!existsSync(src) || major < 23 || (major === 23 && minor < 6))) {
    process.stderr.write('kloset: the CLI is not built: run "npm run build -w @kloset/cli"\n');
    process.exit(1);
  }
  const flags = retune
    ? V8_FLAGS.filter((f) => !process.execArgv.some((a) => a.startsWith(f.split('=')[0])))
    : [];
  const args = built
    ? [...process.execArgv, ...flags, fileURLToPath(import.meta.url), ...process.argv.slice(2)]
    : [...process.execArgv, ...flags, '--conditions=kloset-source', src, ...process.argv.slice(2)];
  const env = { ...process.env };
  if (retune) env.GLIBC_TUNABLES = MALLOC_TUNABLES;
  try {
    process.execve(process.execPath, [process.execPath, ...args], env);
  } catch (err) {
    process.stderr.write(`kloset: cannot start ${process.execPath}: ${err.message}\n`);
    process.exit(1);
  }
}
