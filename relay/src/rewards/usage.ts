import { createHash } from 'node:crypto';
import type { Address, Hash } from '@blyan/block';
import { isHash } from '@blyan/block';
import { type Hex, isHex, recoverMessageAddress } from 'viem';
import type { Delegation } from '../auth/auth-store.ts';
import type { IndexStore } from '../store/index-store.ts';
import { type PoolConfig, periodOf } from './pool.ts';
import type { UsageStore } from './usage-store.ts';

/**
 * A usage report, as the client signs it: the JSON text `report` (UTF-8, EIP-191 personal_sign by
 * the session key) of `{ account, origin, created_at, experts: [{ block, tokens }] }`: how many
 * tokens each expert block computed for `account` since the last report, bound to this relay's
 * sign-in origin so it counts nowhere else.
 */
export interface UsageBody {
  readonly report: string;
  readonly signature: string;
}

interface Report {
  account: string;
  origin: string;
  created_at: number;
  experts: { block: Hash; tokens: number }[];
}

export interface UsageLimits {
  readonly maxTokens: number;
  /** How far created_at may be from now. */
  readonly skewMs: number;
  /** The relay's sign-in origin, which the report must name. */
  readonly origin: string;
  readonly pool: PoolConfig;
}

export type UsageResult =
  | { ok: true; id: string; tokens: number; period: number; counted: Hash[]; not_heads: Hash[] }
  | { ok: false; status: 400 | 403 | 409 | 422; code: string; message: string };

const refuse = (status: 400 | 403 | 409 | 422, code: string, message: string): UsageResult => ({ ok: false, status, code, message });

function parseReport(text: string, maxTokens: number): Report | string {
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch (e) {
    return `report is not JSON: ${(e as Error).message}`;
  }
  const r = x as Partial<Report>;
  if (typeof r !== 'object' || r === null || !Number.isSafeInteger(r.created_at)) return 'report.created_at must be an integer (ms)';
  if (typeof r.account !== 'string' || typeof r.origin !== 'string') return 'report must name its account and the relay origin';
  if (!Array.isArray(r.experts) || r.experts.length < 1 || r.experts.length > 256) return 'report.experts must list 1 to 256 entries';
  let total = 0;
  const seen = new Set<string>();
  for (const e of r.experts as unknown[]) {
    const { block, tokens } = e as { block: unknown; tokens: unknown };
    if (typeof block !== 'string' || !isHash(block) || seen.has(block)) return 'each entry needs a distinct block hash';
    if (!Number.isSafeInteger(tokens) || (tokens as number) < 1) return 'each entry needs tokens, a positive integer';
    seen.add(block);
    total += tokens as number;
  }
  if (total > maxTokens) return `a report may claim at most ${maxTokens} tokens, this one claims ${total}`;
  return r as Report;
}

/**
 * Records a signed usage report. It mints nothing: each (account, block) pair counts once toward
 * the report's period, and only for a block that is its slot's head now and that someone other
 * than the account wrote; UsageStore.settle later splits the period's fixed pool over those counts.
 * The report must be signed by the session key (not the wallet), name the session's account and
 * this relay's origin, and is taken once (its SHA-256 is its id). Tokens feed slot hotness only.
 */
export async function recordUsage(
  usage: UsageStore,
  index: IndexStore,
  session: Delegation,
  body: UsageBody,
  limits: UsageLimits,
  now: number,
): Promise<UsageResult> {
  if (typeof body?.report !== 'string' || typeof body.signature !== 'string') return refuse(400, 'malformed_report', 'body must be { report: string, signature: 0x-hex }');
  if (!isHex(body.signature) || body.signature.length !== 132) return refuse(400, 'malformed_report', 'signature must be 65 bytes of 0x-hex');
  let signer: string;
  try {
    signer = (await recoverMessageAddress({ message: body.report, signature: body.signature as Hex })).toLowerCase();
  } catch (e) {
    return refuse(403, 'bad_signature', `signature does not recover: ${(e as Error).message.split('\n')[0]}`);
  }
  if (signer === session.account) return refuse(403, 'bad_signature', 'usage reports are signed by the session key, not the wallet');
  if (signer !== session.sessionKey) return refuse(403, 'bad_signature', `report is signed by ${signer}, not by this session's key`);
  const report = parseReport(body.report, limits.maxTokens);
  if (typeof report === 'string') return refuse(400, 'malformed_report', report);
  if (report.account.toLowerCase() !== session.account) return refuse(403, 'wrong_account', `report is for ${report.account}, this session is ${session.account}`);
  if (report.origin !== limits.origin) return refuse(403, 'wrong_origin', `report is for ${report.origin}, this relay signs in ${limits.origin}`);
  if (Math.abs(report.created_at - now) > limits.skewMs) return refuse(422, 'stale_report', `report is dated ${report.created_at}, more than ${limits.skewMs / 1000} s from now`);
  const meta = await index.metaHead();
  const heads = meta === null ? {} : await index.paramIndex((await index.versionOf(meta))!);
  const rows: { slot: string; block: Hash; tokens: number; author: Address; head: boolean }[] = [];
  for (const e of report.experts) {
    const b = await index.block(e.block);
    if (b?.header.type !== 'expert') return refuse(422, 'not_expert', `${e.block} is not an expert block on this relay`);
    rows.push({ slot: b.slot, block: e.block, tokens: e.tokens, author: b.header.author, head: heads[b.slot] === e.block });
  }
  const id = createHash('sha256').update(body.report, 'utf8').digest('hex');
  const tokens = rows.reduce((s, r) => s + r.tokens, 0);
  const lines = rows.map((r) => ({ slot: r.slot, block: r.block, tokens: r.tokens, author: r.author, counts: r.head && r.author !== session.account }));
  const recorded = await usage.record({ id, account: session.account, at: now, tokens, lines }, periodOf(now, limits.pool));
  if (recorded === null) return refuse(409, 'duplicate_report', `report ${id} was already recorded`);
  return { ok: true, id, tokens, period: recorded.period, counted: recorded.counted, not_heads: rows.filter((r) => !r.head).map((r) => r.block) };
}
