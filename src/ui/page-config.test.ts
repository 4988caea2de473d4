import { describe, expect, it } from 'vitest';
import { readPageConfig } from './page-config.ts';

describe('readPageConfig', () => {
  it.each([
    ['', { chunkBytes: 65_536, probe: true, backend: null }],
    ['?chunkKiB=16', { chunkBytes: 16_384, probe: true, backend: null }],
    ['?chunkKiB=256&probe=0&backend=wasm', { chunkBytes: 262_080, probe: false, backend: 'wasm' }],
  ])('%s', (search, expected) => {
    expect(readPageConfig(search)).toEqual(expected);
  });

  it('keeps the default and says why for a malformed value', () => {
    const warnings: string[] = [];
    expect(readPageConfig('?chunkKiB=abc', (w) => warnings.push(w)).chunkBytes).toBe(65_536);
    expect(warnings).toEqual(['modnn-web: ignoring chunkKiB=abc: give an integer 1–256.']);
  });
});
