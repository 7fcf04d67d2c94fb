import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ModelConfig } from '@blyan/model';
import { ROOT } from './paths.ts';

/** The small random model start-relay.ts seeds an empty store with (so SwiftShader and the CPU reference stay quick). */
export const E2E_MODEL: ModelConfig = {
  vocabSize: 320,
  dModel: 64,
  nLayers: 3,
  nHeads: 4,
  nExperts: 8,
  topK: 2,
  // 3 · 384 · 64 int8 weights: each expert block is two 64 KiB tiles, so streaming verification crosses tiles.
  dFF: 384,
  contextLength: 128,
  ropeTheta: 10000,
  normEps: 1e-5,
  auxLossCoef: 0.01,
};

export interface RelayProcess {
  url: string;
  dir: string;
  /** Its genesis meta block hash (its meta head when it started): the pin of an app built for its network. */
  genesis: string;
  /** The signed genesis headers (meta first) its founding wrote to its store's genesis.json: what an app built for its network ships. */
  genesisHeaders(): Promise<unknown[]>;
  stop(): Promise<void>;
  /** Publishes a new version of an expert slot, signed by its network's authority (see publish-expert.ts); resolves to its hash. */
  publishExpert(slot: string): Promise<string>;
}

/** `tsx ARGS...` in the repository root, stdout and stderr piped. */
export function spawnTsx(args: string[]): ChildProcess {
  return spawn(join(ROOT, 'node_modules/.bin/tsx'), args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** What `pick` makes of the first stdout line it accepts (not undefined); rejects with the stderr if `child` exits first. */
export function awaitLine<T>(child: ChildProcess, what: string, pick: (line: string) => T | undefined): Promise<T> {
  const lines = createInterface({ input: child.stdout! });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const onLine = (line: string) => {
      const picked = pick(line);
      if (picked === undefined) return;
      lines.off('line', onLine);
      resolve(picked);
    };
    lines.on('line', onLine);
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}: ${stderr}`)));
  });
}

/** Sends SIGTERM and resolves once `child` exited. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

const firstJsonLine = (child: ChildProcess, what: string) => awaitLine(child, what, (line) => JSON.parse(line) as Record<string, string>);

/**
 * A real relay in its own process on a temp store, seeded from `checkpoint`, else the small e2e
 * model; `options` go to start-relay.ts (`--corpus`, `blyan serve` options such as `--origin`).
 */
export async function startRelay(checkpoint?: string, options: string[] = []): Promise<RelayProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'blyan-e2e-'));
  const child = spawnTsx(['apps/web/e2e/start-relay.ts', dir, ...(checkpoint ? [checkpoint] : []), ...options]);
  const { url } = await firstJsonLine(child, 'the relay');
  const { meta_head: genesis } = (await (await fetch(`${url}/v1/heads`)).json()) as { meta_head: string };
  return {
    url: url!,
    dir,
    genesis,
    genesisHeaders: async () => (JSON.parse(await readFile(join(dir, 'store', 'genesis.json'), 'utf8')) as { headers: unknown[] }).headers,
    async stop() {
      await stopProcess(child);
      await rm(dir, { recursive: true, force: true });
    },
    async publishExpert(slot) {
      return (await firstJsonLine(spawnTsx(['apps/web/e2e/publish-expert.ts', url!, slot, join(dir, 'store', 'genesis.key')]), 'publish-expert')).hash!;
    },
  };
}
