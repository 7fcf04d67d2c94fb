/**
 * Starts a real relay for the browser tests and benchmarks:
 * `tsx apps/web/e2e/start-relay.ts STORE_DIR [CHECKPOINT] [--corpus] [SERVE_OPTION...]`. An empty
 * store is seeded from CHECKPOINT, else a small random model (so SwiftShader and the CPU reference
 * stay quick; with --corpus, its tokenizer and split hashes are the corpus's, so the relay can
 * assign shards and judge contributions); other options go to `blyan serve`; prints
 * `{"url": ...}` on one line once it listens, and stops on SIGTERM.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { serve } from '../../../relay/src/cli/serve.ts';
import { corpusDocs } from '../../../relay/src/corpus.ts';
import { corpusCheckpoint, randomCheckpoint } from '../../../relay/src/random-checkpoint.ts';
import { E2E_MODEL } from './relay-process.ts';

const [dir, ...args] = process.argv.slice(2);
if (!dir) throw new Error('usage: tsx apps/web/e2e/start-relay.ts STORE_DIR [CHECKPOINT] [--corpus] [SERVE_OPTION...]');
await mkdir(dir, { recursive: true });
const corpus = args.includes('--corpus');
const options = args.filter((a) => a !== '--corpus');
const checkpoint = options[0] !== undefined && !options[0].startsWith('--') ? options.shift()! : join(dir, 'checkpoint.tensors');
if (!existsSync(checkpoint)) await writeFile(checkpoint, corpus ? corpusCheckpoint(E2E_MODEL, 7, corpusDocs) : randomCheckpoint(E2E_MODEL, 7));
const running = await serve(['--store', join(dir, 'store'), '--port', '0', '--checkpoint', checkpoint, ...options], (line) => console.error(line));
console.log(JSON.stringify({ url: running.url }));
process.once('SIGTERM', () => void running.close().then(() => process.exit(0)));
