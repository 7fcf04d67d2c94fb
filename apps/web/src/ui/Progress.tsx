import type { LayerRoute } from '../protocol.ts';
import { formatBytes, shortHash } from './format.ts';
import type { ModelView } from './useModel.ts';

/** Where people wait: each block's bytes and verification, the expert map, and the cache. */
export function Progress({ view }: { view: ModelView }) {
  const blocks = Object.values(view.blocks);
  const modelBytes = view.info?.modelBytes ?? 0;
  return (
    <>
      <details className="panel" open>
        <summary>Cache</summary>
        <div className="meter" data-testid="cache-meter">
          <div style={{ width: `${modelBytes ? Math.min(100, (100 * view.cache.bytes) / modelBytes) : 0}%` }} />
        </div>
        <small>{formatBytes(view.cache.bytes)} in {view.cache.blocks} cached blocks · model {formatBytes(modelBytes)}</small>
        {view.info && (
          <small className="trust" data-testid="trust" data-trust={JSON.stringify(view.info.trust)}>
            Every head verified back to the pinned genesis{view.info.trust.blocks > 0 && ` (${view.info.trust.blocks} blocks in ${Math.round(view.info.trust.ms)} ms)`}
          </small>
        )}
      </details>
      <details className="panel" open>
        <summary>Experts per layer</summary>
        <ExpertMap route={view.route} nExperts={view.info?.config.nExperts ?? 0} />
      </details>
      <details className="panel" open>
        <summary data-testid="blocks-title">{view.blocksOf === 'answer' ? 'Blocks this answer' : 'Blocks loaded to start the model'} ({blocks.length})</summary>
        <ul className="blocks" data-testid="blocks">
          {blocks.map((b) => (
            <li key={b.hash} className={b.state} title={b.hash}>
              <span className="slot">{b.slot}</span>
              <span className="hash">{shortHash(b.hash)}</span>
              <span className="bytes">{b.source === 'cache' ? `cache ${formatBytes(b.total)}` : `${formatBytes(b.received)} / ${formatBytes(b.total)}`}</span>
              <span className="mark">{b.state === 'verified' ? '✓' : b.state === 'failed' ? '✗' : b.tiles ? `${b.verifiedTiles}/${b.tiles}` : '…'}</span>
            </li>
          ))}
        </ul>
      </details>
    </>
  );
}

function ExpertMap({ route, nExperts }: { route: LayerRoute[]; nExperts: number }) {
  if (route.length === 0) return <small>No answer yet.</small>;
  return (
    <div data-testid="expert-map" data-route={JSON.stringify(route)}>
      <table className="experts">
        <tbody>
          {route.map((r, l) => (
            <tr key={l}>
              <th>L{l}</th>
              {Array.from({ length: nExperts }, (_, e) => {
                const used = r.used.includes(e);
                const kept = (r.selected ?? r.used).includes(e);
                const where = r.downloaded.includes(e) ? 'downloaded' : r.cached.includes(e) ? 'cached' : '';
                return <td key={e} className={`${used ? 'used' : kept ? 'kept' : ''} ${where}`} title={`expert ${e}${used ? ', used' : ''}${where ? `, ${where}` : ''}`}>{e}</td>;
              })}
            </tr>
          ))}
        </tbody>
      </table>
      <small className="legend"><i className="used downloaded" /> used, downloaded <i className="used cached" /> used, from cache <i className="kept" /> static set, unused</small>
    </div>
  );
}
