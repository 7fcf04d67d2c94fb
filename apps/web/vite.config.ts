import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Plugin, defineConfig } from 'vite';

const COMMITTED_GENESIS = fileURLToPath(new URL('../../public/genesis-v2/genesis.json', import.meta.url));
const HASH = /^[0-9a-f]{64}$/;

/**
 * The genesis meta block hash the app trusts: BLYAN_GENESIS_PIN (a separately founded network), else
 * the `meta` of the committed canonical public/genesis-v2/genesis.json. A build without one fails: an app that
 * trusts whatever relay it talks to cannot be built.
 */
function genesisPin(): string {
  if (process.env.BLYAN_GENESIS_PIN === undefined && !existsSync(COMMITTED_GENESIS)) throw new Error(`no genesis pin: ${COMMITTED_GENESIS} is missing and BLYAN_GENESIS_PIN is not set`);
  const pin = process.env.BLYAN_GENESIS_PIN ?? (JSON.parse(readFileSync(COMMITTED_GENESIS, 'utf8')) as { meta?: unknown }).meta;
  if (typeof pin !== 'string' || !HASH.test(pin)) throw new Error(`the genesis pin must be a block hash (64 lowercase hex), got ${JSON.stringify(pin)} from ${process.env.BLYAN_GENESIS_PIN === undefined ? COMMITTED_GENESIS : 'BLYAN_GENESIS_PIN'}`);
  return pin;
}

/** The signed genesis headers of the committed genesis.json (meta first). */
const committedHeaders = (): unknown => (JSON.parse(readFileSync(COMMITTED_GENESIS, 'utf8')) as { headers?: unknown }).headers;

/**
 * Writes genesis.json into the build and serves it in dev: the page reads its pin from its own
 * origin, never from the relay. For the committed genesis it is { meta, headers } (the signed
 * genesis headers, which the page hashes against the pin instead of fetching and verifying them);
 * for BLYAN_GENESIS_PIN, { meta } alone.
 */
const genesisFile = (): Plugin => {
  const source = () => JSON.stringify(process.env.BLYAN_GENESIS_PIN === undefined ? { meta: genesisPin(), headers: committedHeaders() } : { meta: genesisPin() });
  return {
    name: 'blyan-genesis-pin',
    configureServer(server) {
      server.middlewares.use('/genesis.json', (_req, res) => res.setHeader('Content-Type', 'application/json').end(source()));
    },
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: 'genesis.json', source: source() });
    },
  };
};

type Bundle = Parameters<NonNullable<Extract<Plugin['generateBundle'], (...a: never[]) => unknown>>>[1];

/** The files that loading the chunks `roots` loads, directly or not: chunks, and the assets they import. */
function reachable(bundle: Bundle, roots: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    const c = bundle[file];
    if (seen.has(file) || c?.type !== 'chunk') return;
    seen.add(file);
    for (const asset of c.viteMetadata?.importedAssets ?? []) seen.add(asset);
    for (const next of [...c.imports, ...c.dynamicImports]) visit(next);
  };
  roots.forEach(visit);
  return seen;
}

/**
 * Emits shell.json, every file of the build but those only the engine comparison page loads (its
 * onnxruntime-web WebGPU bundle and wasm), for the service worker to keep for offline starts.
 */
const shellList = (): Plugin => ({
  name: 'blyan-shell-list',
  apply: 'build',
  generateBundle(_, bundle) {
    const entries = Object.values(bundle).flatMap((c) => (c.type === 'chunk' && c.isEntry ? [c] : []));
    const app = reachable(bundle, entries.filter((c) => c.name !== 'compare').map((c) => c.fileName));
    // The comparison page's own chunk and what it loads on demand (the WebGPU bundle and its wasm).
    const compare = entries.filter((c) => c.name === 'compare');
    const compareOnly = [...compare.map((c) => c.fileName), ...reachable(bundle, compare.flatMap((c) => c.dynamicImports))].filter((f) => !app.has(f));
    const files = Object.keys(bundle).filter((f) => !f.endsWith('.map') && !compareOnly.includes(f));
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
  // genesisFile first: shellList lists what the bundle holds when it runs.
  plugins: [genesisFile(), shellList()],
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    sourcemap: true,
    // bench.html: measurements for apps/web/bench/browser.ts, on the app's origin and code; compare.html: apps/web/bench/ort-compare.ts.
    rollupOptions: { input: { main: 'index.html', bench: 'bench.html', compare: 'compare.html' } },
  },
  server: { headers: isolation, proxy: relayProxy },
  preview: { headers: isolation, proxy: relayProxy },
});
