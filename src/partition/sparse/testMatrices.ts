import type { CsrMatrix } from '../../model/index.ts';
import { createRng, csrFromDense, permutation } from '../../model/index.ts';

/**
 * Test matrices shared by the sparse tests (not exported through index.ts).
 *
 * A planted block-diagonal matrix: `blocks` blocks of `blockRows × blockCols` filled at `density`
 * (every row and column gets at least one nonzero), rows and columns shuffled, plus `planted`
 * cross entries outside the blocks, each in a distinct row and column.
 */
export function plantedBlockMatrix(blocks: number, blockRows: number, blockCols: number, density: number, planted: number, seed: number): { matrix: CsrMatrix; rowBlock: Int32Array; colBlock: Int32Array } {
  const rng = createRng(seed);
  const rows = blocks * blockRows;
  const cols = blocks * blockCols;
  const rowPerm = permutation(rows, rng);
  const colPerm = permutation(cols, rng);
  const rowBlock = new Int32Array(rows);
  const colBlock = new Int32Array(cols);
  const dense = new Float32Array(rows * cols);
  const set = (r: number, c: number): void => { dense[(rowPerm[r] as number) * cols + (colPerm[c] as number)] = 0.5 + rng.next(); };
  for (let b = 0; b < blocks; b++) {
    for (let i = 0; i < blockRows; i++) rowBlock[rowPerm[b * blockRows + i] as number] = b;
    for (let j = 0; j < blockCols; j++) colBlock[colPerm[b * blockCols + j] as number] = b;
    for (let i = 0; i < blockRows; i++) {
      for (let j = 0; j < blockCols; j++) {
        if (rng.next() < density || i % blockCols === j || j % blockRows === i) set(b * blockRows + i, b * blockCols + j);
      }
    }
  }
  for (let p = 0; p < planted; p++) {
    const from = p % blocks;
    const to = (from + 1 + (p % (blocks - 1))) % blocks;
    set(from * blockRows + (p % blockRows), to * blockCols + ((p * 7) % blockCols));
  }
  return { matrix: csrFromDense(dense, rows, cols), rowBlock, colBlock };
}

/** A random sparse matrix with the given density. */
export function randomSparse(rows: number, cols: number, density: number, seed: number): CsrMatrix {
  const rng = createRng(seed);
  return csrFromDense(Float32Array.from({ length: rows * cols }, () => (rng.next() < density ? rng.normal() : 0)), rows, cols);
}
