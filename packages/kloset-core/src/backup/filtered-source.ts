/**
 * A Source without the entries a PathFilter drops (`-exclude`, `-include`): every kind of source
 * gets the same filter, applied to the records as the source yields them. A dropped entry is
 * never opened and is not in the snapshot. The source is told which directories are excluded
 * with all under them (ScanContext.excludedDirectories): a local walk does not descend into
 * them; a bucket's listing still lists their keys, whose records are dropped as they come. A
 * record with `filterAs` is judged by that path and type instead of its own.
 */
import type { ScanContext, Source, SourceRecord } from '@kloset/connector-contract';
import { PathFilter, type PathFilterPatterns } from './path-filter.ts';

/** `inner` filtered by `patterns` (throws PatternError), or `inner` itself when there are none. */
export function filteredSource(inner: Source, patterns: PathFilterPatterns): Source {
  const filter = new PathFilter(patterns);
  if (filter.empty) return inner;
  const excludedDirectories = filter.excludedDirectories;
  const withHint = (context: ScanContext | undefined): ScanContext | undefined => {
    if (excludedDirectories === undefined) return context;
    const previous = context?.previous;
    return {
      ...(previous ? { previous: (path: string) => previous.call(context, path) } : {}),
      excludedDirectories,
    };
  };
  return {
    info: inner.info,
    ...(inner.concurrency !== undefined ? { concurrency: inner.concurrency } : {}),
    scan: (signal?: AbortSignal, context?: ScanContext) =>
      kept(inner.scan(signal, withHint(context)), filter),
    close: () => inner.close(),
  };
}

async function* kept(records: AsyncIterable<SourceRecord>, filter: PathFilter): AsyncGenerator<SourceRecord> {
  for await (const record of records) {
    // Judged as the entry it stands for, when it says so (SourceRecord.filterAs).
    const judged = record.filterAs ?? record;
    // An invalid path goes through: the backup records it as an error.
    if (
      typeof judged.path !== 'string' ||
      !judged.path.startsWith('/') ||
      filter.keeps(judged.path, judged.type)
    ) {
      yield record;
    }
  }
}
