import type { DatasetDetail, DatasetSummary } from '@blyan/data';
import { useEffect, useMemo, useState } from 'react';
import { formatBytes, shortHash } from '../ui/format.ts';
import { DataClient } from './data-client.ts';

const tiers = (t: DatasetSummary['tiers']) => `${t.gold} / ${t.silver} / ${t.experimental}`;

/** Chain D in the explorer: each dataset like a model slot (head, versions, blocks, documents, sizes, tiers, uploaders, reviews). */
export function DatasetsSection({ relay }: { relay: string }) {
  const client = useMemo(() => new DataClient(relay), [relay]);
  const [list, setList] = useState<DatasetSummary[] | null>(null);
  const [open, setOpen] = useState<DatasetDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    client.datasets().then(setList, (e: unknown) => setError((e as Error).message));
  }, [client]);
  const show = (name: string) => client.dataset(name).then(setOpen, (e: unknown) => setError((e as Error).message));

  return (
    <section className="datasets" data-testid="datasets">
      <h3>Datasets ({list?.length ?? '…'})</h3>
      {error && <p className="error">{error}</p>}
      <table className="list" data-testid="dataset-list">
        <thead><tr><th>name</th><th>head</th><th>versions</th><th>blocks</th><th>documents</th><th>text</th><th>on chain</th><th>gold / silver / exp.</th><th>uploaders</th><th>pending</th><th>votes</th></tr></thead>
        <tbody>
          {list?.map((d) => (
            <tr key={d.name} data-name={d.name}>
              <td><button type="button" onClick={() => void show(d.name)}>{d.name}</button></td>
              <td title={d.head ?? ''}>{d.head ? shortHash(d.head) : '—'}</td>
              <td>{d.versions}</td><td>{d.blocks}</td><td>{d.documents}</td>
              <td>{formatBytes(d.text_bytes)}</td><td>{formatBytes(d.payload_bytes)}</td>
              <td>{tiers(d.tiers)}</td>
              <td>{d.uploaders.map(shortHash).join(', ')}</td>
              <td>{d.pending}</td><td>{d.votes}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {open && (
        <div data-testid="dataset-detail">
          <h3>{open.name}: uploads</h3>
          <table className="list">
            <thead><tr><th>#</th><th>uploader</th><th>source</th><th>licence</th><th>status</th><th>documents</th><th>gold / silver / exp.</th><th>review</th><th>blocks</th></tr></thead>
            <tbody>
              {open.uploads.map((u) => (
                <tr key={u.id}>
                  <td>{u.id}</td><td title={u.uploader}>{shortHash(u.uploader)}</td><td>{u.source}</td><td>{u.licence}</td>
                  <td>{u.status}</td><td>{u.documents - u.hidden} + {u.hidden} held out</td><td>{tiers(u.tiers)}</td>
                  <td>{u.sample.keep + u.sample.drop}/{u.sample.size} settled, {u.sample.votes} votes</td>
                  <td>{u.blocks.map((b) => `${shortHash(b.hash)} ${formatBytes(b.payload_bytes)}`).join(', ') || '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
