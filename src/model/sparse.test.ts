import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRng } from './rng.ts';
import { csrFromDense, csrNnz, csrToDense, csrTranspose, csrVecMul, magnitudePrune, prunedUniformCsr } from './sparse.ts';

const denseMatrix = fc.record({ rows: fc.integer({ min: 1, max: 12 }), cols: fc.integer({ min: 1, max: 12 }), seed: fc.nat() })
  .map(({ rows, cols, seed }) => {
    const rng = createRng(seed);
    return { rows, cols, values: Array.from({ length: rows * cols }, () => (rng.next() < 0.4 ? rng.normal() : 0)) };
  });

describe('CSR helpers', () => {
  it('round-trip dense → CSR → dense', () => {
    fc.assert(fc.property(denseMatrix, ({ rows, cols, values }) => {
      expect(Array.from(csrToDense(csrFromDense(values, rows, cols)))).toEqual(Array.from(Float32Array.from(values)));
    }));
  });

  it('transpose is the transpose', () => {
    fc.assert(fc.property(denseMatrix, ({ rows, cols, values }) => {
      const t = csrToDense(csrTranspose(csrFromDense(values, rows, cols)));
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) expect(t[c * rows + r]).toBe(Math.fround(values[r * cols + c] as number));
    }));
  });

  it('x · W equals the dense product', () => {
    fc.assert(fc.property(denseMatrix, ({ rows, cols, values }) => {
      const x = Array.from({ length: rows }, (_, i) => i - rows / 2);
      const y = csrVecMul(x, csrFromDense(values, rows, cols));
      for (let c = 0; c < cols; c++) {
        const expected = x.reduce((sum, xi, r) => sum + xi * Math.fround(values[r * cols + c] as number), 0);
        expect(y[c]).toBeCloseTo(expected, 9);
      }
    }));
  });
});

describe('magnitudePrune', () => {
  it.each([
    ['density=0.25 of 8 values keeps the 2 largest |w|', [0.1, -0.9, 0.3, 0.2, -0.05, 0.8, 0, 0.4], 0.25, [0, -0.9, 0, 0, 0, 0.8, 0, 0]],
    ['density=0.5 ties keep the earlier index', [1, -1, 1, -1], 0.5, [1, -1, 0, 0]],
  ])('%s', (_name, values, density, expected) => {
    expect(Array.from(csrToDense(magnitudePrune(values, 2, values.length / 2, density)))).toEqual(expected.map(Math.fround));
  });

  it('prunedUniformCsr (streaming, O(nnz) memory) == magnitudePrune of the same draws', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.double({ min: 0.01, max: 1, noNaN: true }), fc.nat(), (rows, cols, density, seed) => {
      const rng = createRng(seed);
      const dense = Array.from({ length: rows * cols }, () => (2 * rng.next() - 1) * 0.3);
      const streamed = prunedUniformCsr(rows, cols, density, 0.3, seed);
      const reference = magnitudePrune(dense, rows, cols, density);
      expect(csrNnz(streamed)).toBe(csrNnz(reference));
      expect(Array.from(csrToDense(streamed))).toEqual(Array.from(csrToDense(reference)));
    }), { numRuns: 100 });
  });
});
