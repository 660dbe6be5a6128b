/** Test helpers for load results. */
import type { LoadResult } from '../../src/repo/index.js';

/** The result with plain maps: an incremental load hands out patched maps (src/repo/overlay-map.ts), equal in content. */
export function plainResult(r: LoadResult): LoadResult {
  const { rendered, sources } = r.desired;
  return { ...r, desired: { ...r.desired, rendered: new Map(rendered), sources: new Map(sources) } };
}
