import { describe, expect, it } from 'vitest';
import { createRng, csrToDense } from '../../model/index.ts';
import { gram, symmetricEigen } from './denseLinalg.ts';
import { csrTimesColumns, randomizedSvd } from './randomizedSvd.ts';
import { randomSparse } from './testMatrices.ts';

describe('randomizedSvd', () => {
  it.each([
    ['30×20 density 0.3, rank 3', 30, 20, 0.3, 3],
    ['15×40 density 0.5, rank 4', 15, 40, 0.5, 4],
  ])('%s: singular values match the eigenvalues of AᵀA, and A·v = s·u', (_name, rows, cols, density, rank) => {
    const matrix = randomSparse(rows, cols, density, 7);
    const svd = randomizedSvd(matrix, rank, createRng(1), 10, 8);
    // Reference: exact eigenvalues of the dense Gram matrix AᵀA (n × n, small here).
    const dense = csrToDense(matrix);
    const columns = Array.from({ length: cols }, (_, c) => Float64Array.from({ length: rows }, (_, r) => dense[r * cols + c] as number));
    const exact = symmetricEigen(gram(columns, columns), cols).values.slice(0, rank).map((v) => Math.sqrt(v));
    svd.values.forEach((s, i) => expect(s).toBeCloseTo(exact[i] as number, 4));
    const av = csrTimesColumns(matrix, svd.right);
    av.forEach((column, i) => column.forEach((value, r) => expect(value).toBeCloseTo((svd.values[i] as number) * ((svd.left[i] as Float64Array)[r] as number), 4)));
  });
});
