import type { AccountsClient } from '@blyan/client';
import type { SignedIn } from '../auth/useAuth.ts';
import { formatBytes, shortHash } from '../ui/format.ts';
import type { UsageView } from '../usage/reporter.ts';
import { Leaderboard } from './Leaderboard.tsx';
import { LossChart } from './LossChart.tsx';
import type { SubmissionView } from './protocol.ts';
import { contributeStatus } from './status-text.ts';
import { useContribute } from './useContribute.ts';
import { plainVerdict } from './verdict-text.ts';

/** A verdict in plain words, with the relay's own figures one click away. */
function Verdict({ s, minImprovement, steps }: { s: SubmissionView; minImprovement: number | null; steps: number }) {
  const v = plainVerdict(s, minImprovement, steps);
  return (
    <div className={`verdict ${v.tone}`}>
      <span data-testid="verdict">{v.headline}</span>
      {v.advice && <small className="advice" data-testid="verdict-advice">{v.advice}</small>}
      {(s.figures || s.reason) && (
        <details data-testid="verdict-figures">
          <summary>figures</summary>
          {s.figures && (
            <small>
              held-out loss {s.figures.baseline.toFixed(5)} → {s.figures.candidate.toFixed(5)} nats/token (Δ {s.figures.improvement.toFixed(5)}
              {minImprovement !== null && `, at least ${minImprovement} needed`}) over {s.figures.tokens.toLocaleString('en')} tokens in {Math.round(s.figures.ms)} ms
            </small>
          )}
          {s.reason && <small>relay: {s.reason}</small>}
        </details>
      )}
    </div>
  );
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
          {contributeStatus(view, session !== null)}
        </p>
        {view.notice && <p className="notice" data-testid="contribute-notice">{view.notice}</p>}
        {view.error && <p className="error" role="alert" data-testid="contribute-error">{view.error}</p>}
        <p data-testid="balance" data-balance={view.balance ?? ''}>
          Your balance: {view.balance ?? '—'} credits <small className="hint">(earned when the relay keeps one of your updates, and when answers use an expert version you wrote)</small>
        </p>
        {session && (
          <>
            <p className="hint" data-testid="usage" data-reports={usage.reports} data-tokens={usage.tokens} data-pending={usage.pending}>
              Usage reported this session: {usage.tokens} expert-tokens in {usage.reports} signed reports{usage.pending > 0 && `, ${usage.pending} waiting`}
            </p>
            <p className="hint" data-testid="usage-explained">
              Your chats are reported as usage and credit the <b>authors of the experts</b> that computed the answers (for now mostly the genesis key), not you: that is how writers of useful experts are paid, from a fixed pool each hour shared in proportion to use. You earn credit by contributing.
            </p>
          </>
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
            <tr><th>expert</th><th>block</th><th>update size</th><th>verdict</th></tr>
          </thead>
          <tbody>
            {view.submissions.map((s) => (
              <tr key={s.round} data-testid="submission" data-state={s.state} data-block={s.block}>
                <td>{s.slot}</td>
                <td title={s.block}>{shortHash(s.block)}{s.rebases > 0 && ` (rebased ${s.rebases}×)`}</td>
                <td title="the compressed sparse update sent, against the expert's full size">{formatBytes(s.size.encodedBytes)} of {formatBytes(s.size.rawBytes)} raw, {s.size.ratio.toFixed(1)}×</td>
                <td><Verdict s={s} minImprovement={a?.rules.min_improvement ?? null} steps={settings.steps} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <Leaderboard accounts={accounts} account={session?.account ?? null} refresh={verdicts + usage.reports} />
    </main>
  );
}
