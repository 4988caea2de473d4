/**
 * The little dense linear algebra co-clustering needs: tall matrices stored as arrays of columns
 * (Float64Array each), Gram–Schmidt and a Jacobi eigensolver for r × r symmetric matrices (r is
 * the SVD rank plus oversampling, about 10), so nothing here is ever n_in × n_out.
 */

/** A tall matrix as its columns. */
export type Columns = Float64Array[];

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}

/**
 * Orthonormalises columns in place (modified Gram–Schmidt, applied twice for stability). A column
 * that collapses to zero stays zero, which only lowers the rank found.
 */
export function orthonormalize(columns: Columns): Columns {
  for (let pass = 0; pass < 2; pass++) {
    for (let j = 0; j < columns.length; j++) {
      const column = columns[j] as Float64Array;
      for (let i = 0; i < j; i++) {
        const previous = columns[i] as Float64Array;
        const projection = dot(previous, column);
        for (let t = 0; t < column.length; t++) column[t] = (column[t] as number) - projection * (previous[t] as number);
      }
      const norm = Math.sqrt(dot(column, column));
      const scale = norm > 1e-12 ? 1 / norm : 0;
      for (let t = 0; t < column.length; t++) column[t] = (column[t] as number) * scale;
    }
  }
  return columns;
}

/** Gram matrix Aᵀ·B of two column sets with the same height (r × r, row-major). */
export function gram(a: Columns, b: Columns): Float64Array {
  const result = new Float64Array(a.length * b.length);
  a.forEach((ai, i) => b.forEach((bj, j) => { result[i * b.length + j] = dot(ai, bj); }));
  return result;
}

/**
 * Eigen-decomposition of a symmetric r × r matrix (row-major) by cyclic Jacobi rotations.
 * Returns eigenvalues in descending order and the matching eigenvectors as columns.
 */
export function symmetricEigen(matrix: Float64Array, size: number): { values: number[]; vectors: Columns } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(size * size);
  for (let i = 0; i < size; i++) v[i * size + i] = 1;
  const at = (i: number, j: number): number => a[i * size + j] as number;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < size; p++) for (let q = p + 1; q < size; q++) off += at(p, q) ** 2;
    if (off < 1e-24) break;
    for (let p = 0; p < size; p++) {
      for (let q = p + 1; q < size; q++) {
        const apq = at(p, q);
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (at(q, q) - at(p, p)) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < size; k++) {
          const akp = at(k, p);
          const akq = at(k, q);
          a[k * size + p] = c * akp - s * akq;
          a[k * size + q] = s * akp + c * akq;
        }
        for (let k = 0; k < size; k++) {
          const apk = at(p, k);
          const aqk = at(q, k);
          a[p * size + k] = c * apk - s * aqk;
          a[q * size + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < size; k++) {
          const vkp = v[k * size + p] as number;
          const vkq = v[k * size + q] as number;
          v[k * size + p] = c * vkp - s * vkq;
          v[k * size + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: size }, (_, i) => i).sort((i, j) => at(j, j) - at(i, i) || i - j);
  return {
    values: order.map((i) => at(i, i)),
    vectors: order.map((i) => Float64Array.from({ length: size }, (_, k) => v[k * size + i] as number)),
  };
}
