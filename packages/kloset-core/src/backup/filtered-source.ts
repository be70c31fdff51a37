/**
 * A Source without the entries a PathFilter drops (`-exclude`, `-include`): every kind of source
 * gets the same filter, applied to the records as the source yields them. A dropped entry is
 * never opened and is not in the snapshot. The source still lists what is under an excluded
 * directory (a local walk reads it, a bucket's listing lists its keys): the records are dropped
 * as they come, one regular expression test each.
 */
import type { ScanContext, Source, SourceRecord } from '@kloset/connector-contract';
import { PathFilter, type PathFilterPatterns } from './path-filter.ts';

/** `inner` filtered by `patterns` (throws PatternError), or `inner` itself when there are none. */
export function filteredSource(inner: Source, patterns: PathFilterPatterns): Source {
  const filter = new PathFilter(patterns);
  if (filter.empty) return inner;
  return {
    info: inner.info,
    ...(inner.concurrency !== undefined ? { concurrency: inner.concurrency } : {}),
    scan: (signal?: AbortSignal, context?: ScanContext) => kept(inner.scan(signal, context), filter),
    close: () => inner.close(),
  };
}

async function* kept(records: AsyncIterable<SourceRecord>, filter: PathFilter): AsyncGenerator<SourceRecord> {
  for await (const record of records) {
    // An invalid path goes through: the backup records it as an error.
    if (
      typeof record.path !== 'string' ||
      !record.path.startsWith('/') ||
      filter.keeps(record.path, record.type)
    ) {
      yield record;
    }
  }
}
