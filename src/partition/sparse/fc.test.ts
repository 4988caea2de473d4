import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CsrMatrix } from '../../model/index.ts';
import { createRng, csrNnz, csrVecMul } from '../../model/index.ts';
import type { FcWorkerSlice } from './fcSlice.ts';
import { fcTraffic, partitionFcMsccFgcp, partitionFcOutputSplit } from './fcPartition.ts';
import { fgcp } from './fgcp.ts';
import { countCross, mscc } from './mscc.ts';
import { plantedBlockMatrix, randomSparse } from './testMatrices.ts';
import { minimumVertexCover } from './vertexCover.ts';

/** What the owner computes from the workers' returned partial sums (ALGORITHMS.md §6 execution). */
function executeSlices(x: Float64Array, workers: readonly FcWorkerSlice[], outputs: number): Float64Array {
  const y = new Float64Array(outputs);
  for (const worker of workers) {
    const partial = csrVecMul(Array.from(worker.inputIndex, (i) => x[i] as number), worker.weights);
    worker.outputIndex.forEach((j, k) => { y[j] = (y[j] as number) + (partial[k] as number); });
  }
  return y;
}

function expectProductEqual(matrix: CsrMatrix, workers: readonly FcWorkerSlice[], seed: number): void {
  const rng = createRng(seed);
  const x = Float64Array.from({ length: matrix.rows }, () => rng.normal());
  const expected = csrVecMul(x, matrix);
  const actual = executeSlices(x, workers, matrix.cols);
  expected.forEach((value, j) => expect(actual[j]).toBeCloseTo(value, 9));
}

const sparseCase = fc.record({
  rows: fc.integer({ min: 2, max: 40 }),
  cols: fc.integer({ min: 2, max: 40 }),
  density: fc.double({ min: 0.02, max: 0.6, noNaN: true }),
  capabilities: fc.array(fc.double({ min: 0.2, max: 4, noNaN: true }), { minLength: 1, maxLength: 5 }),
  seed: fc.nat(10_000),
});

describe('MSCC + FGCP and the baselines executed == the dense product', () => {
  it('holds for random sparse matrices and capabilities', () => {
    fc.assert(fc.property(sparseCase, ({ rows, cols, density, capabilities, seed }) => {
      const matrix = randomSparse(rows, cols, density, seed);
      const partitions = [partitionFcMsccFgcp(matrix, capabilities, { seed }), partitionFcOutputSplit(matrix, capabilities)];
      for (const partition of partitions) {
        expectProductEqual(matrix, partition.workers, seed + 1);
        // Every nonzero is computed exactly once.
        expect(partition.loads.reduce((a, b) => a + b, 0)).toBe(csrNnz(matrix));
      }
    }), { numRuns: 100 });
  });
});

describe('FGCP', () => {
  it("extra traffic equals the brute-force minimum vertex cover of every pair's cross edges", () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 8 }), fc.integer({ min: 2, max: 8 }), fc.integer({ min: 2, max: 3 }), fc.nat(10_000), (rows, cols, devices, seed) => {
      const matrix = randomSparse(rows, cols, 0.5, seed);
      const rng = createRng(seed);
      const rowOwner = Int32Array.from({ length: rows }, () => rng.int(devices));
      const colOwner = Int32Array.from({ length: cols }, () => rng.int(devices));
      const result = fgcp(matrix, rowOwner, colOwner, devices);
      let bruteForce = 0;
      for (let a = 0; a < devices; a++) {
        for (let b = 0; b < devices; b++) {
          if (a === b) continue;
          const edges: [number, number][] = [];
          for (let r = 0; r < rows; r++) {
            for (let t = matrix.rowPtr[r] as number; t < (matrix.rowPtr[r + 1] as number); t++) {
              const c = matrix.colIdx[t] as number;
              if (rowOwner[r] === a && colOwner[c] === b) edges.push([r, c]);
            }
          }
          bruteForce += bruteForceCoverSize(edges);
        }
      }
      expect(result.extraValues).toBe(bruteForce);
      expect(result.crossCount).toBe(countCross(matrix, rowOwner, colOwner));
      expectProductEqual(matrix, result.workers, seed);
      // Beyond its own rows and columns, a device receives or returns exactly the cover values.
      const own = result.workers.reduce((sum, w) => sum + w.inputIndex.filter((i) => rowOwner[i] === w.device).length + w.outputIndex.filter((j) => colOwner[j] === w.device).length, 0);
      const sent = result.workers.reduce((sum, w) => sum + w.inputIndex.length + w.outputIndex.length, 0);
      expect(sent - own).toBe(result.extraValues);
    }), { numRuns: 150 });
  });

  it('the König cover used per pair is minimum (sanity against the matcher on a crown graph)', () => {
    // Crown graph S4: K4,4 minus a perfect matching; minimum cover is 4.
    const adjacency = [0, 1, 2, 3].map((u) => [0, 1, 2, 3].filter((v) => v !== u));
    expect(minimumVertexCover({ leftCount: 4, rightCount: 4, adjacency }).size).toBe(4);
  });
});

function bruteForceCoverSize(edges: readonly [number, number][]): number {
  const left = [...new Set(edges.map(([r]) => r))];
  const right = [...new Set(edges.map(([, c]) => c))];
  const n = left.length + right.length;
  let best = n;
  for (let mask = 0; mask < 1 << n; mask++) {
    let size = 0;
    for (let b = 0; b < n; b++) size += (mask >> b) & 1;
    if (size >= best) continue;
    if (edges.every(([r, c]) => (mask >> left.indexOf(r)) & 1 || (mask >> (left.length + right.indexOf(c))) & 1)) best = size;
  }
  return best;
}

describe('MSCC', () => {
  it.each([
    ['k=2 blocks 30×20', 2, 30, 20, 5],
    ['k=3 blocks 24×16', 3, 24, 16, 4],
    ['k=4 blocks 20×24', 4, 20, 24, 6],
    ['k=5 blocks 16×16', 5, 16, 16, 3],
  ])('recovers a planted block-diagonal matrix (%s) with cross count == planted', (_name, k, blockRows, blockCols, planted) => {
    const { matrix } = plantedBlockMatrix(k, blockRows, blockCols, 0.3, planted, 42 + k);
    const result = mscc(matrix, new Array<number>(k).fill(1), { epsilon: 0.1, seed: 3 });
    expect(result.crossCount).toBe(planted);
  });

  it('keeps every load within (1 + ε) of its capability share', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: 0.3, max: 3, noNaN: true }), { minLength: 1, maxLength: 5 }), fc.double({ min: 0.02, max: 0.3, noNaN: true }), fc.nat(10_000), (capabilities, epsilon, seed) => {
      // Many light columns, so every column fits in the slack ε·nnz/k (the greedy guarantee).
      const matrix = randomSparse(60, 400, 0.05, seed);
      const result = mscc(matrix, capabilities, { epsilon, seed });
      const total = capabilities.reduce((a, b) => a + b, 0);
      result.loads.forEach((load, d) => expect(load).toBeLessThanOrEqual((1 + epsilon) * ((capabilities[d] as number) / total) * csrNnz(matrix) + 1e-9));
      expect(result.loads.reduce((a, b) => a + b, 0)).toBe(csrNnz(matrix));
    }), { numRuns: 100 });
  });

  it('with load balancing, a heterogeneous random layer ends within (1 + ε) of the shares; without, it does not', () => {
    const matrix = randomSparse(200, 800, 0.05, 17);
    const capabilities = [5, 10, 3, 1];
    const total = capabilities.reduce((a, b) => a + b, 0);
    const worst = (loads: readonly number[]): number => Math.max(...loads.map((load, d) => load / (((capabilities[d] as number) / total) * csrNnz(matrix))));
    expect(worst(partitionFcMsccFgcp(matrix, capabilities, { seed: 1 }).loads)).toBeLessThanOrEqual(1.05 + 1e-9);
    expect(worst(partitionFcMsccFgcp(matrix, capabilities, { seed: 1, balanceLoads: false }).loads)).toBeGreaterThan(1.05);
  });

  it('load balancing never makes the most loaded device worse, and the product stays exact', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: 0.3, max: 3, noNaN: true }), { minLength: 2, maxLength: 5 }), fc.nat(10_000), (capabilities, seed) => {
      const matrix = randomSparse(80, 300, 0.05, seed);
      const balanced = partitionFcMsccFgcp(matrix, capabilities, { seed, epsilon: 0.1 });
      const unbalanced = partitionFcMsccFgcp(matrix, capabilities, { seed, epsilon: 0.1, balanceLoads: false });
      const total = capabilities.reduce((a, b) => a + b, 0);
      const worst = (loads: readonly number[]): number => Math.max(...loads.map((load, d) => load / (((capabilities[d] as number) / total) * csrNnz(matrix))));
      // Balancing can be blocked (every receiver full), but it never makes the worst device worse.
      expect(worst(balanced.loads)).toBeLessThanOrEqual(worst(unbalanced.loads) + 1e-9);
      expectProductEqual(matrix, balanced.workers, seed);
    }), { numRuns: 50 });
  });

  it('same matrix, capabilities and seed → the same partition', () => {
    const matrix = randomSparse(50, 80, 0.1, 5);
    const a = mscc(matrix, [2, 1, 1], { seed: 9 });
    const b = mscc(matrix, [2, 1, 1], { seed: 9 });
    expect([Array.from(a.colOwner), Array.from(a.rowOwner)]).toEqual([Array.from(b.colOwner), Array.from(b.rowOwner)]);
  });

  it('on a block matrix sends far less than the broadcast output split', () => {
    const { matrix } = plantedBlockMatrix(4, 200, 100, 0.05, 10, 11);
    const capabilities = [1, 1, 1, 1];
    const ours = fcTraffic(partitionFcMsccFgcp(matrix, capabilities, { seed: 1 }).workers);
    const broadcast = fcTraffic(partitionFcOutputSplit(matrix, capabilities).workers);
    expect(ours.totalBytes).toBeLessThan(broadcast.totalBytes / 2);
  });
});
