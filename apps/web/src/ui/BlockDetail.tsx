import { type Address, type Hash, merkleRootOfLeaves, tileCount } from '@blyan/block';
import { type BlockInfo, type HistoryEntry, type RelayClient, relayDelegations, verifyHeader } from '@blyan/client';
import { useEffect, useMemo, useState } from 'react';
import { bytesToHex } from 'viem';
import { count, formatBytes, shortHash } from './format.ts';

interface Detail {
  block: BlockInfo;
  /** The key that signed the block hash, recovered from its signature once the header hashes to it (the author, or a session key a proven delegation covers). */
  signer: Address;
  leaves: Uint8Array[];
  history: HistoryEntry[];
}

/** How many tiles the grid draws; a larger payload says how many more there are. */
const TILES_SHOWN = 512;

export const blockLink = (hash: string): string => `#/explorer/block/${hash}`;

/** One block: header (checked to hash to `hash`), signature and signer (the author or a proven delegate), payload tiles (checked against the header's Merkle root), the verdict that let it in, and its slot's history. */
export function BlockDetail({ client, hash }: { client: RelayClient; hash: Hash }) {
  const [detail, setDetail] = useState<Detail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const delegated = useMemo(() => relayDelegations(client), [client]);
  useEffect(() => {
    let live = true;
    setDetail(null);
    setError(null);
    (async () => {
      const block = await client.block(hash);
      const [signer, leaves, history] = await Promise.all([
        verifyHeader(hash, block.header, delegated),
        client.leaves(hash),
        block.header.chain === 'B' ? client.history(block.slot) : Promise.resolve([]),
      ]);
      if (live) setDetail({ block, signer, leaves, history });
    })().catch((e: unknown) => live && setError((e as Error).message));
    return () => {
      live = false;
    };
  }, [client, delegated, hash]);

  if (error) return <p className="error" data-testid="block-error">Block {shortHash(hash)}: {error}</p>;
  if (!detail) return <p className="hint">Loading block {shortHash(hash)}…</p>;
  const { block, signer, leaves, history } = detail;
  const h = block.header;
  const tiles = tileCount(h.payload_size, h.tile_size);
  const rootMatches = leaves.length === tiles && merkleRootOfLeaves(leaves) === h.merkle_root;
  const v = block.verdict;
  return (
    <section className="block-detail panel" data-testid="block-detail" data-hash={hash}>
      <h3>Block {shortHash(hash)} · {block.slot}</h3>
      <dl>
        <dt>hash</dt><dd className="mono">{hash}</dd>
        <dt>chain</dt><dd>{h.chain} · {h.type}, version {h.index} · accepted as block {block.seq}</dd>
        <dt>created</dt><dd>{new Date(h.created_at).toLocaleString()}</dd>
        <dt>replaces</dt><dd>{h.prev ? <a href={blockLink(h.prev)} className="mono">{shortHash(h.prev)}</a> : 'nothing (first version)'}</dd>
        <dt>depends on</dt><dd>{h.depends_on.length ? h.depends_on.map((d) => <a key={d} href={blockLink(d)} className="mono">{shortHash(d)} </a>) : 'nothing'}</dd>
      </dl>
      <h4>Signature</h4>
      <dl data-testid="block-signature">
        <dt>author</dt><dd className="mono">{h.author}</dd>
        <dt>signed by</dt><dd>{signer === h.author ? 'the author’s own key' : <>a session key the author delegated, <span className="mono">{signer}</span></>}</dd>
        <dt>signature</dt><dd className="mono wrap">{h.sig}</dd>
      </dl>
      <h4>Payload: {formatBytes(h.payload_size)} in {count(tiles, 'tile')} of {formatBytes(h.tile_size)}</h4>
      <p className={rootMatches ? 'ok' : 'error'} data-testid="block-tiles" data-tiles={leaves.length}>
        {rootMatches ? `The ${count(leaves.length, 'tile hash', 'tile hashes')} rebuild the header’s Merkle root ${shortHash(h.merkle_root)}: each tile can be checked on its own as it downloads.` : `The relay’s tile hashes do not rebuild the header’s Merkle root ${shortHash(h.merkle_root)}.`}
      </p>
      <div className="tiles">
        {leaves.slice(0, TILES_SHOWN).map((leaf, i) => <i key={i} title={`tile ${i}: ${bytesToHex(leaf)}`} />)}
        {leaves.length > TILES_SHOWN && <small> and {count(leaves.length - TILES_SHOWN, 'more tile')}</small>}
      </div>
      <h4>Verdict</h4>
      <p data-testid="block-verdict">
        {v
          ? `${v.accepted ? 'Accepted' : 'Refused'} by evaluator ${shortHash(v.evaluator)} on ${new Date(v.judged_at).toLocaleString()}: held-out loss ${v.baseline.toFixed(5)} → ${v.candidate.toFixed(5)} nats/token over ${v.tokens.toLocaleString('en')} tokens.`
          : 'Signed by an authority the meta chain names (genesis or an upgrade): it needed no evaluation.'}
      </p>
      {history.length > 0 && (
        <>
          <h4>History of {block.slot}: {count(history.length, 'version')}</h4>
          <ol className="history" data-testid="block-history">
            {history.map((e) => (
              <li key={e.hash} className={e.hash === hash ? 'on' : ''}>
                <a href={blockLink(e.hash)} className="mono">v{e.index} {shortHash(e.hash)}</a> by <span className="mono">{shortHash(e.author)}</span>, {new Date(e.created_at).toLocaleString()}
                {e.verdict ? ` · judged ${(e.verdict.baseline - e.verdict.candidate).toFixed(5)} nats/token better` : ' · authority-signed'}
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}
