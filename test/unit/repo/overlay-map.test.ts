/** patchMap against a Map patched by hand: random deletes and sets over long chains of patches. */
import { describe, expect, test } from 'vitest';
import { patchMap, plainMap } from '../../../src/repo/overlay-map.js';
import { seededRandom } from '../../support/fuzz.js';

describe('patchMap', () => {
  test('equals a copied and patched Map (entries, order, size, get, has) over 400 random patches', () => {
    const rand = seededRandom(7);
    const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
    let want = new Map(keys.slice(0, 200).map((k, i) => [k, i]));
    let got: ReadonlyMap<string, number> = new Map(want);
    for (let step = 0; step < 400; step++) {
      const before = got;
      const beforeEntries = [...before];
      const deletes = Array.from({ length: Math.floor(rand() * 4) }, () => keys[Math.floor(rand() * keys.length)]!);
      const sets: [string, number][] = Array.from({ length: Math.floor(rand() * 5) }, () => [keys[Math.floor(rand() * keys.length)]!, step * 10 + Math.floor(rand() * 10)]);
      const next = new Map(want);
      for (const k of deletes) next.delete(k);
      for (const [k, v] of sets) next.set(k, v);
      got = patchMap(got, deletes, sets);
      want = next;
      expect([...got], `step ${step}`).toEqual([...want]);
      expect(got.size).toBe(want.size);
      for (const k of keys) {
        expect(got.get(k)).toBe(want.get(k));
        expect(got.has(k)).toBe(want.has(k));
      }
      // The map patched is unchanged.
      expect([...before]).toEqual(beforeEntries);
    }
    expect([...got.keys()]).toEqual([...want.keys()]);
    expect([...got.values()]).toEqual([...want.values()]);
    const seen: [string, number][] = [];
    got.forEach((v, k) => {
      seen.push([k, v]);
    });
    expect(seen).toEqual([...want]);
  });

  test('a key deleted and set again moves to the end, as in a Map', () => {
    const m = patchMap(patchMap(new Map([['a', 1], ['b', 2], ['c', 3]]), ['a'], []), [], [['a', 9]]);
    expect([...m]).toEqual([['b', 2], ['c', 3], ['a', 9]]);
  });

  test('plainMap gives a Map that v8 can serialize', () => {
    const m = patchMap(new Map([['a', 1]]), [], [['b', 2]]);
    expect(m instanceof Map).toBe(false);
    const p = plainMap(m);
    expect(p).toBeInstanceOf(Map);
    expect(structuredClone(p)).toEqual(new Map([['a', 1], ['b', 2]]));
  });
});
