import { useEffect, useState } from 'react';
import { relayUrl } from '../settings.ts';
import { Chat } from './Chat.tsx';
import { Explorer } from './Explorer.tsx';

const page = () => (location.hash.startsWith('#/explorer') ? 'explorer' : 'chat');

export function App() {
  const [current, setCurrent] = useState(page);
  const [relay] = useState(relayUrl);
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
        </nav>
        <span className="relay" title="relay">{relay}</span>
      </header>
      {/* The chat stays mounted so its worker and loaded model survive a visit to the explorer. */}
      <div hidden={current !== 'chat'}>
        <Chat relay={relay} />
      </div>
      {current === 'explorer' && <Explorer relay={relay} />}
    </div>
  );
}
