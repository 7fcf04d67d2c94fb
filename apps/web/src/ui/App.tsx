import { useEffect, useState } from 'react';
import { AccountBar } from '../auth/AccountBar.tsx';
import { useAuth } from '../auth/useAuth.ts';
import { useWalletSession } from '../auth/useWalletSession.ts';
import { ContributePanel } from '../contribute/ContributePanel.tsx';
import { DataPage } from '../data/DataPage.tsx';
import { relayUrl } from '../settings.ts';
import { useUsageReports } from '../usage/useUsageReports.ts';
import { Chat } from './Chat.tsx';
import { Explorer } from './Explorer.tsx';
import { Intro, useIntro } from './Intro.tsx';

const page = () =>
  location.hash.startsWith('#/explorer') ? 'explorer' : location.hash.startsWith('#/contribute') ? 'contribute' : location.hash.startsWith('#/data') ? 'data' : 'chat';

export function App() {
  const [current, setCurrent] = useState(page);
  const [relay] = useState(relayUrl);
  const { auth, login, logout, accounts } = useAuth(relay);
  const wallet = useWalletSession(auth, login, logout);
  const intro = useIntro();
  const session = auth.state === 'in' ? auth : null;
  const { usage, record } = useUsageReports(accounts, session);
  useEffect(() => {
    const on = () => setCurrent(page());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return (
    <div className="app">
      <header>
        <strong className="logo">Blyan</strong>
        <nav>
          <a href="#/" className={current === 'chat' ? 'on' : ''}>Chat</a>
          <a href="#/explorer" className={current === 'explorer' ? 'on' : ''}>Explorer</a>
          <a href="#/contribute" className={current === 'contribute' ? 'on' : ''}>Contribute</a>
          <a href="#/data" className={current === 'data' ? 'on' : ''}>Data</a>
          {!intro.open && <button type="button" className="link" onClick={intro.show} data-testid="intro-open">What is this?</button>}
        </nav>
        <span className="relay" data-testid="relay" title="The server this page fetches the model's blocks from. Every block is verified in this browser, so the relay need not be trusted.">
          Relay: {relay}
        </span>
        <AccountBar auth={auth} {...wallet} logout={() => void logout()} />
      </header>
      {intro.open && <Intro dismiss={intro.dismiss} />}
      {/* The chat stays mounted so its worker and loaded model survive a visit to the explorer. */}
      <div hidden={current !== 'chat'}>
        <Chat relay={relay} onAnswer={record} />
      </div>
      {current === 'explorer' && <Explorer relay={relay} />}
      {current === 'data' && <DataPage relay={relay} account={session?.account ?? null} />}
      {/* Mounted throughout, like the chat, so training goes on while the user chats. */}
      <div hidden={current !== 'contribute'}>
        <ContributePanel relay={relay} accounts={accounts} session={session} usage={usage} />
      </div>
    </div>
  );
}
