import type { AccountsClient } from '@blyan/client';
import type { SignedIn } from '../auth/useAuth.ts';
import { formatBytes, shortHash } from '../ui/format.ts';
import type { UsageView } from '../usage/reporter.ts';
import { Leaderboard } from './Leaderboard.tsx';
import { LossChart } from './LossChart.tsx';
import type { UnitView } from './protocol.ts';
import { contributeStatus } from './status-text.ts';
import { useContribute } from './useContribute.ts';
import { plainVerdict } from './verdict-text.ts';

/** A round's verdict in plain words, with the relay's own figures one click away. */
function Verdict({ u }: { u: UnitView }) {
  const v = plainVerdict(u);
  const i = u.info;
  return (
    <div className={`verdict ${v.tone}`}>
      <span data-testid="verdict">{v.headline}</span>
      {v.advice && <small className="advice" data-testid="verdict-advice">{v.advice}</small>}
      {i && (i.improvement !== null || i.reason) && (
        <details data-testid="verdict-figures">
          <summary>figures</summary>
          {i.improvement !== null && (
            <small>
              held-out loss: mean improvement {i.improvement.toFixed(5)} nats/token, 99 % lower bound {i.lower?.toFixed(5)}
              {i.genesis && `; original text against the genesis model: ${i.genesis.improvement.toFixed(5)} (lower bound ${i.genesis.lower.toFixed(5)}, may not fall below −${i.genesis.bound.toFixed(5)})`}
            </small>
          )}
          {i.reason && <small>relay: {i.reason}</small>}
        </details>
      )}
    </div>
  );
}

const ownScore = (u: UnitView): string => {
  if (u.own === null) return u.state === 'training' || u.state === 'submitting' ? '…' : '—';
  const gain = u.own.improvement === null ? 'not scored yet' : `${u.own.improvement >= 0 ? '−' : '+'}${Math.abs(u.own.improvement).toFixed(4)} nats/token on its sample`;
  return `${OWN_STATUS[u.own.status]}, ${gain}`;
};
/** The relay's screen outcome in words: a delta that lowered its sample's loss, but not surely by the margin, is dropped, not harmful. */
const OWN_STATUS: Record<NonNullable<UnitView['own']>['status'], string> = { submitted: 'waiting', kept: 'kept', hurt: 'dropped', copy: 'dropped as a copy' };

/** Lend this browser's GPU: the opt-in switch, the assignment, live loss, submissions, balance, usage reports and the leaderboard. */
export function ContributePanel({ relay, accounts, session, usage }: { relay: string; accounts: AccountsClient; session: SignedIn | null; usage: UsageView }) {
  const { view, settings, setOn, update } = useContribute(relay, accounts, session?.account ?? null);
  const current = view.units[0] ?? null;
  const verdicts = view.units.filter((u) => u.state === 'accepted' || u.state === 'rejected').length;
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
          Dataset to train for <small className="hint">(a dataset name from the Data page; empty: the model’s own text)</small>
          <input type="text" value={settings.dataset} disabled={view.on} placeholder="the model’s own text" onChange={(e) => update({ dataset: e.target.value.trim() })} data-testid="contribute-dataset" />
        </label>
        <p className="status" data-testid="contribute-status" data-paused={view.paused ?? ''}>
          {contributeStatus(view, session !== null)}
        </p>
        {view.notice && <p className="notice" data-testid="contribute-notice">{view.notice}</p>}
        {view.error && <p className="error" role="alert" data-testid="contribute-error">{view.error}</p>}
        <p data-testid="balance" data-balance={view.balance ?? ''}>
          Your balance: {view.balance ?? '—'} credits <small className="hint">(earned when a round you worked in is kept, when a round trains on a dataset you uploaded, and when answers use an expert version you wrote)</small>
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
        <h3>Current round</h3>
        {current ? (
          <p data-testid="unit" data-round={current.round} data-slot={current.slot} data-dataset={current.dataset ?? ''} data-state={current.state}>
            Round {current.round}: {current.slot} from {shortHash(current.base)}, {current.steps} micro-steps on shard {current.shard.index + 1} of {current.shard.of}
            {current.dataset ? ` of dataset ${current.dataset}` : ' of the model’s own text'}
            {current.info && `; ${current.info.deltas} of ${current.info.contributors} deltas in`}
            {view.backend && ` · training on ${view.backend === 'webgpu' ? 'WebGPU' : 'the CPU reference'}`}
          </p>
        ) : (
          <p className="hint">none yet</p>
        )}
        <LossChart points={view.losses} />
        {view.speed && <p className="hint" data-testid="speed">{view.speed.ms.toFixed(0)} ms per micro-step, {view.speed.tokensPerSecond.toFixed(0)} tokens/s</p>}
      </section>
      <section className="panel">
        <h3>Rounds</h3>
        <table className="submissions" data-testid="rounds">
          <thead>
            <tr><th>round</th><th>expert</th><th>your delta</th><th>your score</th><th>verdict</th><th>your credit</th></tr>
          </thead>
          <tbody>
            {view.units.map((u) => (
              <tr key={u.round} data-testid="round-row" data-round={u.round} data-state={u.state} data-block={u.info?.block ?? ''}>
                <td>{u.round}{u.dataset && <small className="hint"> {u.dataset}</small>}</td>
                <td>{u.slot}</td>
                <td title="the compressed sparse update sent, against the expert's full size">{u.size ? `${formatBytes(u.size.encodedBytes)} of ${formatBytes(u.size.rawBytes)} raw, ${u.size.ratio.toFixed(1)}×` : '—'}</td>
                <td data-testid="own-score">{ownScore(u)}</td>
                <td><Verdict u={u} /></td>
                <td data-testid="round-credit" data-credit={u.own?.credit ?? ''}>{u.state === 'accepted' ? (u.own?.credit ?? 0) : u.state === 'rejected' || u.state === 'unsent' ? 0 : '…'}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {view.rules && <p className="hint">The relay takes deltas that change at most {(100 * view.rules.max_density).toFixed(0)} % of an expert’s entries, by at most {view.rules.max_relative_norm} × its norm.</p>}
      </section>
      <Leaderboard accounts={accounts} account={session?.account ?? null} refresh={verdicts + usage.reports} />
    </main>
  );
}
