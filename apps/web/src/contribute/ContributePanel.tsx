import type { AccountsClient } from '@blyan/client';
import type { SignedIn } from '../auth/useAuth.ts';
import { formatBytes, shortHash } from '../ui/format.ts';
import type { UsageView } from '../usage/reporter.ts';
import { Leaderboard } from './Leaderboard.tsx';
import { LossChart } from './LossChart.tsx';
import type { SubmissionView } from './protocol.ts';
import { useContribute } from './useContribute.ts';

const PAUSED = { off: 'off', answering: 'paused: answering a prompt first', hidden: 'paused while the tab is hidden' } as const;

function verdict(s: SubmissionView): string {
  if (s.state === 'accepted') return `accepted, Δ ${s.improvement!.toFixed(5)} nats/token, +${s.credit ?? 0} credit`;
  if (s.state === 'rejected') return `refused: ${s.reason ?? 'no reason given'}`;
  return s.state;
}

/** Lend this browser's GPU: the opt-in switch, the assignment, live loss, submissions, balance, usage reports and the leaderboard. */
export function ContributePanel({ relay, accounts, session, usage }: { relay: string; accounts: AccountsClient; session: SignedIn | null; usage: UsageView }) {
  const { view, settings, setOn, update } = useContribute(relay, accounts, session?.account ?? null);
  const a = view.assignment;
  const verdicts = view.submissions.filter((s) => s.state === 'accepted' || s.state === 'rejected').length;
  return (
    <main className="contribute" data-testid="contribute">
      <section className="panel">
        <label className="check">
          <input type="checkbox" checked={view.on} disabled={session === null} onChange={(e) => setOn(e.target.checked)} data-testid="contribute-switch" />
          Contribute this browser’s idle GPU {session === null && <span className="hint">(sign in first)</span>}
        </label>
        <label className="check">
          <input type="checkbox" checked={settings.pauseWhenHidden} onChange={(e) => update({ pauseWhenHidden: e.target.checked })} />
          Pause while this tab is hidden
        </label>
        <label>
          Micro-steps per submission
          <input type="number" min={1} max={1000} value={settings.steps} disabled={view.on} onChange={(e) => update({ steps: Math.max(1, Math.floor(Number(e.target.value) || 1)) })} data-testid="contribute-steps" />
        </label>
        <p className="status" data-testid="contribute-status" data-paused={view.paused ?? ''}>
          {view.on && view.paused !== null ? PAUSED[view.paused] : view.status}
        </p>
        {view.notice && <p className="notice" data-testid="contribute-notice">{view.notice}</p>}
        {view.error && <p className="error" role="alert" data-testid="contribute-error">{view.error}</p>}
        <p data-testid="balance" data-balance={view.balance ?? ''}>Balance: {view.balance ?? '—'}</p>
        {session && (
          <p className="hint" data-testid="usage" data-reports={usage.reports} data-tokens={usage.tokens} data-pending={usage.pending}>
            Usage reported this session: {usage.tokens} expert-tokens in {usage.reports} signed reports{usage.pending > 0 && `, ${usage.pending} waiting`}
          </p>
        )}
        {usage.error && <p className="error" data-testid="usage-error">{usage.error}</p>}
      </section>
      <section className="panel">
        <h3>Assignment</h3>
        {a ? (
          <p data-testid="assignment" data-slot={a.slot}>
            {a.slot} ({a.reason === 'hot' ? 'hot path' : 'round robin'}) from {shortHash(a.base)}, train shard {a.shard.index + 1} of {a.shard.of}; the relay accepts a drop of at least {a.rules.min_improvement} nats/token
            {view.backend && ` · training on ${view.backend === 'webgpu' ? 'WebGPU' : 'the CPU reference'}`}
          </p>
        ) : (
          <p className="hint">none yet</p>
        )}
        <LossChart points={view.losses} />
        {view.speed && <p className="hint" data-testid="speed">{view.speed.ms.toFixed(0)} ms per micro-step, {view.speed.tokensPerSecond.toFixed(0)} tokens/s</p>}
      </section>
      <section className="panel">
        <h3>Submissions</h3>
        <table className="submissions" data-testid="submissions">
          <thead>
            <tr><th>expert</th><th>block</th><th>delta</th><th>verdict</th></tr>
          </thead>
          <tbody>
            {view.submissions.map((s) => (
              <tr key={s.round} data-testid="submission" data-state={s.state} data-block={s.block}>
                <td>{s.slot}</td>
                <td title={s.block}>{shortHash(s.block)}{s.rebases > 0 && ` (rebased ${s.rebases}×)`}</td>
                <td>{formatBytes(s.size.encodedBytes)} of {formatBytes(s.size.rawBytes)} raw, {s.size.ratio.toFixed(1)}×</td>
                <td>{verdict(s)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <Leaderboard accounts={accounts} account={session?.account ?? null} refresh={verdicts + usage.reports} />
    </main>
  );
}
