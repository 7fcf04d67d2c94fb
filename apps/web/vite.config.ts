import { defineConfig } from 'vite';

/**
 * The worker imports the model, the client and the block format; `#sha256` resolves to the
 * browser (noble) implementation through the packages' import conditions. Cross-origin isolation
 * headers let onnxruntime-web use threads.
 */
const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'credentialless' };

export default defineConfig({
  worker: { format: 'es' },
  build: { target: 'es2022', sourcemap: true },
  server: { headers: isolation },
  preview: { headers: isolation },
});
