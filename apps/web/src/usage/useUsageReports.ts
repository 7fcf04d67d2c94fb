import type { AccountsClient } from '@blyan/client';
import { useCallback, useEffect, useRef, useState } from 'react';
import { privateKeyToAccount } from 'viem/accounts';
import { storedSessionKey } from '../auth/session-key.ts';
import type { SignedIn } from '../auth/useAuth.ts';
import type { AnswerStats } from '../protocol.ts';
import { NO_USAGE, UsageReporter, type UsageView } from './reporter.ts';

/**
 * Usage reports while signed in: `record` takes each finished answer's stats; reports are signed
 * by this tab's session key. Signing out drops the reporter and whatever it had not sent.
 */
export function useUsageReports(accounts: AccountsClient, session: SignedIn | null) {
  const reporter = useRef<UsageReporter | null>(null);
  const [usage, setUsage] = useState<UsageView>(NO_USAGE);
  const account = session?.account ?? null;
  const sessionKey = session?.sessionKey ?? null;

  useEffect(() => {
    const key = storedSessionKey();
    if (account === null || sessionKey === null || key === null) return;
    const signer = privateKeyToAccount(key);
    const r = new UsageReporter(accounts, { bind: { account, origin: location.origin }, sign: (message) => signer.signMessage({ message }), onChange: setUsage });
    reporter.current = r;
    return () => {
      r.close();
      reporter.current = null;
      setUsage(NO_USAGE);
    };
  }, [accounts, account, sessionKey]);

  const record = useCallback((stats: AnswerStats) => void reporter.current?.record(stats.expertTokens), []);
  return { usage, record };
}
