/** Listing pages, streamed, with the next page requested while the current one is used. */

/**
 * The pages `fetch` gives, from `fetch(undefined)` on, each next one asked with `nextOf(page)`
 * (undefined: that was the last) as soon as a page is in, before it is handed over. Memory holds
 * the page in use and the one being fetched.
 */
export async function* prefetchedPages<P, M>(
  fetch: (marker: M | undefined) => Promise<P>,
  nextOf: (page: P) => M | undefined,
): AsyncGenerator<P> {
  const prefetch = (marker: M | undefined): Promise<P> => {
    const p = fetch(marker);
    // Awaited later; until then a failure must not count as an unhandled rejection.
    p.catch(() => {});
    return p;
  };
  let next: Promise<P> | undefined = prefetch(undefined);
  while (next) {
    const page: P = await next;
    const marker = nextOf(page);
    next = marker !== undefined ? prefetch(marker) : undefined;
    yield page;
  }
}
