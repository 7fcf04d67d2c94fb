import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const XZ = '/usr/bin/xz';

/** Bytes of `xz -9e` output for `text` (single-threaded, so one block with a 64 MiB dictionary). */
function xzSize(dir: string, text: string): number {
  const path = join(dir, 'input.txt');
  writeFileSync(path, text);
  return execFileSync(XZ, ['-9e', '-T1', '-c', path], { maxBuffer: 1 << 30 }).length;
}

/**
 * The xz floor of each held-out split given the training text: the bytes xz -9e spends on it after
 * having seen the training text, (size(xz(train + heldOut)) − size(xz(train))) · 8 / bytes(heldOut),
 * in bits per byte. Documents are concatenated without separators.
 */
export function xzBitsPerByte<K extends string>(train: readonly string[], heldOut: Readonly<Record<K, readonly string[]>>): Record<K, number> {
  const dir = mkdtempSync(join(tmpdir(), 'blyan-xz-'));
  try {
    const trainText = train.join('');
    const base = xzSize(dir, trainText);
    const out = {} as Record<K, number>;
    for (const key of Object.keys(heldOut) as K[]) {
      const text = heldOut[key].join('');
      out[key] = ((xzSize(dir, trainText + text) - base) * 8) / Buffer.byteLength(text, 'utf8');
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
