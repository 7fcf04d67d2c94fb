import { type Hash, isHash } from '@blyan/block';
import { type BlockInfo, type Heads, type HistoryEntry, RelayClient } from '@blyan/client';
import { useEffect, useMemo, useState } from 'react';
import { DatasetsSection } from '../data/DatasetsSection.tsx';
import { BlockDetail, blockLink } from './BlockDetail.tsx';
import { SlotDag } from './SlotDag.tsx';
import { count, formatBytes, shortHash } from './format.ts';

/** The block `#/explorer/block/<hash>` opens, if any. */
function openBlock(): Hash | null {
  const h = /^#\/explorer\/block\/([0-9a-f]{64})$/.exec(location.hash)?.[1];
  return h !== undefined && isHash(h) ? h : null;
}

function useOpenBlock(): Hash | null {
  const [hash, setHash] = useState(openBlock);
  useEffect(() => {
    const on = () => setHash(openBlock());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return hash;
}

/** Chains, blocks, authors, and each slot's version history and DAG, read straight from the relay. */
export function Explorer({ relay }: { relay: string }) {
  const client = useMemo(() => new RelayClient(relay), [relay]);
  const [heads, setHeads] = useState<Heads | null>(null);
  const [blocks, setBlocks] = useState<BlockInfo[]>([]);
  const [slot, setSlot] = useState<string | null>(null);
  const [history, setHistory] = useState<HistoryEntry[]>([]);
  const [error, setError] = useState<string | null>(null);
  const open = useOpenBlock();

  useEffect(() => {
    (async () => {
      setHeads(await client.heads());
      const all: BlockInfo[] = [];
      for await (const b of client.allBlocks()) all.push(b);
      setBlocks(all);
    })().catch((e: unknown) => setError((e as Error).message));
  }, [client]);

  useEffect(() => {
    if (slot === null) return;
    client.history(slot).then(setHistory, (e: unknown) => setError((e as Error).message));
  }, [client, slot]);

  const authors = useMemo(() => {
    const m = new Map<string, number>();
    for (const b of blocks) m.set(b.header.author, (m.get(b.header.author) ?? 0) + 1);
    return [...m.entries()].sort((a, b) => b[1] - a[1]);
  }, [blocks]);
  const slots = heads ? Object.keys(heads.chains.B.heads).sort((a, b) => a.localeCompare(b, 'en', { numeric: true })) : [];

  return (
    <main className="explorer" data-testid="explorer">
      {error && <p className="error">{error}</p>}
      <p className="hint">The model as the relay holds it: every block is signed, addressed by the hash of its content, and verified by this page before use. Click a block to open it.</p>
      <section className="cards" data-testid="cards">
        <div className="card"><h3>Meta chain A</h3><p>{heads ? count(heads.chains.A.count, 'block') : '…'}</p><small>The model’s spec and tokenizer, and who may sign and judge blocks. Head {heads?.meta_head ? <a href={blockLink(heads.meta_head)}>{shortHash(heads.meta_head)}</a> : '—'}</small></div>
        <div className="card"><h3>Parameter DAG B</h3><p>{heads ? count(heads.chains.B.count, 'block') : '…'}</p><small>The weights: one block per expert or dense part ({count(slots.length, 'slot')}); a new version points at the one it replaces.</small></div>
        <div className="card"><h3>Datasets D</h3><p>{heads ? count(heads.chains.D.count, 'block') : '…'}</p><small>Text for training and judging contributions, stored by its hash.</small></div>
        <div className="card"><h3>Authors</h3><p>{count(authors.length, 'author')}</p><small>Keys that signed blocks (the genesis key, then contributors): {authors.slice(0, 3).map(([a, n]) => `${shortHash(a)} (${count(n, 'block')})`).join(', ')}</small></div>
      </section>
      {open && <BlockDetail client={client} hash={open} />}
      <section className="columns">
        <div>
          <h3>Slots</h3>
          <ul className="slots" data-testid="slots">
            {slots.map((s) => (
              <li key={s}><button type="button" className={s === slot ? 'on' : ''} onClick={() => setSlot(s)}>{s}</button></li>
            ))}
          </ul>
        </div>
        <div>
          {slot && heads ? (
            <>
              <h3>{slot}: {count(history.length, 'version')}</h3>
              <SlotDag slot={slot} meta={heads.meta_head ?? ''} history={history} />
              <table className="list">
                <thead><tr><th>#</th><th>block</th><th>author</th><th>created</th></tr></thead>
                <tbody>
                  {history.map((h) => (
                    <tr key={h.hash} className="open" onClick={() => (location.hash = blockLink(h.hash))}><td>{h.index}</td><td title={h.hash}><a href={blockLink(h.hash)}>{shortHash(h.hash)}</a></td><td title={h.author}>{shortHash(h.author)}</td><td>{new Date(h.created_at).toLocaleString()}</td></tr>
                  ))}
                </tbody>
              </table>
            </>
          ) : (
            <p className="hint">Pick a slot to see its versions and their DAG.</p>
          )}
          <h3>Blocks ({blocks.length})</h3>
          <table className="list" data-testid="block-list">
            <thead><tr><th>seq</th><th>chain</th><th>slot</th><th>block</th><th>size</th><th>author</th></tr></thead>
            <tbody>
              {blocks.slice(-200).reverse().map((b) => (
                <tr key={b.hash} className="open" data-testid="block-row" onClick={() => (location.hash = blockLink(b.hash))}><td>{b.seq}</td><td>{b.header.chain}</td><td>{b.slot}</td><td title={b.hash}><a href={blockLink(b.hash)}>{shortHash(b.hash)}</a></td><td>{formatBytes(b.header.payload_size)}</td><td title={b.header.author}>{shortHash(b.header.author)}</td></tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <DatasetsSection relay={relay} />
    </main>
  );
}
