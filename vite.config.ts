import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    target: 'es2022',
    sourcemap: true,
    // TF.js is about 1.2 MB minified: it gets its own chunk (cached apart from the app's code,
    // which changes more often), and the warning limit is raised for it knowingly.
    chunkSizeWarningLimit: 1_600,
    rolldownOptions: {
      output: {
        advancedChunks: { groups: [{ name: 'tfjs', test: /node_modules[\\/]@tensorflow/ }] },
      },
    },
  },
  server: { host: '127.0.0.1' },
});
