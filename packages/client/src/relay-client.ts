import { type BlockHeader, type ChainId, type Hash, blockHash, hashBytes, isHash, parseHeader } from '@blyan/block';
import { RelayConnection } from './connection.ts';
import { relayError } from './errors.ts';
import type { BlockInfo, Heads, HistoryEntry, ParamIndex, ProvenTile } from './types.ts';

function checkHashes(slots: unknown, what: string): Record<string, Hash> {
  if (typeof slots !== 'object' || slots === null) throw new Error(`${what} must be an object`);
  for (const [slot, h] of Object.entries(slots)) if (!isHash(h)) throw new Error(`${what}.${slot} is not a block hash`);
  return slots as Record<string, Hash>;
}

/**
 * The relay's read API (/v1). Every header it returns is parsed and checked to hash to the address
 * it was asked for, so a relay cannot swap one block for another; signatures and payloads are
 * checked by verifyHeader and fetchVerifiedPayload.
 */
export class RelayClient extends RelayConnection {
  /** Sends GET base/v1/path; a non-2xx answer becomes a RelayError with the relay's code. */
  async get(path: string, init: RequestInit = {}): Promise<Response> {
    const res = await this.request(path, init);
    if (res.ok) return res;
    throw await relayError(res, `GET ${this.base}/v1${path}`);
  }

  private async json<T>(path: string): Promise<T> {
    return (await (await this.get(path)).json()) as T;
  }

  health(): Promise<{ ok: boolean; blocks: number; meta_head: Hash | null }> {
    return this.json('/health');
  }

  async heads(): Promise<Heads> {
    const h = await this.json<Heads>('/heads');
    checkHashes(h.chains?.B?.heads, 'heads.chains.B.heads');
    return h;
  }

  /** The ParamIndex now, or as it was while `meta` was the meta head. */
  async params(meta?: Hash): Promise<ParamIndex> {
    const p = await this.json<ParamIndex>(meta === undefined ? '/params' : `/params?meta=${meta}`);
    if (!isHash(p.meta) || !isHash(p.version)) throw new Error('params: meta and version must be block hashes');
    checkHashes(p.slots, 'params.slots');
    return p;
  }

  async history(slot: string, version?: Hash): Promise<HistoryEntry[]> {
    const q = version === undefined ? '' : `?version=${version}`;
    return (await this.json<{ history: HistoryEntry[] }>(`/params/${encodeURIComponent(slot)}/history${q}`)).history;
  }

  /** Blocks in acceptance order after `after` (a seq), optionally of one chain. */
  async blocks(options: { after?: number; limit?: number; chain?: ChainId } = {}): Promise<{ blocks: BlockInfo[]; next: number }> {
    const q = new URLSearchParams();
    if (options.after !== undefined) q.set('after', String(options.after));
    if (options.limit !== undefined) q.set('limit', String(options.limit));
    if (options.chain !== undefined) q.set('chain', options.chain);
    const page = await this.json<{ blocks: BlockInfo[]; next: number }>(`/blocks?${q}`);
    for (const b of page.blocks) b.header = checkedHeader(b.hash, b.header);
    return page;
  }

  /** Every block in acceptance order (of one chain, if named), fetched a page at a time as the loop asks: a `break` stops fetching. */
  async *allBlocks(options: { chain?: ChainId; pageSize?: number } = {}): AsyncGenerator<BlockInfo> {
    const limit = options.pageSize ?? 1000;
    for (let after = 0; ; ) {
      const page = await this.blocks({ after, limit, ...(options.chain && { chain: options.chain }) });
      yield* page.blocks;
      if (page.blocks.length < limit) return;
      after = page.next;
    }
  }

  /** A block's header and place, checked to hash to `hash`. */
  async block(hash: Hash): Promise<BlockInfo> {
    const b = await this.json<BlockInfo>(`/blocks/${hash}`);
    return { ...b, hash, header: checkedHeader(hash, b.header) };
  }

  /** The leaf hashes of every tile, in order (not yet checked against any root). */
  async leaves(hash: Hash): Promise<Uint8Array[]> {
    const bytes = new Uint8Array(await (await this.get(`/blocks/${hash}/leaves`)).arrayBuffer());
    if (bytes.length % 32 !== 0) throw new Error(`leaves of ${hash}: ${bytes.length} bytes is not a whole number of hashes`);
    return Array.from({ length: bytes.length / 32 }, (_, i) => bytes.subarray(i * 32, (i + 1) * 32));
  }

  /** The payload as a stream (the response's body). */
  payload(hash: Hash, signal?: AbortSignal): Promise<Response> {
    return this.get(`/blocks/${hash}/payload`, signal ? { signal } : {});
  }

  /** Tile `i` with its audit path (not yet checked against any root). */
  async tile(hash: Hash, i: number, signal?: AbortSignal): Promise<ProvenTile> {
    const res = await this.get(`/blocks/${hash}/tiles/${i}`, signal ? { signal } : {});
    const raw = res.headers.get('Blyan-Proof') ?? '';
    const proof = raw === '' ? [] : raw.split(',').map((h) => {
      if (!isHash(h)) throw new Error(`tile ${i} of ${hash}: Blyan-Proof holds ${JSON.stringify(h)}, not a hash`);
      return hashBytes(h);
    });
    return { bytes: new Uint8Array(await res.arrayBuffer()), proof };
  }
}

function checkedHeader(hash: Hash, raw: unknown): BlockHeader {
  const header = parseHeader(raw);
  const actual = blockHash(header);
  if (actual !== hash) throw new Error(`the relay answered block ${hash} with a header that hashes to ${actual}`);
  return header;
}
