import type { LossPoint } from './useContribute.ts';

const W = 360;
const H = 120;
const PAD = 4;

/** The micro-steps' losses as an inline SVG polyline (newest on the right), with the range on the axis. */
export function LossChart({ points }: { points: LossPoint[] }) {
  if (points.length === 0) return <svg className="loss-chart" width={W} height={H} role="img" aria-label="no micro-steps yet" />;
  const losses = points.map((p) => p.loss);
  const lo = Math.min(...losses);
  const hi = Math.max(...losses);
  const span = hi - lo || 1;
  const x = (i: number) => PAD + (points.length === 1 ? 0 : (i * (W - 2 * PAD)) / (points.length - 1));
  const y = (v: number) => PAD + ((hi - v) * (H - 2 * PAD)) / span;
  const line = points.map((p, i) => `${x(i).toFixed(1)},${y(p.loss).toFixed(1)}`).join(' ');
  return (
    <svg className="loss-chart" width={W} height={H} viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`loss of ${points.length} micro-steps, last ${losses.at(-1)!.toFixed(3)}`}>
      <text x={W - PAD} y={12} textAnchor="end">{hi.toFixed(3)}</text>
      <text x={W - PAD} y={H - PAD} textAnchor="end">{lo.toFixed(3)}</text>
      <polyline points={line} fill="none" stroke="currentColor" strokeWidth={1.5} />
    </svg>
  );
}
