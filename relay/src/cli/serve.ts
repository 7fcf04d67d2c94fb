import { TIERS, type Tier } from '@blyan/data';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { type RequestListener, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { parseHeader } from '@blyan/block';
import { privateKeyToAccount } from 'viem/accounts';
import { CANONICAL_GENESIS_DIR, DEFAULT_MAX_PAYLOAD, genesisCheckpoint, genesisJson, evaluatorKey, relayRules, storeDir } from '../config.ts';
import { defaultAccountsConfig } from '../contributions/config.ts';
import { namedEvaluator } from '../contributions/judging.ts';
import { corpusDocs } from '../corpus.ts';
import { DEFAULT_ORIGIN, type Relay, openRelay } from '../relay.ts';
import { errorBody } from '../server/api-error.ts';
import { relayListener } from '../server/app.ts';
import { type Backends, indexPath } from '../store/open.ts';
import { type Log, STORE_OPTION, UsageError, backendsFrom, intOption, natsOption, parse } from './args.ts';
import { replayFractionError } from '../rounds/replay.ts';
import { type FoundingKeys, foundNetwork, foundingKeys, importGenesis } from './seed.ts';

export interface Running {
  url: string;
  close(): Promise<void>;
}

async function committed(path: string, what: string): Promise<Uint8Array> {
  if (!existsSync(path)) throw new Error(`no ${what}: ${path} is missing; pass --checkpoint FILE to found a network of your own`);
  return readFile(path);
}

/**
 * Seeds an empty store: with --checkpoint it founds a separate network (keys from `founding`);
 * without, it imports a published genesis, which needs no private key: `genesisDir`'s genesis.json
 * and checkpoint.tensors (--genesis DIR; the canonical public/genesis-v2 by default).
 */
async function seed(relay: Relay, dir: string, flag: string | undefined, founding: FoundingKeys | null, f32: boolean, genesisDir: string, log: Log): Promise<void> {
  if (flag !== undefined && founding !== null) return foundNetwork(relay.ledger, dir, await readFile(flag), founding, f32, flag, log);
  if (flag !== undefined) throw new Error(`store ${dir} exists without blocks or keys; remove it, or found the network with blyan genesis`);
  const [jsonPath, checkpointPath] = [genesisJson(genesisDir), genesisCheckpoint(genesisDir)];
  const [json, checkpoint] = [await committed(jsonPath, 'genesis file'), await committed(checkpointPath, 'genesis checkpoint')];
  await importGenesis(relay.ledger, new TextDecoder().decode(json), checkpoint, { genesis: jsonPath, checkpoint: checkpointPath }, log);
}

/**
 * Refuses a store whose meta head is not a valid meta block of this format (one made before the
 * meta chain named its authorities and evaluators): no block could be authorized against it.
 */
async function checkMetaHead(relay: Relay, dir: string): Promise<void> {
  const head = await relay.index.metaHead();
  const header = head === null ? undefined : (await relay.index.block(head))?.header;
  try {
    parseHeader(header);
  } catch (e) {
    throw new Error(`store ${dir} holds a meta block ${head} this relay cannot govern by (${(e as Error).message}); move the store aside to import the canonical genesis`);
  }
}

/** The built web app to serve at /, checked before anything opens. */
function webAppDir(flag: string | undefined): string | undefined {
  if (flag === undefined) return undefined;
  const dir = resolve(flag);
  if (!existsSync(join(dir, 'index.html'))) throw new UsageError(`--app ${flag}: no index.html there; build the app with pnpm --filter @blyan/web build`);
  return dir;
}

/** --payload-url: an http(s) URL, checked before anything opens. */
function payloadBase(flag: string | undefined): string | undefined {
  if (flag === undefined) return undefined;
  if (!URL.canParse(flag) || !/^https?:$/.test(new URL(flag).protocol)) throw new UsageError(`--payload-url must be an http(s) URL, got ${flag}`);
  return flag;
}

/** How a small network runs rounds and reviews: fewer contributors per round, tiers a fresh model reaches, fewer review votes. */
type SmallNetwork = { 'round-contributors'?: string; 'round-tiers'?: string; 'round-own-margin'?: string; 'round-replay'?: string; 'review-sample'?: string; 'review-votes'?: string };

/** Sign-in names the page's origin: --origin, else $BLYAN_ORIGIN, else the relay's own address when it serves the app. */
function accountsConfig(values: { origin?: string; 'chain-id'?: string; 'min-improvement'?: string; 'usage-period'?: string } & SmallNetwork, ownOrigin: string | undefined) {
  const origin = values.origin ?? process.env.BLYAN_ORIGIN ?? ownOrigin ?? DEFAULT_ORIGIN;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new UsageError(`--origin must be an origin such as http://localhost:5173, got ${origin}`);
  }
  const base = defaultAccountsConfig(url.origin, corpusDocs);
  const delta = natsOption(values['min-improvement'], 'min-improvement', base.minImprovement);
  const chainId = intOption(values['chain-id'], 'chain-id', base.siwe.chainId, 1, Number.MAX_SAFE_INTEGER);
  const periodS = intOption(values['usage-period'], 'usage-period', base.usagePool.periodMs / 1000, 1, 366 * 86400);
  const contributors = intOption(values['round-contributors'], 'round-contributors', base.rounds.contributors, 1, 1000);
  const tiers = values['round-tiers'] === undefined ? base.rounds.dataset.tiers : values['round-tiers'].split(',');
  if (tiers.length === 0 || !tiers.every((t) => (TIERS as readonly string[]).includes(t))) throw new UsageError(`--round-tiers is a comma-separated list of ${TIERS.join(', ')}, got ${values['round-tiers']}`);
  const ownMargin = natsOption(values['round-own-margin'], 'round-own-margin', base.rounds.screen.own.margin);
  const replay = values['round-replay'] === undefined ? base.rounds.dataset.replay : Number(values['round-replay']);
  const replayError = replayFractionError(replay);
  if (replayError !== null) throw new UsageError(`--round-replay: ${replayError} (${values['round-replay']})`);
  const sampleSize = intOption(values['review-sample'], 'review-sample', base.data.sampleSize, 1, 1000);
  const votesToSettle = intOption(values['review-votes'], 'review-votes', base.data.votesToSettle, 1, 1000);
  return {
    ...base,
    minImprovement: delta,
    siwe: { ...base.siwe, chainId },
    usagePool: { ...base.usagePool, periodMs: periodS * 1000 },
    rounds: { ...base.rounds, contributors, screen: { ...base.rounds.screen, own: { ...base.rounds.screen.own, margin: ownMargin } }, dataset: { ...base.rounds.dataset, tiers: tiers as Tier[], replay } },
    data: { ...base.data, sampleSize, votesToSettle },
  };
}

/**
 * Takes the port before the store opens, so the relay's own address is known (the web app's origin
 * with --app, also for --port 0) and a taken port fails first; until `serve` hands it the API, every
 * request gets 503 starting.
 */
async function bind(port: number, host: string): Promise<{ server: Server; serve(api: RequestListener): void }> {
  let listener: RequestListener = (_req, res) => {
    res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '5' }).end(JSON.stringify(errorBody('starting', 'the relay is opening its store')));
  };
  const server = createServer((req, res) => listener(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, serve: (api) => (listener = api) };
}

/** A database URL for logs: its password hidden. */
function redact(url: string): string {
  const u = new URL(url);
  if (u.password !== '') u.password = '***';
  return u.toString();
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function hostUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * What becomes of contributions sent here: a replica sharing a database (`backends.database`) only
 * queues them for the `blyan worker` processes holding the key the meta head names (its own key, if
 * any, judges nothing); an embedded relay judges them itself while the meta head names its key, else it is a mirror.
 */
async function whoJudges(relay: Relay, key: string | null, backends: Backends): Promise<string> {
  const head = await relay.index.metaHead();
  if (backends.database !== undefined) return `queuing contributions for the blyan worker processes that judge as evaluator ${await relay.accounts.judging.evaluator(head)}`;
  if ((await namedEvaluator(relay.index, relay.verdictSigner, head)) !== null) return `judging contributions as evaluator ${key}`;
  return `not judging contributions: ${key === null ? 'no evaluator key' : `the meta head does not name ${key} as an evaluator`} (a mirror: contributions answer 503 no_evaluator)`;
}

/**
 * `blyan serve`: opens (and on first start seeds) the store, then serves the HTTP API. Verdicts are
 * signed with --evaluator-key FILE, else BLYAN_EVALUATOR_KEY, else the store's evaluator.key.
 */
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
    'evaluator-key': { type: 'string' },
    genesis: { type: 'string' },
    'usage-period': { type: 'string' },
    'payload-url': { type: 'string' },
    'round-contributors': { type: 'string' },
    'round-replay': { type: 'string' },
    'round-tiers': { type: 'string' },
    'round-own-margin': { type: 'string' },
    'review-sample': { type: 'string' },
    'review-votes': { type: 'string' },
  });
  if (values.genesis !== undefined && values.checkpoint !== undefined) throw new UsageError('give --genesis DIR (import a published genesis) or --checkpoint FILE (found a network), not both');
  const genesisDir = resolve(values.genesis ?? CANONICAL_GENESIS_DIR);
  const port = intOption(values.port, 'port', 8787, 0, 65535);
  const maxPayloadBytes = intOption(values['max-payload'], 'max-payload', DEFAULT_MAX_PAYLOAD, 1, 2 ** 32);
  const host = values.host ?? '127.0.0.1';
  const webApp = webAppDir(values.app);
  const payloadUrl = payloadBase(values['payload-url']);
  const dir = storeDir(values.store);
  const backends = backendsFrom(values);
  const listening = await bind(port, host);
  const url = hostUrl(host, (listening.server.address() as AddressInfo).port);
  let relay: Relay | undefined;
  try {
    const accounts = accountsConfig(values, webApp === undefined ? undefined : url);
    const founding = values.checkpoint !== undefined && !existsSync(indexPath(dir)) ? await foundingKeys(dir, values['evaluator-key']) : null;
    const evaluator = founding?.evaluator ?? (await evaluatorKey(dir, values['evaluator-key']));
    relay = await openRelay(dir, relayRules(maxPayloadBytes), accounts, evaluator && privateKeyToAccount(evaluator.key), backends);
    if (relay.removedOrphans.length > 0) log(`removed ${relay.removedOrphans.length} orphan payload file(s) left by an interrupted submission`);
    const counts = await relay.index.counts();
    const total = counts.A + counts.B + counts.D;
    if (total === 0) await seed(relay, dir, values.checkpoint, founding, values.f32 ?? false, genesisDir, log);
    else if (values.checkpoint !== undefined) log(`store already holds ${total} blocks; --checkpoint ignored`);
    await checkMetaHead(relay, dir);
    log(await whoJudges(relay, evaluator?.address ?? null, backends));
  } catch (e) {
    await relay?.close();
    await closeServer(listening.server);
    throw e;
  }
  listening.serve(relayListener({ ...relay, maxPayloadBytes }, webApp, payloadUrl));
  const counts = await relay.index.counts();
  log(`blyan relay listening on ${url} (store ${[dir, backends.database && redact(backends.database), backends.objects].filter(Boolean).join(', ')}; ${counts.A + counts.B + counts.D} blocks; meta head ${await relay.index.metaHead()})`);
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
