import type { Distrust } from '@blyan/client';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import type { AnswerStats } from '../protocol.ts';
import { type ChatSettings, DEFAULT_SETTINGS, loadJson, saveJson } from '../settings.ts';
import { Progress } from './Progress.tsx';
import { SettingsPanel } from './SettingsPanel.tsx';
import { formatBytes } from './format.ts';
import { useModel } from './useModel.ts';

const BACKEND_LABEL = { webgpu: 'WebGPU', wasm: 'wasm (onnxruntime-web)', cpu: 'CPU reference' } as const;

/** Why a relay is refused, in the reader's words (the worker's message gives the blocks). */
const REFUSAL: Record<Distrust, string> = {
  foreign_genesis: 'It serves a different model: its chain does not start at the genesis this app was built to trust.',
  unattested: 'It serves a model version that no authority named by the chain signed and no named evaluator accepted.',
  broken_lineage: 'It lists a block that does not link back to the genesis this app was built to trust.',
};

export function Chat({ relay, onAnswer }: { relay: string; onAnswer: (stats: AnswerStats) => void }) {
  const [settings, setSettings] = useState<ChatSettings>(() => ({ ...DEFAULT_SETTINGS, ...loadJson<Partial<ChatSettings>>('blyan.settings', {}) }));
  const { view, messages, send, stop, clearCache, clearHistory } = useModel(relay, settings.cacheLimitMB * 1024 * 1024, settings.backend, onAnswer);
  const [text, setText] = useState('');
  const end = useRef<HTMLDivElement>(null);
  useEffect(() => {
    saveJson('blyan.settings', settings);
  }, [settings]);
  useEffect(() => {
    // Chromium's scrollIntoView now returns a promise, which an effect must not return.
    void end.current?.scrollIntoView({ block: 'end' });
  }, [messages]);

  const busy = view.busyId !== null;
  const ready = view.info !== null && !busy;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!ready || text.trim() === '') return;
    send(text, settings.sampling, settings.routing);
    setText('');
  };

  return (
    <main className="chat">
      <section className="conversation">
        {view.refused && (
          <div className="refused" role="alert" data-testid="refused" data-reason={view.refused.reason}>
            <strong>Refused the relay {relay}</strong>
            <p>{REFUSAL[view.refused.reason]} Nothing it served was used or stored.</p>
            <small>{view.refused.message}</small>
          </div>
        )}
        {view.notice && <p className="notice" data-testid="backend-notice">{view.notice}</p>}
        {view.info && !view.info.online && <p className="notice" data-testid="offline">The relay is unreachable: answering from cached blocks.</p>}
        <div className="messages" data-testid="messages">
          {messages.length === 0 && <p className="hint">Type the start of a text; the model continues it. Only the experts its router picks are downloaded.</p>}
          {messages.map((m, i) => (
            <div key={i} className={`msg ${m.role}`} data-testid={m.role === 'model' ? 'answer' : 'question'}>
              <span>{m.text || (m.role === 'model' && busy && i === messages.length - 1 ? '…' : '')}</span>
              {m.stats && (
                <small className="stats" data-testid="stats" data-stats={JSON.stringify(m.stats)}>
                  {m.stats.tokens} tokens · first token {Math.round(m.stats.ttftMs)} ms · {formatBytes(m.stats.bytesDownloaded)} downloaded · {m.stats.expertsDownloaded} experts fetched, {m.stats.expertsFromCache} cached{m.stopped ? ' · stopped' : ''}
                </small>
              )}
            </div>
          ))}
          <div ref={end} />
        </div>
        {view.error && (
          <p className="error" role="alert" data-testid="error" data-block={view.error.block ?? ''}>
            {view.error.message}
          </p>
        )}
        <form onSubmit={submit} className="composer">
          <textarea data-testid="prompt" value={text} onChange={(e) => setText(e.target.value)} placeholder="Once upon a time" rows={2}
            onKeyDown={(e) => { if (e.key === 'Enter' && !e.shiftKey) submit(e); }} />
          {busy ? (
            <button type="button" data-testid="stop" onClick={stop}>Stop</button>
          ) : (
            <button type="submit" data-testid="send" disabled={!ready}>Send</button>
          )}
        </form>
        <p className="status" data-testid="status">{view.backend && <b>{BACKEND_LABEL[view.backend]}</b>} {view.status}</p>
      </section>
      <aside>
        <SettingsPanel settings={settings} onChange={setSettings} disabled={busy} onClearHistory={clearHistory} onClearCache={clearCache} />
        <Progress view={view} />
      </aside>
    </main>
  );
}
