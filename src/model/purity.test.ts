import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Source files (not tests) under a folder. */
function sources(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('layer purity (DESIGN.md)', () => {
  it('model/ imports TF.js only as types, so partition/ (which imports model/) never loads it', () => {
    const files = sources(import.meta.dirname);
    expect(files.length).toBeGreaterThan(10);
    const offenders = files.flatMap((file) => readFileSync(file, 'utf8').split('\n')
      .filter((line) => /^import (?!type ).*['"]@tensorflow\//.test(line))
      .map((line) => `${file}: ${line}`));
    expect(offenders).toEqual([]);
  });
});
