import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export const BIN = join(import.meta.dirname, '..', 'bin', 'blyan.mjs');

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/**
 * Spawns `blyan serve` on `store` with an OS-chosen port (and `env` added to this process's
 * environment); resolves once it is listening. The child is pushed to `children` for cleanup.
 */
export async function startServe(children: ChildProcess[], store: string, extra: string[] = [], env: Record<string, string> = {}): Promise<ServeProcess> {
  const { child, match, output } = await startBlyan(children, ['serve', '--store', store, '--port', '0', ...extra], /listening on (http:\/\/\S+)/, env);
  return { child, url: match, output };
}

/** Spawns `blyan worker` on `store` (its own folder) with `extra` options; resolves once it is taking jobs, with its name in the queue. */
export async function startWorker(children: ChildProcess[], store: string, extra: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; name: string }> {
  const { child, match } = await startBlyan(children, ['worker', '--store', store, ...extra], /blyan worker (\S+) judging/, env);
  return { child, name: match };
}

/** Spawns `blyan <args>`; resolves with the first group of `ready` once the output matches it. */
async function startBlyan(children: ChildProcess[], args: string[], ready: RegExp, env: Record<string, string>): Promise<{ child: ChildProcess; match: string; output: () => string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.push(child);
  let output = '';
  const match = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = ready.exec(output);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}: ${output}`)));
  });
  return { child, match, output: () => output };
}
