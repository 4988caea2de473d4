import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Bipartite } from './vertexCover.ts';
import { hopcroftKarp, minimumVertexCover } from './vertexCover.ts';

const bipartite: fc.Arbitrary<Bipartite> = fc.record({ leftCount: fc.integer({ min: 0, max: 7 }), rightCount: fc.integer({ min: 1, max: 7 }) })
  .chain(({ leftCount, rightCount }) => fc.array(fc.uniqueArray(fc.integer({ min: 0, max: rightCount - 1 }), { maxLength: rightCount }), { minLength: leftCount, maxLength: leftCount })
    .map((adjacency) => ({ leftCount, rightCount, adjacency })));

/** Brute force: the smallest subset of L ∪ R touching every edge. */
function bruteForceCover(graph: Bipartite): number {
  const n = graph.leftCount + graph.rightCount;
  let best = n;
  for (let mask = 0; mask < 1 << n; mask++) {
    const covered = graph.adjacency.every((vs, u) => vs.every((v) => (mask >> u) & 1 || (mask >> (graph.leftCount + v)) & 1));
    if (covered) best = Math.min(best, popcount(mask));
  }
  return best;
}

function popcount(x: number): number {
  let count = 0;
  for (let y = x; y > 0; y >>= 1) count += y & 1;
  return count;
}

describe('minimumVertexCover (König via Hopcroft–Karp)', () => {
  it.each([
    ['a star needs its centre', { leftCount: 1, rightCount: 4, adjacency: [[0, 1, 2, 3]] }, 1],
    ['a perfect matching of 3 needs 3', { leftCount: 3, rightCount: 3, adjacency: [[0], [1], [2]] }, 3],
    ['K2,3 needs 2', { leftCount: 2, rightCount: 3, adjacency: [[0, 1, 2], [0, 1, 2]] }, 2],
    ['no edges needs 0', { leftCount: 3, rightCount: 2, adjacency: [[], [], []] }, 0],
  ])('%s', (_name, graph, size) => {
    expect(minimumVertexCover(graph).size).toBe(size);
  });

  it('covers every edge, and its size equals the brute-force minimum and the maximum matching', () => {
    fc.assert(fc.property(bipartite, (graph) => {
      const cover = minimumVertexCover(graph);
      const chosen = Array.from(cover.left).reduce((a, b) => a + b, 0) + Array.from(cover.right).reduce((a, b) => a + b, 0);
      expect(chosen).toBe(cover.size);
      graph.adjacency.forEach((vs, u) => vs.forEach((v) => expect(cover.left[u] === 1 || cover.right[v] === 1).toBe(true)));
      expect(cover.size).toBe(bruteForceCover(graph));
      expect(hopcroftKarp(graph).size).toBe(cover.size);
    }), { numRuns: 300 });
  });
});
