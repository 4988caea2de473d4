import type { CsrMatrix } from '../../model/index.ts';
import { csrNnz } from '../../model/index.ts';
import type { FcWorkerSlice } from './fcSlice.ts';

/**
 * Builds every device's slice from the device that computes each nonzero (`deviceOfNonzero`, in
 * CSR order), in two linear passes with typed arrays: fc6 has 4·10⁶ nonzeros. Local rows and
 * columns keep the global order, so each local CSR comes out sorted.
 *
 * @param broadcastInputs when true every device receives all of x (the output-split baseline), so
 *   its local rows are all n_in rows.
 */
export function slicesFromAssignment(matrix: CsrMatrix, deviceOfNonzero: Int32Array, devices: number, broadcastInputs = false): FcWorkerSlice[] {
  const { rows, cols, rowPtr, colIdx, values } = matrix;
  const slices: FcWorkerSlice[] = [];
  const usesRow = new Uint8Array(rows);
  const localCol = new Int32Array(cols);
  for (let device = 0; device < devices; device++) {
    usesRow.fill(0);
    localCol.fill(-1);
    let count = 0;
    for (let r = 0; r < rows; r++) {
      for (let t = rowPtr[r] as number; t < (rowPtr[r + 1] as number); t++) {
        if (deviceOfNonzero[t] !== device) continue;
        usesRow[r] = 1;
        localCol[colIdx[t] as number] = 0;
        count++;
      }
    }
    const inputIndex = broadcastInputs && count > 0
      ? Int32Array.from({ length: rows }, (_, r) => r)
      : Int32Array.from(indicesWhere(usesRow));
    const outputList: number[] = [];
    for (let c = 0; c < cols; c++) {
      if (localCol[c] === 0) {
        localCol[c] = outputList.length;
        outputList.push(c);
      }
    }
    const localRowPtr = new Int32Array(inputIndex.length + 1);
    const localColIdx = new Int32Array(count);
    const localValues = new Float32Array(count);
    let k = 0;
    inputIndex.forEach((r, local) => {
      for (let t = rowPtr[r] as number; t < (rowPtr[r + 1] as number); t++) {
        if (deviceOfNonzero[t] !== device) continue;
        localColIdx[k] = localCol[colIdx[t] as number] as number;
        localValues[k] = values[t] as number;
        k++;
      }
      localRowPtr[local + 1] = k;
    });
    slices.push({
      device,
      inputIndex,
      outputIndex: Int32Array.from(outputList),
      weights: { rows: inputIndex.length, cols: outputList.length, rowPtr: localRowPtr, colIdx: localColIdx, values: localValues },
    });
  }
  return slices;
}

function indicesWhere(flags: Uint8Array): number[] {
  const indices: number[] = [];
  flags.forEach((flag, i) => { if (flag === 1) indices.push(i); });
  return indices;
}

/** Nonzeros per column. */
export function columnCounts(matrix: CsrMatrix): Int32Array {
  const counts = new Int32Array(matrix.cols);
  for (let t = 0; t < csrNnz(matrix); t++) {
    const c = matrix.colIdx[t] as number;
    counts[c] = (counts[c] as number) + 1;
  }
  return counts;
}
