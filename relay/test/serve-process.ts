import { type ChildProcess, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Hash } from '@blyan/block';

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

/** Stops every process spawned into `children` (SIGTERM), waits until each has exited, and removes their store folders `dirs`. */
export async function stopAll(children: ChildProcess[], dirs: string[]): Promise<void> {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  for (const d of dirs) await rm(d, { recursive: true, force: true });
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

/** What downloaders saw: payloads fetched, and those with a wrong status or wrong bytes. */
export interface DownloadTally {
  downloads: number;
  wrong: number;
}

/**
 * One downloader of a fault test: while `running()`, fetches the payload `next()` names from the
 * replica `pick()` gives and checks it is exactly `expected(hash)`. A connection that fails (a
 * killed replica) counts as neither.
 */
export async function downloader(tally: DownloadTally, running: () => boolean, pick: () => ServeProcess, next: () => Hash, expected: (h: Hash) => Uint8Array): Promise<void> {
  while (running()) {
    const hash = next();
    try {
      const res = await fetch(`${pick().url}/v1/blocks/${hash}/payload`);
      const got = new Uint8Array(await res.arrayBuffer());
      if (res.status !== 200 || !Buffer.from(got).equals(expected(hash))) tally.wrong++;
      tally.downloads++;
    } catch {
      // a connection to the killed replica
    }
  }
}
