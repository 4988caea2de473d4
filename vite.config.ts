import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

/** The app's colours (src/ui/style.css and the theme-color in index.html). */
const THEME_COLOR = '#12324a';
const BACKGROUND_COLOR = '#f4f7fa';

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
  plugins: [
    VitePWA({
      // A new version waits until the user says so (src/ui/pwa.ts registers it with workbox-window
      // and shows the prompt): a worker phone in the middle of a run is never reloaded under it.
      registerType: 'prompt',
      injectRegister: false,
      // Never in `vite dev` (the default, stated): a service worker there only serves stale modules.
      devOptions: { enabled: false },
      manifest: {
        name: 'modnn-web — pool your phones for faster AI',
        short_name: 'modnn',
        description: 'Pool the phones in a room to classify an image faster: WebRTC and TensorFlow.js, nothing to install.',
        lang: 'en',
        id: './',
        start_url: './',
        scope: './',
        display: 'standalone',
        theme_color: THEME_COLOR,
        background_color: BACKGROUND_COLOR,
        // Made from public/favicon.svg by `npx tsx scripts/make-icons.ts`.
        icons: [
          { src: 'icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: 'icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          { src: 'icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      workbox: {
        // The app shell, TF.js's WASM binaries (without them the WASM backend breaks offline) and
        // the built-in models with their weights and labels. Source maps stay out. The plugin
        // adds manifest.webmanifest itself; the icons come with the png pattern.
        globPatterns: ['**/*.{html,js,css,svg,png,wasm}', 'models/**/*.{json,bin}'],
        // Raised knowingly from the default 2 MiB: the TF.js chunk is ~1.5 MB, the WASM files
        // ~0.4 MB each, the clothing model's weights.bin ~3.8 MB. A file over this limit would be
        // left out of the precache with only a build warning (and break offline), so keep headroom;
        // the whole precache is ~6.7 MB, downloaded once per device.
        maximumFileSizeToCacheInBytes: 8 * 1024 * 1024,
        // The app routes by URL fragment: every navigation gets the shell, offline too...
        navigateFallback: 'index.html',
        // ...except the signaling endpoint (a WebSocket never reaches a service worker, but a
        // typed-in /signal must not show the app) and files (a missing one stays a 404).
        navigateFallbackDenylist: [/^\/signal(?:[/?#]|$)/, /\/[^/?#]+\.[^/?#]+$/],
        // Only precached GETs of our own files are answered; no runtime caching of anything else.
        runtimeCaching: [],
        // A new version waits (no skipWaiting, no clientsClaim) until the prompt's Reload sends
        // SKIP_WAITING; when it activates, the old version's files are dropped.
        skipWaiting: false,
        clientsClaim: false,
        cleanupOutdatedCaches: true,
        sourcemap: false,
      },
      // Listed by the png pattern already: adding them again would only duplicate entries.
      includeManifestIcons: false,
    }),
  ],
});
