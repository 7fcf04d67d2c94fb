import type { FetchReason, PlannedFetch } from '../protocol.ts';

const REASON: Record<FetchReason, string> = {
  prompt: 'prompt set (before the first token)',
  predicted: 'predicted from the router (prefetched while answering)',
  'on-demand': 'on demand (a token needed it)',
};

/** What the download planner fetched for this answer and why. */
export function DownloadPlan({ fetches }: { fetches: PlannedFetch[] }) {
  if (fetches.length === 0) return <small>No expert fetched yet.</small>;
  const count = (r: FetchReason) => fetches.filter((f) => f.reason === r).length;
  return (
    <div data-testid="download-plan" data-plan={JSON.stringify(fetches)}>
      <small>{(Object.keys(REASON) as FetchReason[]).map((r) => `${count(r)} ${REASON[r]}`).join(' · ')}</small>
      <ul className="blocks">
        {fetches.map((f) => (
          <li key={f.slot} className={f.reason}>
            <span className="slot">{f.slot}</span>
            <span className="hash">{f.reason}</span>
            <span className="bytes">{f.source === 'cache' ? 'from cache' : 'downloaded'}</span>
            <span className="mark" title="share of the prompt's router mass in its layer">{(100 * f.mass).toFixed(0)} %</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
