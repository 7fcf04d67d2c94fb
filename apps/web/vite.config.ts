import { type Plugin, defineConfig } from 'vite';

/** Emits shell.json, every file of the build, for the service worker to keep for offline starts. */
const shellList = (): Plugin => ({
  name: 'blyan-shell-list',
  apply: 'build',
  generateBundle(_, bundle) {
    const files = Object.keys(bundle).filter((f) => !f.endsWith('.map'));
    this.emitFile({ type: 'asset', fileName: 'shell.json', source: JSON.stringify(files.map((f) => `/${f}`)) });
  },
});

/**
 * The worker imports the model, the client and the block format; `#sha256` resolves to the
 * browser (noble) implementation through the packages' import conditions. Cross-origin isolation
 * headers let onnxruntime-web use threads.
 */
const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'credentialless' };

/** The relay the dev and preview servers forward the API to, so the page reaches it same-origin. */
const relayProxy = { '/v1': process.env.BLYAN_RELAY ?? 'http://127.0.0.1:8787' };

export default defineConfig({
  plugins: [shellList()],
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    sourcemap: true,
    // bench.html: measurements for apps/web/bench/browser.ts, on the app's origin and code.
    rollupOptions: { input: { main: 'index.html', bench: 'bench.html' } },
  },
  server: { headers: isolation, proxy: relayProxy },
  preview: { headers: isolation, proxy: relayProxy },
});
