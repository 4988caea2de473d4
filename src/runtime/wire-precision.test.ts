import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHalf, packActivation, quantisationError, toHalf, unpackActivation } from './wire-precision.ts';

describe('half floats', () => {
  it('encodes known values bit for bit', () => {
    expect(toHalf(1)).toBe(0x3c00);
    expect(toHalf(-2)).toBe(0xc000);
    expect(toHalf(0.1)).toBe(0x2e66);
    expect(toHalf(65504)).toBe(0x7bff);
    expect(toHalf(2 ** -24)).toBe(0x0001);
    expect(toHalf(2 ** -26)).toBe(0);
    expect(toHalf(-0)).toBe(0x8000);
  });

  it('rounds ties to even, and saturates instead of overflowing to infinity', () => {
    expect(toHalf(1 + 2 ** -11)).toBe(0x3c00);
    expect(toHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(toHalf(65520)).toBe(0x7bff);
    expect(toHalf(1e9)).toBe(0x7bff);
    expect(toHalf(Number.NEGATIVE_INFINITY)).toBe(0xfbff);
    expect(Number.isNaN(fromHalf(toHalf(Number.NaN)))).toBe(true);
  });

  it('round-trips every finite half exactly', () => {
    const wrong: number[] = [];
    for (let bits = 0; bits < 0x10000; bits++) {
      if ((bits & 0x7c00) !== 0x7c00 && toHalf(fromHalf(bits)) !== bits) wrong.push(bits);
    }
    expect(wrong).toEqual([]);
  });

  it('stays within half an ulp of any float in range', () => {
    fc.assert(
      fc.property(fc.float({ min: -60000, max: 60000, noNaN: true }), (x) => {
        const back = fromHalf(toHalf(x));
        expect(Math.abs(back - x)).toBeLessThanOrEqual(Math.max(Math.abs(x) * 2 ** -11, 2 ** -25));
      }),
      { numRuns: 2000, seed: 9 },
    );
  });
});

describe('packed activations', () => {
  const values = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => Math.sin(i) * 7 + 3);
  const shape = [2, 3, 4];

  it('float32 passes the values through unchanged', () => {
    const { tensor, encoding } = packActivation(values, shape, 'float32');
    expect(tensor.data.byteLength).toBe(values.byteLength);
    expect(unpackActivation(tensor, encoding, shape)).toEqual(values);
  });

  for (const precision of ['float16', 'int8'] as const) {
    it(`${precision} uses ${precision === 'float16' ? 2 : 1} bytes a value within its stated error`, () => {
      const { tensor, encoding } = packActivation(values, shape, precision);
      expect(tensor.data.byteLength).toBe(values.length * (precision === 'float16' ? 2 : 1));
      const back = unpackActivation(tensor, encoding, shape);
      const maxAbs = Math.max(...values.map(Math.abs));
      const range = Math.max(...values) - Math.min(...values);
      const bound = quantisationError(precision, maxAbs, range);
      for (let i = 0; i < values.length; i++) expect(Math.abs((back[i] as number) - (values[i] as number))).toBeLessThanOrEqual(bound);
    });
  }

  it('8-bit keeps a constant tensor exact', () => {
    const flat = new Float32Array(6).fill(2.5);
    const { tensor, encoding } = packActivation(flat, [6], 'int8');
    expect(unpackActivation(tensor, encoding, [6])).toEqual(flat);
  });

  it("refuses a peer's tensor whose size, dtype or scale does not match", () => {
    const half = packActivation(values, shape, 'float16');
    expect(() => unpackActivation(half.tensor, half.encoding, [2, 3, 5])).toThrow(/expected a float16 tensor/);
    expect(() => unpackActivation(half.tensor, { precision: 'int8', scale: 1, offset: 0 }, shape)).toThrow(/expected a int8 tensor/);
    const eight = packActivation(values, shape, 'int8');
    expect(() => unpackActivation(eight.tensor, { precision: 'int8', scale: Number.NaN, offset: 0 }, shape)).toThrow(/finite positive scale/);
    expect(() => unpackActivation(eight.tensor, { precision: 'int8' }, shape)).toThrow(/finite positive scale/);
    expect(() => unpackActivation(undefined, { precision: 'float32' }, shape)).toThrow(/got none/);
  });
});
