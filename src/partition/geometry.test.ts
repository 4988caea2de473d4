import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lowerModelJson } from '../model/index.ts';
import { backProjectAxis, rangeLength } from './geometry.ts';
import { sliceBlock } from './spatialSlices.ts';
import { gridTiling } from './tilings.ts';

/** The DeepThings test vector (ALGORITHMS.md §5): one 3×3 stride-1 'same' layer, 6×6 map, 2×2 grid. */
function deepThingsGraph() {
  return lowerModelJson({
    class_name: 'Model',
    config: {
      name: 'deepthings',
      layers: [
        { name: 'in', class_name: 'InputLayer', config: { batch_input_shape: [null, 6, 6, 1] }, inbound_nodes: [] },
        { name: 'conv', class_name: 'Conv2D', config: { filters: 1, kernel_size: 3, padding: 'same' }, inbound_nodes: [[['in', 0, 0, {}]]] },
      ],
      input_layers: [['in', 0, 0]],
      output_layers: [['conv', 0, 0]],
    },
  });
}

describe('back-projection', () => {
  it.each([
    ['rows 3..5 → input 2..5 (bottom border padding 1)', { start: 3, end: 5 }, { range: { start: 2, end: 5 }, padBefore: 0, padAfter: 1 }],
    ['rows 0..2 → input 0..3 (top border padding 1)', { start: 0, end: 2 }, { range: { start: 0, end: 3 }, padBefore: 1, padAfter: 0 }],
  ])('DeepThings 3×3 s=1 p=1 over 6: %s', (_name, output, expected) => {
    expect(backProjectAxis(output, { kernel: 3, stride: 1, dilation: 1, padBefore: 1 }, 6)).toEqual(expected);
  });

  it('DeepThings 2×2 grid: tile rows 3..5 cols 0..2 needs rows 2..5 cols 0..3; rows 0..2 cols 3..5 needs rows 0..3 cols 2..5', () => {
    const slices = sliceBlock(deepThingsGraph(), [1], gridTiling([6, 6], 2, 2, 4));
    const needs = slices.map((s) => [s.tile, s.inputs[0]?.rect]);
    expect(needs).toContainEqual([{ rows: { start: 3, end: 5 }, cols: { start: 0, end: 2 } }, { rows: { start: 2, end: 5 }, cols: { start: 0, end: 3 } }]);
    expect(needs).toContainEqual([{ rows: { start: 0, end: 2 }, cols: { start: 3, end: 5 } }, { rows: { start: 0, end: 3 }, cols: { start: 2, end: 5 } }]);
  });

  it('i1 = o1·S − p and i2 = o2·S − p + D·(K − 1), clamped, with the rest as border padding', () => {
    const window = fc.record({ kernel: fc.integer({ min: 1, max: 7 }), stride: fc.integer({ min: 1, max: 3 }), dilation: fc.integer({ min: 1, max: 2 }), padBefore: fc.nat(4) });
    fc.assert(fc.property(window, fc.integer({ min: 1, max: 40 }), fc.nat(40), fc.nat(10), (w, inputSize, o1, span) => {
      const output = { start: o1, end: o1 + span };
      const p = backProjectAxis(output, w, inputSize);
      const first = o1 * w.stride - w.padBefore;
      const last = (o1 + span) * w.stride - w.padBefore + w.dilation * (w.kernel - 1);
      // What the device holds, padding included, is exactly the window's reach.
      expect(p.padBefore + rangeLength(p.range) + p.padAfter).toBe(last - first + 1);
      expect(p.range.start).toBeGreaterThanOrEqual(0);
      expect(p.range.end).toBeLessThanOrEqual(inputSize - 1);
      if (rangeLength(p.range) > 0) expect([p.range.start - p.padBefore, p.range.end + p.padAfter]).toEqual([first, last]);
    }), { numRuns: 300 });
  });
});
