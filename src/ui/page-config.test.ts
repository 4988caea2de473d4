import { describe, expect, it } from 'vitest';
import { readPageConfig } from './page-config.ts';

describe('readPageConfig', () => {
  it.each([
    ['', { chunkBytes: 65_536, probe: true, backend: null, relay: 'auto', relayAfterMs: 6_000 }],
    ['?chunkKiB=16', { chunkBytes: 16_384, probe: true, backend: null, relay: 'auto', relayAfterMs: 6_000 }],
    ['?chunkKiB=256&probe=0&backend=wasm', { chunkBytes: 262_080, probe: false, backend: 'wasm', relay: 'auto', relayAfterMs: 6_000 }],
    ['?relay=force', { chunkBytes: 65_536, probe: true, backend: null, relay: 'force', relayAfterMs: 6_000 }],
    ['?relay=off&relayAfterMs=2500', { chunkBytes: 65_536, probe: true, backend: null, relay: 'off', relayAfterMs: 2_500 }],
  ])('%s', (search, expected) => {
    expect(readPageConfig(search)).toEqual(expected);
  });

  it('keeps the default and says why for a malformed value', () => {
    const warnings: string[] = [];
    expect(readPageConfig('?chunkKiB=abc', (w) => warnings.push(w)).chunkBytes).toBe(65_536);
    expect(warnings).toEqual(['modnn-web: ignoring chunkKiB=abc: give an integer 1–256.']);
    expect(readPageConfig('?relay=sometimes&relayAfterMs=10', (w) => warnings.push(w))).toMatchObject({ relay: 'auto', relayAfterMs: 6_000 });
    expect(warnings.slice(1)).toEqual(['modnn-web: ignoring relay=sometimes: give one of auto, force, off.', 'modnn-web: ignoring relayAfterMs=10: give an integer 500–60000.']);
  });
});
