/**
 * `patchMap`: a read-only copy of a map with a few entries deleted and set, made in time that grows with the
 * changes, not with the map. A one-host commit in a 10,000-host repository changes one entry of the desired
 * state's `rendered` and `sources`; copying both maps cost more than the rest of the incremental load.
 *
 * The copy is a base map shared with the original plus the changes on top. Once the changes pass an eighth of the
 * base they are folded into a new base (a full copy), so a long run of patches costs O(1) amortised per change and
 * lookups stay two map probes. Iteration order is a Map's: a key set again keeps its place, a deleted key is gone,
 * a new key (or one deleted and set again) comes last. Not serializable by `v8.serialize` (a class with private
 * state): `plainMap` gives a Map for storage.
 */

const GONE: unique symbol = Symbol('gone');

class OverlayMap<K, V> implements ReadonlyMap<K, V> {
  readonly #base: ReadonlyMap<K, V>;
  /** Keys of the base set to another value, or deleted (GONE). */
  readonly #over: Map<K, V | typeof GONE>;
  /** Keys not in the base (or deleted from it and set again), in the order they were set. */
  readonly #tail: Map<K, V>;
  readonly #size: number;

  constructor(base: ReadonlyMap<K, V>, over: Map<K, V | typeof GONE>, tail: Map<K, V>) {
    this.#base = base;
    this.#over = over;
    this.#tail = tail;
    let gone = 0;
    for (const v of over.values()) if (v === GONE) gone++;
    this.#size = base.size - gone + tail.size;
  }

  static patch<K, V>(from: ReadonlyMap<K, V>, deletes: Iterable<K>, sets: Iterable<readonly [K, V]>): ReadonlyMap<K, V> {
    const prev = from instanceof OverlayMap ? (from as OverlayMap<K, V>) : undefined;
    const base = prev ? prev.#base : from;
    const over = prev ? new Map(prev.#over) : new Map<K, V | typeof GONE>();
    const tail = prev ? new Map(prev.#tail) : new Map<K, V>();
    for (const k of deletes) {
      if (tail.delete(k)) continue;
      if (base.has(k) && over.get(k) !== GONE) over.set(k, GONE);
    }
    for (const [k, v] of sets) {
      if (tail.has(k) || !base.has(k) || over.get(k) === GONE) tail.set(k, v);
      else over.set(k, v);
    }
    if (over.size + tail.size > 16 + (base.size >> 3)) return new Map(new OverlayMap(base, over, tail));
    return new OverlayMap(base, over, tail);
  }

  get size(): number {
    return this.#size;
  }

  get(key: K): V | undefined {
    if (this.#tail.size > 0 && this.#tail.has(key)) return this.#tail.get(key);
    if (this.#over.size === 0) return this.#base.get(key);
    const o = this.#over.get(key);
    if (o === GONE) return undefined;
    if (o !== undefined || this.#over.has(key)) return o as V;
    return this.#base.get(key);
  }

  has(key: K): boolean {
    if (this.#tail.has(key)) return true;
    const o = this.#over.get(key);
    if (o === GONE) return false;
    return this.#over.has(key) || this.#base.has(key);
  }

  *entries(): MapIterator<[K, V]> {
    for (const [k, v] of this.#base) {
      const o = this.#over.get(k);
      if (o === GONE) continue;
      yield [k, o !== undefined || this.#over.has(k) ? (o as V) : v];
    }
    yield* this.#tail;
  }

  *keys(): MapIterator<K> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): MapIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  forEach(fn: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }

  get [Symbol.toStringTag](): string {
    return 'Map';
  }
}

/** `from` with `deletes` removed, then `sets` set; `from` is not changed. See the file comment. */
export function patchMap<K, V>(from: ReadonlyMap<K, V>, deletes: Iterable<K>, sets: Iterable<readonly [K, V]>): ReadonlyMap<K, V> {
  return OverlayMap.patch(from, deletes, sets);
}

/** A Map with the same entries (itself when it is one), for `v8.serialize` and the like. */
export function plainMap<K, V>(m: ReadonlyMap<K, V>): Map<K, V> {
  return m instanceof Map ? m : new Map(m);
}
