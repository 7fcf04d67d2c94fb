import { type BlockInfo, type Heads, type HistoryEntry, RelayClient } from '@blyan/client';
import { useEffect, useMemo, useState } from 'react';
import { DatasetsSection } from '../data/DatasetsSection.tsx';
import { SlotDag } from './SlotDag.tsx';
import { formatBytes, shortHash } from './format.ts';

/** Chains, blocks, authors, and each slot's version history and DAG, read straight from the relay. */
export function Explorer({ relay }: { relay: string }) {
  const client = useMemo(() => new RelayClient(relay), [relay]);
  const [heads, setHeads] = useState<Heads | null>(null);
  const [blocks, setBlocks] = useState<BlockInfo[]>([]);
  const [slot, setSlot] = useState<string | null>(null);
  const [history, setHistory] = useState<HistoryEntry[]>([]);
  const [error, setError] = useState<string | null>(null);

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
      <section className="cards">
        <div className="card"><h3>Meta chain A</h3><p>{heads?.chains.A.count ?? '…'} blocks</p><small>head {heads?.meta_head ? shortHash(heads.meta_head) : '—'}</small></div>
        <div className="card"><h3>Parameter DAG B</h3><p>{heads?.chains.B.count ?? '…'} blocks</p><small>{slots.length} slots</small></div>
        <div className="card"><h3>Datasets D</h3><p>{heads?.chains.D.count ?? '…'} blocks</p></div>
        <div className="card"><h3>Authors</h3><p>{authors.length}</p><small>{authors.slice(0, 3).map(([a, n]) => `${shortHash(a)} (${n})`).join(', ')}</small></div>
      </section>
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
              <h3>{slot}: {history.length} version{history.length === 1 ? '' : 's'}</h3>
              <SlotDag slot={slot} meta={heads.meta_head ?? ''} history={history} />
              <table className="list">
                <thead><tr><th>#</th><th>block</th><th>author</th><th>created</th></tr></thead>
                <tbody>
                  {history.map((h) => (
                    <tr key={h.hash}><td>{h.index}</td><td title={h.hash}>{shortHash(h.hash)}</td><td title={h.author}>{shortHash(h.author)}</td><td>{new Date(h.created_at).toLocaleString()}</td></tr>
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
                <tr key={b.hash}><td>{b.seq}</td><td>{b.header.chain}</td><td>{b.slot}</td><td title={b.hash}>{shortHash(b.hash)}</td><td>{formatBytes(b.header.payload_size)}</td><td title={b.header.author}>{shortHash(b.header.author)}</td></tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <DatasetsSection relay={relay} />
    </main>
  );
}
