import type { Address } from '@blyan/block';
import type { AccountsClient, Leaderboard as Board } from '@blyan/client';
import { useEffect, useState } from 'react';
import { shortHash } from '../ui/format.ts';

/** The accounts with the largest balances (GET /v1/leaderboard), fetched again whenever `refresh` changes. */
export function Leaderboard({ accounts, account, refresh }: { accounts: AccountsClient; account: Address | null; refresh: number }) {
  const [leaders, setLeaders] = useState<Board['leaders']>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    accounts.leaderboard().then(
      (b) => {
        if (!live) return;
        setLeaders(b.leaders);
        setError(null);
      },
      (e: unknown) => live && setError(`leaderboard: ${(e as Error).message}`),
    );
    return () => {
      live = false;
    };
  }, [accounts, refresh]);
  return (
    <section className="panel">
      <h3>Leaderboard</h3>
      {error && <p className="error" data-testid="leaderboard-error">{error}</p>}
      <table className="submissions" data-testid="leaderboard">
        <thead>
          <tr><th>#</th><th>account</th><th>balance</th></tr>
        </thead>
        <tbody>
          {leaders.map((l, i) => (
            <tr key={l.address} data-testid="leader" data-address={l.address} data-balance={l.balance}>
              <td>{i + 1}</td>
              <td title={l.address}>{shortHash(l.address)}{l.address === account && ' (you)'}</td>
              <td>{l.balance}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {leaders.length === 0 && !error && <p className="hint">no credit yet</p>}
    </section>
  );
}
