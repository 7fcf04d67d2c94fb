import { formatTable } from '../../src/cli/table.ts';

/** One round of a swarm run as the table shows it (round 0: the genesis). */
export interface Row {
  round: number;
  contributors: number;
  dropped: number;
  copies: number;
  accepted: number;
  judged: number;
  improvement: number | null;
  newBpb: number;
  oldBpb: number;
  credit: number;
  adversaryCredit: number;
  seconds: number;
}

/** What a run saves after each round (with its tensors beside it). */
export interface Saved {
  round: number;
  slots: string[];
  rows: Row[];
  heads: Record<string, string>;
  seen: Record<string, { id: string; hash: string }[]>;
}

/** The per-round table and the goals' figures. */
export function swarmReport(rows: readonly Row[]): string {
  const first = rows[0]!;
  const last = rows.at(-1)!;
  const table = formatTable(
    ['round', 'contributors', 'dropped (copies)', 'verdict', 'mean improvement (nats/token)', 'new-domain hidden bpb', 'genesis-domain hidden bpb', 'credit paid (to adversaries)', 's'],
    rows.map((r) => [
      r.round === 0 ? 'genesis' : String(r.round),
      String(r.contributors),
      `${r.dropped} (${r.copies})`,
      r.round === 0 ? '' : `${r.accepted}/${r.judged} accepted`,
      r.improvement === null ? '' : r.improvement.toFixed(5),
      r.newBpb.toFixed(4),
      r.oldBpb.toFixed(4),
      `${r.credit} (${r.adversaryCredit})`,
      r.seconds.toFixed(0),
    ]),
  );
  const rounds = rows.slice(1);
  const acceptedShare = rounds.reduce((s, r) => s + r.accepted, 0) / Math.max(1, rounds.reduce((s, r) => s + r.judged, 0));
  const summary = [
    `new-domain hidden bpb ${first.newBpb.toFixed(4)} → ${last.newBpb.toFixed(4)} (${(((last.newBpb - first.newBpb) / first.newBpb) * 100).toFixed(1)} %, goal ≤ −15 %)`,
    `genesis-domain hidden bpb ${first.oldBpb.toFixed(4)} → ${last.oldBpb.toFixed(4)} (${(last.oldBpb - first.oldBpb >= 0 ? '+' : '')}${(last.oldBpb - first.oldBpb).toFixed(4)}, goal ≤ +0.01)`,
    `slot rounds accepted ${(acceptedShare * 100).toFixed(0)} % (goal ≥ 80 %); credit paid ${rounds.reduce((s, r) => s + r.credit, 0)}, to adversaries ${rounds.reduce((s, r) => s + r.adversaryCredit, 0)}`,
  ].join('\n');
  return `${table}\n\n${summary}`;
}
