import { type ChildProcess, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.ts';

const RACER = join(import.meta.dirname, '..', 'fixtures', 'lock-racer.ts');
const children: ChildProcess[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Starts a contender that tries the lock at `at`; resolves with what it printed first and the process. */
function racer(path: string, at: number): Promise<{ said: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', RACER, path, String(at)], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve({ said: out.trim().split(' ')[0]!, child });
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => (out.includes('\n') ? undefined : reject(new Error(`racer exited ${code}: ${out}`))));
  });
}

const killed = (c: ChildProcess) => new Promise<void>((r) => (c.kill('SIGKILL'), c.once('exit', () => r())));

describe('attacks on the store lock', () => {
  it('two relays starting at once on a store whose holder was killed -9: exactly one takes the lock', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const path = join(dir, 'store.lock');
    const first = await racer(path, Date.now());
    expect(first.said).toBe('locked');
    await killed(first.child);
    for (let round = 0; round < 5; round++) {
      const at = Date.now() + 1500;
      const both = await Promise.all([racer(path, at), racer(path, at)]);
      expect(both.map((r) => r.said).sort()).toEqual(['busy', 'locked']);
      await killed(both.find((r) => r.said === 'locked')!.child);
    }
  }, 60_000);
});
