/**
 * Minimum vertex cover of a bipartite graph by König's theorem: a maximum matching
 * (Hopcroft–Karp, O(E·√V)), then the alternating-path construction.
 */

/** A bipartite graph: `adjacency[u]` lists the right vertices of left vertex u. */
export interface Bipartite {
  readonly leftCount: number;
  readonly rightCount: number;
  readonly adjacency: readonly (readonly number[])[];
}

/** A maximum matching: partner of each left / right vertex, −1 when unmatched. */
export interface Matching {
  readonly size: number;
  readonly leftMate: Int32Array;
  readonly rightMate: Int32Array;
}

/** Hopcroft–Karp maximum matching. */
export function hopcroftKarp(graph: Bipartite): Matching {
  const { leftCount, rightCount, adjacency } = graph;
  const leftMate = new Int32Array(leftCount).fill(-1);
  const rightMate = new Int32Array(rightCount).fill(-1);
  const layer = new Int32Array(leftCount);
  const unreached = 0x7fffffff;
  let size = 0;

  const bfs = (): boolean => {
    const queue: number[] = [];
    for (let u = 0; u < leftCount; u++) {
      if (leftMate[u] === -1) {
        layer[u] = 0;
        queue.push(u);
      } else {
        layer[u] = unreached;
      }
    }
    let foundFree = false;
    for (let head = 0; head < queue.length; head++) {
      const u = queue[head] as number;
      for (const v of adjacency[u] ?? []) {
        const w = rightMate[v] as number;
        if (w === -1) foundFree = true;
        else if (layer[w] === unreached) {
          layer[w] = (layer[u] as number) + 1;
          queue.push(w);
        }
      }
    }
    return foundFree;
  };

  // Iterative DFS along the BFS layers, so deep augmenting paths cannot overflow the stack.
  // Invariant: via[d] is the right vertex leading from stack[d] to stack[d + 1].
  const augment = (root: number): boolean => {
    const stack: number[] = [root];
    const edge: number[] = [0];
    const via: number[] = [];
    while (stack.length > 0) {
      const depth = stack.length - 1;
      const u = stack[depth] as number;
      const neighbours = adjacency[u] ?? [];
      const index = edge[depth] as number;
      if (index >= neighbours.length) {
        layer[u] = unreached;
        stack.pop();
        edge.pop();
        via.pop();
        continue;
      }
      edge[depth] = index + 1;
      const v = neighbours[index] as number;
      const w = rightMate[v] as number;
      if (w === -1) {
        via.push(v);
        for (let d = 0; d <= depth; d++) {
          const left = stack[d] as number;
          const right = via[d] as number;
          leftMate[left] = right;
          rightMate[right] = left;
        }
        return true;
      }
      if (layer[w] === (layer[u] as number) + 1) {
        via.push(v);
        stack.push(w);
        edge.push(0);
      }
    }
    return false;
  };

  while (bfs()) {
    for (let u = 0; u < leftCount; u++) {
      if (leftMate[u] === -1 && augment(u)) size++;
    }
  }
  return { size, leftMate, rightMate };
}

/** A minimum vertex cover: chosen left and right vertices; its size equals the maximum matching. */
export interface VertexCover {
  readonly left: Uint8Array;
  readonly right: Uint8Array;
  readonly size: number;
}

/**
 * König's construction: Z = vertices reachable from unmatched left vertices by alternating paths
 * (non-matching edges left→right, matching edges right→left); the cover is (L \ Z) ∪ (R ∩ Z).
 */
export function minimumVertexCover(graph: Bipartite): VertexCover {
  const matching = hopcroftKarp(graph);
  const visitedLeft = new Uint8Array(graph.leftCount);
  const visitedRight = new Uint8Array(graph.rightCount);
  const queue: number[] = [];
  for (let u = 0; u < graph.leftCount; u++) {
    if (matching.leftMate[u] === -1) {
      visitedLeft[u] = 1;
      queue.push(u);
    }
  }
  for (let head = 0; head < queue.length; head++) {
    const u = queue[head] as number;
    for (const v of graph.adjacency[u] ?? []) {
      if (visitedRight[v] === 1 || matching.leftMate[u] === v) continue;
      visitedRight[v] = 1;
      const w = matching.rightMate[v] as number;
      if (w !== -1 && visitedLeft[w] === 0) {
        visitedLeft[w] = 1;
        queue.push(w);
      }
    }
  }
  const left = visitedLeft.map((seen) => 1 - seen);
  return { left, right: visitedRight, size: matching.size };
}
