import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { type RequestListener, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { getRequestListener } from '@hono/node-server';
import { COMMITTED_CHECKPOINT, DEFAULT_MAX_PAYLOAD, genesisKey, relayRules, storeDir } from '../config.ts';
import { defaultAccountsConfig } from '../contributions/config.ts';
import { corpusDocs } from '../corpus.ts';
import { DEFAULT_ORIGIN, type Relay, openRelay } from '../relay.ts';
import { errorBody } from '../server/api-error.ts';
import { createApp } from '../server/app.ts';
import { indexPath } from '../store/open.ts';
import { type Log, STORE_OPTION, UsageError, intOption, parse } from './args.ts';
import { seedGenesis } from './seed.ts';

export interface Running {
  url: string;
  close(): Promise<void>;
}

async function genesisSource(flag: string | undefined): Promise<{ bytes: Uint8Array; source: string }> {
  if (flag !== undefined) return { bytes: await readFile(flag), source: flag };
  if (existsSync(COMMITTED_CHECKPOINT)) return { bytes: await readFile(COMMITTED_CHECKPOINT), source: COMMITTED_CHECKPOINT };
  throw new Error(`no genesis checkpoint: ${COMMITTED_CHECKPOINT} is missing; pass --checkpoint FILE (train one with packages/model/src/cli/train.ts)`);
}

/** The built web app to serve at /, checked before anything opens. */
function webAppDir(flag: string | undefined): string | undefined {
  if (flag === undefined) return undefined;
  const dir = resolve(flag);
  if (!existsSync(join(dir, 'index.html'))) throw new UsageError(`--app ${flag}: no index.html there; build the app with pnpm --filter @blyan/web build`);
  return dir;
}

/** Sign-in names the page's origin: --origin, else $BLYAN_ORIGIN, else the relay's own address when it serves the app. */
function accountsConfig(values: { origin?: string; 'chain-id'?: string; 'min-improvement'?: string }, ownOrigin: string | undefined) {
  const origin = values.origin ?? process.env.BLYAN_ORIGIN ?? ownOrigin ?? DEFAULT_ORIGIN;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new UsageError(`--origin must be an origin such as http://localhost:5173, got ${origin}`);
  }
  const base = defaultAccountsConfig(url.origin, corpusDocs);
  const delta = values['min-improvement'] === undefined ? base.minImprovement : Number(values['min-improvement']);
  if (!(delta >= 0 && Number.isFinite(delta))) throw new UsageError(`--min-improvement must be a non-negative number of nats/token, got ${values['min-improvement']}`);
  const chainId = intOption(values['chain-id'], 'chain-id', base.siwe.chainId, 1, Number.MAX_SAFE_INTEGER);
  return { ...base, minImprovement: delta, siwe: { ...base.siwe, chainId } };
}

/**
 * Takes the port before the store opens, so the relay's own address is known (the web app's origin
 * with --app, also for --port 0) and a taken port fails first; until `serve` hands it the API, every
 * request gets 503 starting.
 */
async function bind(port: number, host: string): Promise<{ server: Server; serve(fetch: (req: Request) => Response | Promise<Response>): void }> {
  let listener: RequestListener = (_req, res) => {
    res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '5' }).end(JSON.stringify(errorBody('starting', 'the relay is opening its store')));
  };
  const server = createServer((req, res) => listener(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, serve: (fetch) => (listener = getRequestListener(fetch)) };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function hostUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** `blyan serve`: opens (and on first start seeds) the store, then serves the HTTP API. */
export async function serve(args: string[], log: Log): Promise<Running> {
  const { values } = parse(args, {
    ...STORE_OPTION,
    port: { type: 'string' },
    host: { type: 'string' },
    checkpoint: { type: 'string' },
    f32: { type: 'boolean' },
    'max-payload': { type: 'string' },
    origin: { type: 'string' },
    'chain-id': { type: 'string' },
    'min-improvement': { type: 'string' },
    app: { type: 'string' },
  });
  const port = intOption(values.port, 'port', 8787, 0, 65535);
  const maxPayloadBytes = intOption(values['max-payload'], 'max-payload', DEFAULT_MAX_PAYLOAD, 1, 2 ** 32);
  const host = values.host ?? '127.0.0.1';
  const webApp = webAppDir(values.app);
  const dir = storeDir(values.store);
  const listening = await bind(port, host);
  const url = hostUrl(host, (listening.server.address() as AddressInfo).port);
  let relay: Relay | undefined;
  try {
    const accounts = accountsConfig(values, webApp === undefined ? undefined : url);
    const key = await genesisKey(dir, !existsSync(indexPath(dir)));
    relay = await openRelay(dir, relayRules(maxPayloadBytes), accounts);
    if (relay.removedOrphans.length > 0) log(`removed ${relay.removedOrphans.length} orphan payload file(s) left by an interrupted submission`);
    const counts = await relay.index.counts();
    const total = counts.A + counts.B + counts.D;
    if (total === 0) {
      const { bytes, source } = await genesisSource(values.checkpoint);
      await seedGenesis(relay.ledger, bytes, key, values.f32 ?? false, source, log);
    } else if (values.checkpoint !== undefined) {
      log(`store already holds ${total} blocks; --checkpoint ignored`);
    }
  } catch (e) {
    await relay?.close();
    await closeServer(listening.server);
    throw e;
  }
  listening.serve(createApp({ ...relay, maxPayloadBytes }, webApp).fetch);
  const counts = await relay.index.counts();
  log(`blyan relay listening on ${url} (store ${dir}; ${counts.A + counts.B + counts.D} blocks; meta head ${await relay.index.metaHead()})`);
  if (webApp !== undefined) log(`web app: open ${url}/ (sign-in accepts ${relay.accounts.config.siwe.uri})`);
  const opened = relay;
  return {
    url,
    async close() {
      await closeServer(listening.server);
      await opened.close();
    },
  };
}
