/**
 * `patchMap`: a read-only copy of a map with a few entries deleted and set, made in time that grows with the
 * changes, not with the map. A one-host commit in a 10,000-host repository changes one entry of the desired
 * state's `rendered` and `sources`; copying both maps cost more than the rest of the incremental load.
 *
 * The copy is a base map shared with the original plus the changes on top. Once the changes pass an eighth of the
 * base they are folded into a new base (a full copy), so a long run of patches costs O(1) amortised per change and
 * a lookup is two map probes at most. Values must not be `undefined`. Iteration order is a Map's: a key set again keeps its place, a deleted key is gone,
 * a new key (or one deleted and set again) comes last. Not serializable by `v8.serialize` (a class with private
 * state): `plainMap` gives a Map for storage.
 */

const GONE: unique symbol = Symbol('gone');

class OverlayMap<K, V> implements ReadonlyMap<K, V> {
  readonly #base: ReadonlyMap<K, V>;
  /** Every change: a key's value, or GONE. A lookup is two probes at most (values are never undefined here). */
  readonly #over: Map<K, V | typeof GONE>;
  /** Keys set that iterate last: not in the base, or deleted from it and set again (in the order they were set). */
  readonly #tail: Set<K>;
  readonly #size: number;

  constructor(base: ReadonlyMap<K, V>, over: Map<K, V | typeof GONE>, tail: Set<K>) {
    this.#base = base;
    this.#over = over;
    this.#tail = tail;
    let size = base.size;
    for (const [k, v] of over) {
      if (v === GONE) size--;
      else if (tail.has(k) && !base.has(k)) size++;
    }
    this.#size = size;
  }

  static patch<K, V>(from: ReadonlyMap<K, V>, deletes: Iterable<K>, sets: Iterable<readonly [K, V]>): ReadonlyMap<K, V> {
    const prev = from instanceof OverlayMap ? (from as OverlayMap<K, V>) : undefined;
    const base = prev ? prev.#base : from;
    const over = prev ? new Map(prev.#over) : new Map<K, V | typeof GONE>();
    const tail = prev ? new Set(prev.#tail) : new Set<K>();
    for (const k of deletes) {
      if (tail.delete(k)) {
        // Set after the base (or not in it at all): gone again.
        if (base.has(k)) over.set(k, GONE);
        else over.delete(k);
      } else if (base.has(k)) over.set(k, GONE);
    }
    for (const [k, v] of sets) {
      const o = over.get(k);
      if (!tail.has(k) && (!base.has(k) || o === GONE)) {
        // New, or deleted and set again: it moves to the end, as in a Map.
        tail.add(k);
      }
      over.set(k, v);
    }
    if (over.size > 16 + (base.size >> 3)) return new Map(new OverlayMap(base, over, tail));
    return new OverlayMap(base, over, tail);
  }

  get size(): number {
    return this.#size;
  }

  get(key: K): V | undefined {
    const o = this.#over.get(key);
    if (o === undefined) return this.#base.get(key);
    return o === GONE ? undefined : o;
  }

  has(key: K): boolean {
    const o = this.#over.get(key);
    if (o === undefined) return this.#base.has(key);
    return o !== GONE;
  }

  *entries(): MapIterator<[K, V]> {
    for (const [k, v] of this.#base) {
      if (this.#tail.has(k)) continue;
      const o = this.#over.get(k);
      if (o === GONE) continue;
      yield [k, o === undefined ? v : o];
    }
    for (const k of this.#tail) {
      const o = this.#over.get(k);
      if (o !== undefined && o !== GONE) yield [k, o];
    }
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
