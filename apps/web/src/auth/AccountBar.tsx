import { shortHash } from '../ui/format.ts';
import type { AuthState } from './useAuth.ts';
import { NO_WALLET, type Wallet } from './wallets.ts';

interface Props {
  auth: AuthState;
  wallets: Wallet[];
  chosen: Wallet | null;
  choose: (id: string) => void;
  signIn: () => void;
  logout: () => void;
  /** A change in the wallet the user should know of (chain switched). */
  note: string | null;
}

/** Login state in the header: the signed-in address and logout, the wallets to sign in with, or what to install. */
export function AccountBar({ auth, wallets, chosen, choose, signIn, logout, note }: Props) {
  if (auth.state === 'in') {
    return (
      <span className="account" data-testid="account" data-address={auth.account} title={`session key ${auth.sessionKey}, until ${new Date(auth.expiresAt).toLocaleString()}`}>
        {note && <span className="hint" data-testid="wallet-note">{note}</span>}
        {shortHash(auth.account)}
        <button type="button" onClick={logout} data-testid="logout">Log out</button>
      </span>
    );
  }
  return (
    <span className="account">
      {auth.state === 'out' && auth.error && <span className="error" role="alert" data-testid="login-error">{auth.error}</span>}
      {wallets.length === 0 && auth.state !== 'checking' ? (
        <span className="hint no-wallet" data-testid="no-wallet">{NO_WALLET}</span>
      ) : (
        <>
          {wallets.length > 1 && (
            <select data-testid="wallet" aria-label="Wallet" value={chosen?.id ?? ''} onChange={(e) => choose(e.target.value)}>
              {wallets.map((w) => <option key={w.id} value={w.id}>{w.name}</option>)}
            </select>
          )}
          <button type="button" onClick={signIn} disabled={auth.state !== 'out' || chosen === null} data-testid="login">
            {auth.state === 'signing' ? 'Signing in…' : wallets.length === 1 && chosen?.id !== 'injected' && chosen ? `Sign in with ${chosen.name}` : 'Sign in with Ethereum'}
          </button>
        </>
      )}
    </span>
  );
}
