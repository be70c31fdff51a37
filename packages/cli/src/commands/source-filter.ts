/**
 * `-source @NAME|PATH|URL`: the snapshots of a source. The source is resolved as `backup` resolves
 * it (a named source's location and options, a path made absolute), and its connector says what a
 * backup of it records (protocol, origin, root), without reading anything. A snapshot matches when
 * its header records the same; for `@NAME`, also when it is named `@NAME` (what a backup of a named
 * source is called by default, so that its snapshots are still found after it was moved).
 */
import type { SourceFilterView } from '../engine/engine.ts';
import type { Services } from '../services.ts';

export async function sourceFilter(services: Services, raw: string): Promise<SourceFilterView> {
  const where = await services.resolve(raw, 'source');
  const source = await services.sourceAt(where);
  try {
    const { protocol, origin, root } = source.info;
    return {
      label: raw,
      info: { protocol, origin, root },
      ...(where.name !== undefined ? { name: `@${where.name}` } : {}),
    };
  } finally {
    await source.close();
  }
}
