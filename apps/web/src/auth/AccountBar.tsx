import { shortHash } from '../ui/format.ts';
import type { AuthState } from './useAuth.ts';

/** Login state in the header: the signed-in address and logout, or the sign-in button. */
export function AccountBar({ auth, login, logout }: { auth: AuthState; login: () => void; logout: () => void }) {
  if (auth.state === 'in') {
    return (
      <span className="account" data-testid="account" data-address={auth.account} title={`session key ${auth.sessionKey}, until ${new Date(auth.expiresAt).toLocaleString()}`}>
        {shortHash(auth.account)}
        <button type="button" onClick={logout} data-testid="logout">Log out</button>
      </span>
    );
  }
  return (
    <span className="account">
      {auth.state === 'out' && auth.error && <span className="error" role="alert" data-testid="login-error">{auth.error}</span>}
      <button type="button" onClick={login} disabled={auth.state !== 'out'} data-testid="login">
        {auth.state === 'signing' ? 'Signing in…' : 'Sign in with Ethereum'}
      </button>
    </span>
  );
}
