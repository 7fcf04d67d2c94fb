import { type Address, type Hash, isHash } from '@blyan/block';
import type { SignedVerdict } from '@blyan/chain';
import { RelayConnection } from './connection.ts';
import { RelayError, relayError } from './errors.ts';

/** POST /v1/auth/nonce: what a SIWE login message must say. */
export interface LoginChallenge {
  nonce: string;
  expires_at: number;
  domain: string;
  uri: string;
  chain_id: number;
  max_session_ms: number;
}

/** A signed-in session (POST /v1/auth/login, GET /v1/auth/me). */
export interface Session {
  account: Address;
  session_key: Address;
  expires_at: number;
}

/** GET /v1/assignment */
export interface Assignment {
  meta: Hash;
  slot: string;
  base: Hash;
  reason: 'hot' | 'round_robin';
  /** Until when the slot and shard are this account's; a queued contribution uses the assignment up. */
  expires_at: number;
  shard: { index: number; of: number; docs: { from: number; to: number }; sha256: string; split: 'train'; url: string };
  rules: { min_improvement: number; max_delta_bytes: number; max_relative_norm: number; max_density: number; max_queued: number };
}

/** GET /v1/rounds/unit: a work unit of a round (on `dataset`, or on the model's own train split when null). */
export interface RoundUnit {
  round: number;
  meta: Hash;
  dataset: string | null;
  slot: string;
  base: Hash;
  /** H: the micro-steps the round asks for. */
  steps: number;
  shard: { index: number; of: number; docs: { from: number; to: number }; sha256: string; split: 'train' | 'public'; url: string };
  /**
   * On a dataset: replay (rehearsal), a shard of the model's own train split and the share of the
   * unit's micro-steps that train on it, interleaved with its own shard's; null: none.
   */
  replay: { fraction: number; shard: { index: number; of: number; docs: { from: number; to: number }; sha256: string; split: 'train'; url: string } } | null;
  rules: { max_relative_norm: number; max_density: number };
}

/** GET /v1/rounds/:id: the round, its verdict once decided, and every delta's own score and credit. */
export interface RoundInfo {
  id: number;
  slot: string;
  dataset: string | null;
  status: 'open' | 'appending' | 'accepted' | 'rejected';
  reason: string | null;
  commitment: Hash;
  opened_at: number;
  /** When an open round is judged with the deltas it has, if it does not fill first. */
  closes_at: number;
  /** Work units a round hands out; it is judged once all hold a delta. */
  contributors: number;
  block: Hash | null;
  improvement: number | null;
  lower: number | null;
  credit: number | null;
  genesis: { improvement: number; lower: number; bound: number } | null;
  uploaders: { account: Address; credit: number }[];
  verdict: SignedVerdict | null;
  deltas: { id: number; account: Address; shard: number; status: 'submitted' | 'kept' | 'hurt' | 'copy'; copy_of: number | null; improvement: number | null; credit: number | null }[];
}

/** What POST /v1/rounds/:id/deltas answered: taken, the round closed before it arrived, or a rate limit. */
export type RoundDelivery = { kind: 'submitted' } | { kind: 'round_closed'; message: string } | { kind: 'rate_limited'; retryAfterMs: number };

/** GET /v1/shards/:i */
export interface Shard {
  index: number;
  of: number;
  docs: { id: string; text: string }[];
}

/** What POST /v1/contributions decided at intake: queued, or a stale base / rate limit the caller can recover from. */
export type Submission = { kind: 'queued'; id: number } | { kind: 'stale_base'; head: Hash } | { kind: 'rate_limited'; retryAfterMs: number };

/** GET /v1/contributions/:id */
export interface ContributionView {
  id: number;
  slot: string;
  /** The train shard the block names (its assignment's). */
  shard: number;
  base: Hash;
  block: Hash;
  status: 'queued' | 'appending' | 'accepted' | 'rejected';
  reason: 'stale_base' | 'no_improvement' | 'evaluation_failed' | 'append_refused' | null;
  detail: string | null;
  delta: { bytes: number; raw_bytes: number; ratio: number; norm: number };
  figures: { baseline: number; candidate: number; improvement: number; tokens: number; ms: number } | null;
  credit: number | null;
  /** SHA-256 of the seed that draws the evaluation windows, published when the contribution was queued. */
  commitment: Hash;
  /** The evaluator's signed verdict, accepted or not, revealing the seed; null until judged. */
  verdict: SignedVerdict | null;
}

/** POST /v1/usage, recorded: the report's id (its SHA-256), its tokens, and what it counted toward the period's usage pool. */
interface UsageRecord {
  id: string;
  tokens: number;
  /** The pool period the report counts toward (credit is paid when the period ends). */
  period: number;
  /** Blocks newly counted for this account this period; blocks that are not heads now count nothing. */
  counted: Hash[];
  not_heads: Hash[];
}

/** What POST /v1/usage answered: recorded, or a rate limit to wait out. */
export type UsageReceipt = ({ kind: 'recorded' } & UsageRecord) | { kind: 'rate_limited'; retryAfterMs: number };

/** GET /v1/leaderboard */
export interface Leaderboard {
  leaders: { address: Address; balance: number }[];
  trial_balance: { total: number; entries: number; unbalanced: number[] };
}

/** GET /v1/accounts/:address/history */
export interface AccountHistory {
  address: Address;
  balance: number;
  entries: { entry: number; at: number; kind: string; ref: string; memo: string; amount: number }[];
}

const rateLimited = (res: Response) => ({ kind: 'rate_limited' as const, retryAfterMs: 1000 * Math.max(1, Number(res.headers.get('Retry-After')) || 1) });

/**
 * The relay's sign-in, contribution and reward routes (/v1/auth, /assignment, /shards,
 * /contributions, /usage, /leaderboard, /accounts). Every request carries credentials
 * (`credentials: 'include'`) so the httpOnly session cookie goes with it; the relay must list the
 * page's origin as its `--origin`.
 */
export class AccountsClient extends RelayConnection {
  private send(method: 'GET' | 'POST', path: string, body?: BodyInit, type?: string): Promise<Response> {
    return this.request(path, { method, credentials: 'include', ...(body !== undefined && { body, headers: { 'content-type': type! } }) });
  }

  private async json<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body === undefined ? undefined : JSON.stringify(body), 'application/json');
    if (!res.ok) throw await relayError(res, `${method} ${path}`);
    return (await res.json()) as T;
  }

  challenge(): Promise<LoginChallenge> {
    return this.json('POST', '/auth/nonce');
  }

  /** Signs in: the wallet's signature of the SIWE message, and the session key's signature of the same message (proof that the caller holds the key it delegates to). */
  login(message: string, signature: string, keySignature: string): Promise<Session> {
    return this.json('POST', '/auth/login', { message, signature, key_signature: keySignature });
  }

  async logout(): Promise<void> {
    await this.json('POST', '/auth/logout');
  }

  /** The session this browser's cookie opens, or null when there is none (or it ended). */
  async me(): Promise<Session | null> {
    try {
      return await this.json<Session>('GET', '/auth/me');
    } catch (e) {
      if (e instanceof RelayError && e.status === 401) return null;
      throw e;
    }
  }

  async assignment(): Promise<Assignment> {
    const a = await this.json<Assignment>('GET', '/assignment');
    if (!isHash(a.meta) || !isHash(a.base) || typeof a.slot !== 'string') throw new Error('the assignment names no meta block, base block or slot');
    return a;
  }

  /** The assignment's (or work unit's) training shard, checked against the SHA-256 it states. */
  async shard(a: { shard: { index: number; sha256: string; url: string } }): Promise<Shard> {
    const path = a.shard.url.replace(/^\/v1/, '');
    const res = await this.send('GET', path);
    if (!res.ok) throw await relayError(res, `GET ${path}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const digest = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
    if (digest !== a.shard.sha256) throw new Error(`shard ${a.shard.index} hashes to ${digest}, the relay said ${a.shard.sha256}`);
    return JSON.parse(new TextDecoder().decode(bytes)) as Shard;
  }

  /** This account's work unit in a round on `dataset` (chain D), or on the model's own train split. */
  async roundUnit(dataset?: string): Promise<RoundUnit> {
    const sent = await this.json<RoundUnit>('GET', dataset === undefined ? '/rounds/unit' : `/rounds/unit?dataset=${encodeURIComponent(dataset)}`);
    // A relay from before replay sends none: the unit trains on its own shard alone.
    const u = { ...sent, replay: sent.replay ?? null };
    if (!isHash(u.meta) || !isHash(u.base) || typeof u.slot !== 'string' || !Number.isSafeInteger(u.round)) throw new Error('the work unit names no round, meta block, base block or slot');
    if (u.replay !== null && !(typeof u.replay.fraction === 'number' && u.replay.fraction > 0 && u.replay.fraction < 1 && typeof u.replay.shard?.url === 'string' && typeof u.replay.shard.sha256 === 'string')) {
      throw new Error(`the work unit's replay is not a fraction above 0 and below 1 with a shard to fetch: ${JSON.stringify(u.replay)}`);
    }
    return u;
  }

  /** Posts the blyan-delta-v1 bytes of this account's work unit in round `round`. */
  async roundDelta(round: number, delta: Uint8Array<ArrayBuffer>): Promise<RoundDelivery> {
    const res = await this.send('POST', `/rounds/${round}/deltas`, delta, 'application/octet-stream');
    if (res.status === 202) return { kind: 'submitted' };
    if (res.status === 429) return rateLimited(res);
    if (res.status === 409) {
      const refusal = (await res.clone().json()) as { error?: { code?: string; message?: string } };
      if (refusal.error?.code === 'round_closed') return { kind: 'round_closed', message: refusal.error.message ?? 'the round closed' };
    }
    throw await relayError(res, `POST /rounds/${round}/deltas`);
  }

  round(id: number): Promise<RoundInfo> {
    return this.json('GET', `/rounds/${id}`);
  }

  /** Submits `[u32 n][header JSON][delta]`; a stale base and a rate limit are answers, other refusals throw RelayError. */
  async submit(body: Uint8Array<ArrayBuffer>): Promise<Submission> {
    const res = await this.send('POST', '/contributions', body, 'application/octet-stream');
    if (res.status === 202) return { kind: 'queued', id: ((await res.json()) as { id: number }).id };
    if (res.status === 409) {
      const refusal = (await res.clone().json()) as { error?: { code?: string }; head?: unknown };
      if (refusal.error?.code === 'stale_base' && isHash(refusal.head)) return { kind: 'stale_base', head: refusal.head };
    }
    if (res.status === 429) return rateLimited(res);
    throw await relayError(res, 'POST /contributions');
  }

  /** Posts a usage report: its JSON text and the session key's EIP-191 signature of that text. A rate limit is an answer, other refusals throw RelayError. */
  async reportUsage(report: string, signature: string): Promise<UsageReceipt> {
    const res = await this.send('POST', '/usage', JSON.stringify({ report, signature }), 'application/json');
    if (res.status === 201) return { kind: 'recorded', ...((await res.json()) as UsageRecord) };
    if (res.status === 429) return rateLimited(res);
    throw await relayError(res, 'POST /usage');
  }

  /** The accounts with the largest balances, largest first. */
  leaderboard(limit = 20): Promise<Leaderboard> {
    return this.json('GET', `/leaderboard?limit=${limit}`);
  }

  contribution(id: number): Promise<ContributionView> {
    return this.json('GET', `/contributions/${id}`);
  }

  history(address: Address): Promise<AccountHistory> {
    return this.json('GET', `/accounts/${address}/history`);
  }
}
