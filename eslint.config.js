// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Layers (../shared/DESIGN.md): each imports others only through their index.ts. */
const layers = ['mesh', 'model', 'partition', 'compute', 'runtime', 'ui'];
const deepImportPatterns = [{
  regex: `^\\.\\.?/(?:.*/)?(?:${layers.join('|')})/(?!index\\.ts$).+\\.ts$`,
  message: 'Import another layer through its index.ts only (src/<layer>/index.ts).',
}];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'test-results/', 'playwright-report/', 'bench/results/', '.device/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  {
    // Cross-layer imports go through the layer's index.ts.
    files: ['src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: deepImportPatterns }] },
  },
  // Each layer uses only the layers below it (DESIGN.md): ui > runtime > partition > compute > model > mesh.
  ...Object.entries({
    mesh: ['model', 'partition', 'compute', 'runtime', 'ui'],
    model: ['partition', 'compute', 'runtime', 'ui', 'mesh'],
    compute: ['partition', 'runtime', 'ui', 'mesh'],
    partition: ['compute', 'runtime', 'ui', 'mesh'],
    runtime: ['ui'],
  }).map(([layer, above]) => ({
    files: [`src/${layer}/**/*.ts`],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          ...deepImportPatterns,
          { regex: `^\\.\\.?/(?:.*/)?(?:${above.join('|')})/`, message: `${layer}/ may not use ${above.join(', ')}: see the layering in DESIGN.md.` },
          ...(layer === 'partition' ? [{ group: ['@tensorflow/*'], message: 'partition/ is pure planning code: no TF.js.' }] : []),
        ],
      }],
    },
  })),
  {
    files: ['signaling/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts', 'e2e/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
);
