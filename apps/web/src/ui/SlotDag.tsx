import type { HistoryEntry } from '@blyan/client';
import { shortHash } from './format.ts';

const W = 120;
const H = 40;
const GAP = 40;

/** A slot's DAG: the meta block every version depends on, and each version pointing back at the one it replaced. */
export function SlotDag({ slot, meta, history }: { slot: string; meta: string; history: HistoryEntry[] }) {
  const x = (i: number) => 10 + i * (W + GAP);
  const width = x(history.length) + 10;
  return (
    <svg className="dag" width={width} height={H * 3 + 20} role="img" aria-label={`DAG of ${slot}`}>
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" /></marker>
      </defs>
      <g>
        <rect x={x(0)} y={10} width={W} height={H} rx={6} className="meta" />
        <text x={x(0) + W / 2} y={10 + H / 2 + 4} textAnchor="middle">meta {shortHash(meta)}</text>
      </g>
      {history.map((h, i) => (
        <g key={h.hash}>
          <line x1={x(i) + W / 2} y1={H * 2 + 10} x2={x(0) + W / 2} y2={10 + H} markerEnd="url(#arrow)" className="dep" />
          {i > 0 && <line x1={x(i)} y1={H * 2 + 10 + H / 2} x2={x(i - 1) + W} y2={H * 2 + 10 + H / 2} markerEnd="url(#arrow)" className="prev" />}
          <rect x={x(i)} y={H * 2 + 10} width={W} height={H} rx={6} className={i === history.length - 1 ? 'head' : 'old'} />
          <text x={x(i) + W / 2} y={H * 2 + 10 + H / 2 + 4} textAnchor="middle">v{h.index} {shortHash(h.hash)}</text>
        </g>
      ))}
    </svg>
  );
}
