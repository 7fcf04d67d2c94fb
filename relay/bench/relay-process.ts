import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export const BIN = join(import.meta.dirname, '..', 'bin', 'blyan.mjs');

/** `node …args` in its own process; resolves with its URL once it prints "listening on URL". */
export async function startListening(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${out}`)));
  });
  return { child, url };
}

/** `blyan serve` on `store` in its own process, on an OS-chosen port; resolves once it listens. */
export const startRelay = (store: string) => startListening([BIN, 'serve', '--store', store, '--port', '0']);
