import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');

export interface RelayProcess {
  url: string;
  dir: string;
  stop(): Promise<void>;
  /** Publishes a new version of an expert slot (see publish-expert.ts); resolves to its hash. */
  publishExpert(slot: string): Promise<string>;
}

async function firstJsonLine(child: ChildProcess, what: string): Promise<Record<string, string>> {
  const lines = createInterface({ input: child.stdout! });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    lines.once('line', (line) => resolve(JSON.parse(line) as Record<string, string>));
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}: ${stderr}`)));
  });
}

/**
 * A real relay in its own process on a temp store, seeded from `checkpoint`, else the small e2e
 * model; `options` go to start-relay.ts (`--corpus`, `blyan serve` options such as `--origin`).
 */
export async function startRelay(checkpoint?: string, options: string[] = []): Promise<RelayProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'blyan-e2e-'));
  const child = spawn(TSX, [join(HERE, 'start-relay.ts'), dir, ...(checkpoint ? [checkpoint] : []), ...options], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const { url } = await firstJsonLine(child, 'the relay');
  return {
    url: url!,
    dir,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
    async publishExpert(slot) {
      const p = spawn(TSX, [join(HERE, 'publish-expert.ts'), url!, slot], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      return (await firstJsonLine(p, 'publish-expert')).hash!;
    },
  };
}
