/**
 * A Source whose scan starts now, before the backup asks for it: while the repository is being
 * opened (the passphrase's key derivation alone is ~0.4 s of one core), the walk of the source
 * runs and its first records wait in a bounded queue. The scan context the backup gives later
 * (the previous snapshot's entries) is handed to the running scan when it comes: lookups made
 * before wait for it.
 */
import type { EntryPath, ScanContext, Source, SourceRecord } from '@kloset/connector-contract';
import { Fifo } from './fifo.ts';

export interface ScanAheadOptions {
  /** Records waiting at most (memory: a few hundred bytes each). */
  readonly maxRecords: number;
  /** The scan's signal; `scan()` of the returned source ignores its own. */
  readonly signal?: AbortSignal;
}

/**
 * What the scan of a scanAhead source has yielded so far: a counter of its records and of the
 * sizes of its files, complete once `done` (the scan ended without error). The backup's progress
 * reports it as totals.
 */
export class ScanTally {
  entries = 0;
  bytes = 0;
  done = false;
}

const tallies = new WeakMap<Source, ScanTally>();

/** The tally of a source returned by `scanAhead`, undefined for any other source. */
export function scanTallyOf(source: Source): ScanTally | undefined {
  return tallies.get(source);
}

type Item = { readonly record: SourceRecord } | { readonly error: unknown } | { readonly end: true };

/**
 * `inner`, its scan started now. Call `scan()` once (its signal is ignored: the one of `options`
 * applies). `close()` stops the scan if it is still running (aborting a call in progress: a source
 * honours its scan signal), then closes `inner`.
 */
export function scanAhead(inner: Source, options: ScanAheadOptions): Source {
  let setContext!: (ctx: ScanContext | undefined) => void;
  const context = new Promise<ScanContext | undefined>((resolve) => {
    setContext = resolve;
  });
  const deferred: ScanContext = {
    previous: async (path: EntryPath) => (await context)?.previous?.(path),
  };
  // Ours to abort: stopping must not wait for a listing that is still trying to reach its server.
  // Only an unfinished scan is aborted: a source may tie its records' `open` to the scan signal.
  const abort = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, abort.signal]) : abort.signal;
  const iterator = inner.scan(signal, deferred)[Symbol.asyncIterator]();
  const queue = new Fifo<Item>();
  let wakeConsumer: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;
  let stopped = false;
  let finished = false;
  let taken = false;
  const tally = new ScanTally();

  const push = (item: Item): void => {
    queue.push(item);
    wakeConsumer?.();
    wakeConsumer = undefined;
  };
  const producer = (async () => {
    try {
      while (!stopped) {
        while (queue.size >= options.maxRecords && !stopped) {
          await new Promise<void>((resolve) => {
            wakeProducer = resolve;
          });
        }
        if (stopped) break;
        const r = await iterator.next();
        if (r.done === true) {
          finished = true;
          tally.done = true;
          push({ end: true });
          return;
        }
        tally.entries++;
        if (r.value.type === 'file') tally.bytes += r.value.size;
        push({ record: r.value });
      }
    } catch (error) {
      finished = true;
      push({ error });
    }
  })();

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    setContext(undefined);
    wakeProducer?.();
    if (!finished) abort.abort(new Error('the scan was stopped'));
    await producer;
    await iterator.return?.();
  };

  const source: Source = {
    info: inner.info,
    ...(inner.concurrency !== undefined ? { concurrency: inner.concurrency } : {}),
    scan(_signal?: AbortSignal, ctx?: ScanContext): AsyncIterable<SourceRecord> {
      if (taken) throw new Error('scanAhead: the scan was already taken');
      taken = true;
      setContext(ctx);
      return (async function* () {
        try {
          for (;;) {
            if (queue.size === 0) {
              await new Promise<void>((resolve) => {
                wakeConsumer = resolve;
              });
              continue;
            }
            const item = queue.shift()!;
            wakeProducer?.();
            wakeProducer = undefined;
            if ('end' in item) return;
            if ('error' in item) throw item.error;
            yield item.record;
          }
        } finally {
          await stop();
        }
      })();
    },
    async close(): Promise<void> {
      try {
        await stop();
      } finally {
        await inner.close();
      }
    },
  };
  tallies.set(source, tally);
  return source;
}
