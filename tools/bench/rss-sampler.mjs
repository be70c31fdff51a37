/**
 * A memory sampler for any node process (a benchmark aid, not part of kloset): load it with
 *
 *   KLOSET_RSS_SAMPLES=/tmp/run NODE_OPTIONS="--import=$PWD/tools/bench/rss-sampler.mjs" kloset ...
 *
 * and every process that loads it (the kloset launcher and the child it starts) appends a line
 * every KLOSET_RSS_EVERY_MS (default 100) to `<KLOSET_RSS_SAMPLES>.<pid>.tsv` (a worker thread,
 * which loads it too, to `<KLOSET_RSS_SAMPLES>.<pid>.w<thread id>.tsv`, its own heap):
 *
 *   ms  rss  heapTotal  heapUsed  external  arrayBuffers  newSpace  oldSpace  codeAndOther  hwm
 *
 * in MiB (rss and hwm, the peak RSS so far, from /proc/self/status: the whole process, worker
 * threads and native memory included; the heap figures: the main thread's isolate only). At exit
 * it appends a `# peak` line with the maxima. Compare rss with heapTotal + external to see what
 * lives outside V8 (sqlite, malloc arenas, thread stacks, worker isolates).
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';
import { isMainThread, threadId } from 'node:worker_threads';

const prefix = process.env.KLOSET_RSS_SAMPLES;
if (prefix !== undefined && prefix !== '') {
  const every = Number(process.env.KLOSET_RSS_EVERY_MS) || 100;
  const file = `${prefix}.${process.pid}${isMainThread ? '' : `.w${threadId}`}.tsv`;
  const t0 = Date.now();
  const mib = (n) => (n / 1048576).toFixed(1);
  const max = new Array(9).fill(0);
  const status = () => {
    try {
      const s = readFileSync('/proc/self/status', 'latin1');
      const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) * 1024;
      return [kb('VmRSS'), kb('VmHWM')];
    } catch {
      return [process.memoryUsage.rss(), 0];
    }
  };
  appendFileSync(
    file,
    `# ${process.argv.slice(1).join(' ')}\nms\trss\theapTotal\theapUsed\texternal\tarrayBuffers\tnewSpace\toldSpace\tother\thwm\n`,
  );
  const sample = () => {
    const m = process.memoryUsage();
    const [rss, hwm] = status();
    let young = 0;
    let old = 0;
    for (const s of getHeapSpaceStatistics()) {
      if (s.space_name === 'new_space') young += s.space_used_size;
      else if (s.space_name === 'old_space') old += s.space_used_size;
    }
    const row = [
      rss,
      m.heapTotal,
      m.heapUsed,
      m.external,
      m.arrayBuffers,
      young,
      old,
      m.heapUsed - young - old,
      hwm,
    ];
    for (let i = 0; i < row.length; i++) max[i] = Math.max(max[i], row[i]);
    appendFileSync(file, `${Date.now() - t0}\t${row.map(mib).join('\t')}\n`);
  };
  setInterval(sample, every).unref();
  process.on('exit', () => {
    sample();
    appendFileSync(file, `# peak\t${max.map(mib).join('\t')}\n`);
  });
}
