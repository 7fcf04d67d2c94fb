import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { blockHash } from '@blyan/block';
import { privateKeyToAccount } from 'viem/accounts';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../src/cli/args.ts';
import { genesis } from '../src/cli/genesis.ts';
import { inspect } from '../src/cli/inspect.ts';
import { serve } from '../src/cli/serve.ts';
import { verify } from '../src/cli/verify.ts';
import { worker } from '../src/cli/worker.ts';
import { COMMITTED_GENESIS, GENESIS_V1_DIR, genesisJson, genesisKey } from '../src/config.ts';
import { parseGenesisFile } from '../src/genesis.ts';
import { type TestBackend, currentBackend, testBackend } from './backends.ts';
import { EVALUATOR_KEY, GENESIS_KEY, OCTETS, authority, evaluator, fixture, importedBlocks, paramBlock, tempDir, tinyCheckpoint, wireBody } from './helpers.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

async function tinyCheckpointFile(dir: string): Promise<string> {
  const path = join(dir, 'tiny.tensors');
  await writeFile(path, tinyCheckpoint());
  return path;
}

async function scratch(): Promise<string> {
  const dir = await tempDir();
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** What a replica sharing a database says of contributions, whatever evaluator key it holds. */
const QUEUING = /queuing contributions for the blyan worker processes that judge as evaluator 0x[0-9a-f]{40}/;

/** A fresh corner of this test project's back-end, dropped after the test; its `flags` put a command on it. */
async function backend(): Promise<TestBackend> {
  const b = await testBackend();
  cleanup.push(() => b.drop());
  return b;
}

function capture(): { log: (l: string) => void; text: () => string } {
  const lines: string[] = [];
  return { log: (l) => lines.push(l), text: () => lines.join('\n') };
}

/** Announces a 1 GB body over real HTTP, sends 64 KiB of it, and returns the early answer. */
function postHuge(url: string): Promise<{ status: number; code: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...OCTETS, 'content-length': String(1 << 30) } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode!, code: JSON.parse(text).error.code });
      });
    });
    req.on('error', reject);
    req.write(new Uint8Array(65536));
  });
}

async function closedFixture() {
  const f = await fixture();
  await f.relay.close();
  cleanup.push(async () => {
    await f.backend.drop();
    await rm(f.dir, { recursive: true, force: true });
  });
  return { ...f, flags: f.backend.flags };
}

/** Tests that open no store run in the embedded project only: they would be the same on the other back-end. */
const storeless = describe.runIf(currentBackend() === 'embedded');

storeless('blyan --help', () => {
  it.each(['serve', 'genesis', 'verify', 'inspect'])('blyan %s --help prints the usage and exits 0, with no complaint', (command) => {
    const run = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'bin', 'blyan.mjs'), command, '--help'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^usage: blyan <command> \[options\]/);
    expect(run.status).toBe(0);
  });
});

describe('blyan serve', () => {
  it('seeds an empty store from --checkpoint, then serves over HTTP; a restart does not reseed', async () => {
    const dir = await scratch();
    const ckpt = await tinyCheckpointFile(dir);
    const store = join(dir, 'store');
    const { flags } = await backend();
    const out = capture();
    const running = await serve(['--store', store, ...flags, '--port', '0', '--checkpoint', ckpt], out.log);
    try {
      expect(out.text()).toMatch(/seeded genesis from .*tiny\.tensors: 14 blocks \(1 meta, 3 dense, 2 router, 8 expert\)/);
      expect(out.text()).toMatch(/genesis authority 0x[0-9a-f]{40} \(key from .*genesis\.key, newly generated\)/);
      expect(out.text()).toMatch(flags.length === 0 ? /judging contributions as evaluator 0x[0-9a-f]{40}/ : QUEUING);
      expect((await stat(join(store, 'evaluator.key'))).mode & 0o777).toBe(0o600);
      expect(out.text()).toContain(`listening on ${running.url}`);
      expect((await stat(join(store, 'genesis.key'))).mode & 0o777).toBe(0o600);
      const health = await (await fetch(`${running.url}/v1/health`)).json();
      expect(health).toMatchObject({ ok: true, blocks: 14 });
      expect(await postHuge(`${running.url}/v1/blocks`)).toEqual({ status: 413, code: 'body_too_large' });
    } finally {
      await running.close();
    }
    const again = capture();
    const second = await serve(['--store', store, ...flags, '--port', '0', '--checkpoint', ckpt], again.log);
    await second.close();
    expect(again.text()).toContain('store already holds 14 blocks; --checkpoint ignored');
    expect(again.text()).not.toContain('seeded');
  });

  it('with --app serves the built web app at / beside the API, cross-origin isolated, and names its own origin for sign-in', async () => {
    const dir = await scratch();
    const ckpt = await tinyCheckpointFile(dir);
    const app = join(dir, 'dist');
    await mkdir(join(app, 'assets'), { recursive: true });
    await writeFile(join(app, 'index.html'), '<!doctype html><title>Blyan</title>');
    await writeFile(join(app, 'assets', 'main-abc123.js'), 'export {};');
    const out = capture();
    const running = await serve(['--store', join(dir, 'store'), ...(await backend()).flags, '--port', '0', '--checkpoint', ckpt, '--app', app], out.log);
    try {
      expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
      expect(out.text()).toContain(`web app: open ${running.url}/ (sign-in accepts ${running.url})`);
      const page = await fetch(`${running.url}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
      expect(page.headers.get('cross-origin-embedder-policy')).toBe('credentialless');
      expect(page.headers.get('cache-control')).toBe('no-cache');
      expect(await page.text()).toContain('<title>Blyan</title>');
      const asset = await fetch(`${running.url}/assets/main-abc123.js`);
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(await asset.text()).toBe('export {};');
      expect(await (await fetch(`${running.url}/v1/health`)).json()).toMatchObject({ ok: true, blocks: 14 });
      const missing = await fetch(`${running.url}/nope.js`);
      expect(missing.status).toBe(404);
      expect((await missing.json()).error.code).toBe('no_route');
      expect((await fetch(`${running.url}/..%2f..%2fstore/genesis.key`)).status).toBe(404);
    } finally {
      await running.close();
    }
  });

  it('refuses an --app folder without a built app before touching the store', async () => {
    const dir = await scratch();
    const store = join(dir, 'store');
    await expect(serve(['--store', store, '--port', '0', '--app', dir], capture().log)).rejects.toThrow(/--app .*: no index.html there; build the app/);
    expect(existsSync(store)).toBe(false);
  });

  it('fails on a port already taken before it opens or seeds a store', async () => {
    const dir = await scratch();
    const first = await serve(['--store', join(dir, 'a'), ...(await backend()).flags, '--port', '0', '--checkpoint', await tinyCheckpointFile(dir)], capture().log);
    try {
      const port = new URL(first.url).port;
      const b = await backend();
      await expect(serve(['--store', join(dir, 'b'), ...b.flags, '--port', port], capture().log)).rejects.toThrow(/EADDRINUSE/);
      expect(await b.objectKeys(join(dir, 'b')).catch(() => [])).toEqual([]);
      expect(existsSync(join(dir, 'b'))).toBe(false);
    } finally {
      await first.close();
    }
  });

  it('rejects bad arguments with a UsageError', async () => {
    const log = capture().log;
    await expect(serve(['--port', 'x'], log)).rejects.toThrow(UsageError);
    await expect(serve(['--port', '70000'], log)).rejects.toThrow(/--port must be an integer/);
    await expect(serve(['--nope'], log)).rejects.toThrow(UsageError);
    await expect(serve(['extra'], log)).rejects.toThrow(/unexpected argument extra/);
    await expect(serve(['--database', 'mysql://db/x'], log)).rejects.toThrow(/--database must be a postgres:\/\/ URL/);
    await expect(serve(['--objects', 'https://bucket.example/x'], log)).rejects.toThrow(/--objects must be s3:\/\/bucket/);
    for (const bad of ['1', '-0.1', 'half']) await expect(serve([`--round-replay=${bad}`], log)).rejects.toThrow(/--round-replay: a replay fraction is at least 0 and below 1/);
    for (const bad of ['ftp://cdn.example/x', 'cdn.example/x']) await expect(serve(['--payload-url', bad], log)).rejects.toThrow(/--payload-url must be an http\(s\) URL/);
    await expect(genesis([], log)).rejects.toThrow(/needs --checkpoint/);
    await expect(inspect(['a', 'b'], log)).rejects.toThrow(UsageError);
    await expect(worker([], log)).rejects.toThrow(/--database postgres:\/\/… and --objects s3:\/\/…/);
    await expect(worker(['--store', await tempDir(), '--database', 'postgres://db/x', '--objects', 's3://bucket/p'], log)).rejects.toThrow(/--evaluator-key FILE/);
  });
});

describe('blyan genesis', () => {
  it('founds a network in an empty store (f32 experts on request), writing its keys and genesis.json, and refuses a non-empty one', async () => {
    const dir = await scratch();
    const ckpt = join(dir, 'c.tensors');
    await writeFile(ckpt, tinyCheckpoint(3));
    const store = join(dir, 's');
    const { flags } = await backend();
    const out = capture();
    expect(await genesis(['--checkpoint', ckpt, '--store', store, ...flags, '--f32'], out.log)).toBe(0);
    expect(out.text()).toMatch(/14 blocks .*\n.*experts f32; founded network [0-9a-f]{64}/);
    const file = parseGenesisFile(JSON.parse(await readFile(join(store, 'genesis.json'), 'utf8')), 'genesis.json');
    const keyAddress = async (name: string) => privateKeyToAccount((await readFile(join(store, name), 'utf8')).trim() as `0x${string}`).address.toLowerCase();
    expect(file.headers[0]!.meta).toMatchObject({ authorities: [await keyAddress('genesis.key')], evaluators: [await keyAddress('evaluator.key')] });
    expect((await stat(join(store, 'evaluator.key'))).mode & 0o777).toBe(0o600);
    await expect(genesis(['--checkpoint', ckpt, '--store', store, ...flags], out.log)).rejects.toThrow(/already holds 14 blocks/);
    expect(await verify(['--store', store, ...flags], out.log)).toBe(0);
    const other = await importedBlocks(file, tinyCheckpoint(3));
    expect(other).toEqual(file.headers.map((h) => blockHash(h)));
  });
});

describe('serve without --checkpoint', () => {
  it('imports the canonical genesis on an empty store with no key, and is a mirror that judges nothing (a replica: queues for the workers)', async () => {
    const dir = await scratch();
    const store = join(dir, 'store');
    const out = capture();
    const { flags } = await backend();
    const running = await serve(['--store', store, ...flags, '--port', '0'], out.log);
    try {
      const pinned = JSON.parse(await readFile(COMMITTED_GENESIS, 'utf8')).meta;
      expect(out.text()).toContain(`imported the genesis pinned as ${pinned}`);
      expect(out.text()).toMatch(flags.length === 0 ? /not judging contributions: no evaluator key/ : QUEUING);
      expect((await (await fetch(`${running.url}/v1/health`)).json()).meta_head).toBe(pinned);
      expect((await readdir(store)).filter((n) => n.endsWith('.key'))).toEqual([]);
    } finally {
      await running.close();
    }
  });

  it('imports genesis v1 instead with --genesis public/genesis (kept for comparison), and refuses --genesis with --checkpoint', async () => {
    const dir = await scratch();
    const out = capture();
    await expect(serve(['--store', join(dir, 'both'), '--port', '0', '--genesis', GENESIS_V1_DIR, '--checkpoint', 'x.tensors'], out.log)).rejects.toThrow(/--genesis DIR .* or --checkpoint FILE .*, not both/);
    const running = await serve(['--store', join(dir, 'v1'), ...(await backend()).flags, '--port', '0', '--genesis', GENESIS_V1_DIR], out.log);
    try {
      const v1 = JSON.parse(await readFile(genesisJson(GENESIS_V1_DIR), 'utf8')).meta;
      expect(v1).not.toBe(JSON.parse(await readFile(COMMITTED_GENESIS, 'utf8')).meta);
      expect((await (await fetch(`${running.url}/v1/health`)).json()).meta_head).toBe(v1);
    } finally {
      await running.close();
    }
  });
});

describe('a store from before the meta chain named its authorities', () => {
  it('is refused by serve with what to do, and verify names the malformed header', async () => {
    const f = await closedFixture();
    await f.backend.tamper.header(f.dir, 1, (header) => {
      const { authorities: _a, evaluators: _e, ...old } = header.meta as Record<string, unknown>;
      return { ...header, meta: old };
    });
    await expect(serve(['--store', f.dir, ...f.flags, '--port', '0'], capture().log)).rejects.toThrow(/holds a meta block [0-9a-f]{64} this relay cannot govern by .*meta.authorities.*move the store aside/);
    const out = capture();
    expect(await verify(['--store', f.dir, ...f.flags], out.log)).toBe(1);
    expect(out.text()).toMatch(/#1 [0-9a-f]{64}: stored header is malformed: meta.authorities must be an array/);
  });
});

describe('the evaluator key', () => {
  it('comes from --evaluator-key FILE, else BLYAN_EVALUATOR_KEY, else the store; serve judges only if the meta head names it (a replica: never, it queues)', async () => {
    const f = await closedFixture();
    const keyFile = join(f.dir, 'named.key');
    await writeFile(keyFile, `${EVALUATOR_KEY}\n`);
    const runs: [string[], Record<string, string>, RegExp][] = [
      [['--evaluator-key', keyFile], {}, new RegExp(`judging contributions as evaluator ${evaluator}`)],
      [[], { BLYAN_EVALUATOR_KEY: EVALUATOR_KEY }, new RegExp(`judging contributions as evaluator ${evaluator}`)],
      [[], { BLYAN_EVALUATOR_KEY: GENESIS_KEY }, new RegExp(`the meta head does not name ${authority} as an evaluator`)],
      [[], {}, /not judging contributions: no evaluator key/],
    ];
    for (const [flags, env, said] of runs) {
      const saved = process.env.BLYAN_EVALUATOR_KEY;
      if (env.BLYAN_EVALUATOR_KEY === undefined) delete process.env.BLYAN_EVALUATOR_KEY;
      else process.env.BLYAN_EVALUATOR_KEY = env.BLYAN_EVALUATOR_KEY;
      const out = capture();
      try {
        const running = await serve(['--store', f.dir, ...f.flags, '--port', '0', ...flags], out.log);
        await running.close();
      } finally {
        if (saved === undefined) delete process.env.BLYAN_EVALUATOR_KEY;
        else process.env.BLYAN_EVALUATOR_KEY = saved;
      }
      // A replica judges nothing whatever key it holds: it queues for the workers that hold the named key.
      expect(out.text()).toMatch(f.flags.length === 0 ? said : new RegExp(`${QUEUING.source.replace('0x[0-9a-f]{40}', '')}${evaluator}`));
    }
    await expect(serve(['--store', f.dir, ...f.flags, '--port', '0', '--evaluator-key', join(f.dir, 'missing.key')], capture().log)).rejects.toThrow(/--evaluator-key .*missing\.key: no such file/);
  });
});

storeless('genesis key', () => {
  it('prefers BLYAN_GENESIS_KEY, else the key file, and never invents one for an existing store', async () => {
    const dir = await scratch();
    const saved = process.env.BLYAN_GENESIS_KEY;
    try {
      process.env.BLYAN_GENESIS_KEY = GENESIS_KEY;
      expect(await genesisKey(dir, false)).toMatchObject({ address: authority, source: 'env' });
      process.env.BLYAN_GENESIS_KEY = '0x1234';
      await expect(genesisKey(dir, false)).rejects.toThrow(/BLYAN_GENESIS_KEY must hold/);
      delete process.env.BLYAN_GENESIS_KEY;
      await expect(genesisKey(dir, false)).rejects.toThrow(/no genesis key/);
      const made = await genesisKey(dir, true);
      expect(made.source).toBe('generated');
      expect(await genesisKey(dir, false)).toMatchObject({ address: made.address, source: 'file' });
    } finally {
      if (saved === undefined) delete process.env.BLYAN_GENESIS_KEY;
      else process.env.BLYAN_GENESIS_KEY = saved;
    }
  });
});

describe('blyan verify', () => {
  it('passes a sound store', async () => {
    const f = await fixture();
    const prev = f.genesis.find((b) => b.header.name === 'layer1.expert1')!;
    expect((await f.app.request('/v1/blocks', { method: 'POST', body: wireBody(await paramBlock({ meta: f.meta, name: 'layer1.expert1', prev })), headers: OCTETS })).status).toBe(201);
    await f.relay.close();
    cleanup.push(async () => {
      await f.backend.drop();
      await rm(f.dir, { recursive: true, force: true });
    });
    const out = capture();
    expect(await verify(['--store', f.dir, ...f.backend.flags], out.log)).toBe(0);
    expect(out.text()).toMatch(/verified 15 blocks .* 1 model version/);
    expect(out.text()).toContain('OK');
  });

  it('fails on a corrupted payload file', async () => {
    const f = await closedFixture();
    await f.backend.tamper.payload(f.dir, f.genesis[3]!.header.payload_hash, (data) => {
      data[10] = data[10]! ^ 1;
      return data;
    });
    const out = capture();
    expect(await verify(['--store', f.dir, ...f.flags], out.log)).toBe(1);
    expect(out.text()).toMatch(/FAILED/);
    expect(out.text()).toMatch(/payload_hash_mismatch/);
  });

  it('fails on a missing payload, an edited header and edited tile leaves', async () => {
    const f = await closedFixture();
    await f.backend.tamper.payload(f.dir, f.genesis[5]!.header.payload_hash, () => null);
    await f.backend.tamper.header(f.dir, 3, (header) => ({ ...header, created_at: 1 }));
    await f.backend.tamper.leaves(f.dir, 2, new Uint8Array(32));
    const out = capture();
    expect(await verify(['--store', f.dir, ...f.flags], out.log)).toBe(1);
    expect(out.text()).toMatch(/#3 .* stored header hashes to/);
    expect(out.text()).toMatch(/#6 .* is missing/);
    expect(out.text()).toMatch(/#2 .* tile leaves differ/);
    expect(out.text()).toMatch(/ParamIndex of version .* differs|counts say/);
  });
});

describe('blyan inspect', () => {
  it('lists every block, and shows one header with its tensor table', async () => {
    const f = await closedFixture();
    const list = capture();
    expect(await inspect(['--store', f.dir, ...f.flags], list.log)).toBe(0);
    expect(list.text().split('\n')).toHaveLength(2 + f.genesis.length);
    expect(list.text()).toContain(f.meta);
    const one = capture();
    expect(await inspect([f.slots['layer0.expert2']!, '--store', f.dir, ...f.flags], one.log)).toBe(0);
    expect(one.text()).toMatch(/layers\.0\.experts\.2\.w1\s+i8\s+\[16, 8\]\s+192/);
    const meta = capture();
    expect(await inspect([f.meta, '--store', f.dir, ...f.flags], meta.log)).toBe(0);
    expect(meta.text()).toContain('"config":{"vocabSize":300');
    expect(await inspect(['0'.repeat(64), '--store', f.dir, ...f.flags], capture().log)).toBe(1);
    await expect(inspect(['nothex', '--store', f.dir, ...f.flags], capture().log)).rejects.toThrow(UsageError);
  });
});
