/**
 * Bounded concurrency for file-system fan-out. A folder of 100,000 entries
 * must not become 100,000 pending `lstat` promises at once: libuv runs only a
 * few fs calls in parallel anyway, and the rest would just hold memory.
 */

/** How many fs calls one listing or walk keeps in flight. */
export const FS_CONCURRENCY = 64;

/**
 * Run `fn` over `items` with at most `limit` calls pending, keeping the
 * results in input order. Stops starting new calls after the first failure
 * and rejects with it once the calls already running have settled.
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index], index);
      } catch (err) {
        if (!failed) {
          failed = true;
          failure = err;
        }
      }
    }
  };
  const workers = Math.max(1, Math.min(limit, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
  if (failed) throw failure;
  return results;
}
