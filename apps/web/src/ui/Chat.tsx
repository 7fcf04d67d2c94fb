import type { Distrust } from '@blyan/client';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import type { AnswerStats } from '../protocol.ts';
import { type ChatSettings, DEFAULT_SETTINGS, loadJson, saveJson } from '../settings.ts';
import { settingsErrors } from '../settings-check.ts';
import { Progress } from './Progress.tsx';
import { SettingsPanel } from './SettingsPanel.tsx';
import { endNote, partsNote, startupNote, tokensPerSecond, truncationNote } from './answer-notes.ts';
import { formatBytes } from './format.ts';
import { type Message, useModel } from './useModel.ts';

/** A question longer than this is shown folded, with its length and a way to unfold it. */
const FOLD_CHARS = 600;

const BACKEND_LABEL = { webgpu: 'WebGPU', wasm: 'wasm (onnxruntime-web)', cpu: 'CPU reference' } as const;

/** Why a relay is refused, in the reader's words (the worker's message gives the blocks). */
const REFUSAL: Record<Distrust, string> = {
  foreign_genesis: 'It serves a different model: its chain does not start at the genesis this app was built to trust.',
  unattested: 'It serves a model version that no authority named by the chain signed and no named evaluator accepted.',
  broken_lineage: 'It lists a block that does not link back to the genesis this app was built to trust.',
};

export function Chat({ relay, onAnswer }: { relay: string; onAnswer: (stats: AnswerStats) => void }) {
  const [settings, setSettings] = useState<ChatSettings>(() => ({ ...DEFAULT_SETTINGS, ...loadJson<Partial<ChatSettings>>('blyan.settings', {}) }));
  const errors = settingsErrors(settings);
  const cacheLimitMB = errors.cacheLimitMB ? DEFAULT_SETTINGS.cacheLimitMB : settings.cacheLimitMB;
  const { view, messages, send, stop, clearCache, clearHistory, unanswered, takeUnanswered } = useModel(relay, cacheLimitMB * 1024 * 1024, settings.backend, onAnswer);
  const [text, setText] = useState('');
  const [hint, setHint] = useState<string | null>(null);
  const end = useRef<HTMLDivElement>(null);
  useEffect(() => {
    saveJson('blyan.settings', settings);
  }, [settings]);
  useEffect(() => {
    if (unanswered === null) return;
    setText((t) => (t === '' ? unanswered : t));
    takeUnanswered();
  }, [unanswered, takeUnanswered]);
  useEffect(() => {
    // Chromium's scrollIntoView now returns a promise, which an effect must not return.
    void end.current?.scrollIntoView({ block: 'end' });
  }, [messages]);

  const busy = view.busyId !== null;
  const bad = Object.keys(errors).length > 0;
  const ready = view.info !== null && view.status === 'ready' && !busy && !bad;
  // Why Send is off, when it is: the person should never face a dead button.
  const waiting = view.refused ? 'The relay was refused: no model to answer with.' : view.info === null || view.status !== 'ready' ? `The model is loading (${view.status}); Send unlocks when it is ready.` : bad ? 'Fix the settings marked in red first.' : null;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (text.trim() === '') {
      setHint('Type some text first: the model continues what you write.');
      return;
    }
    if (!ready) return;
    setHint(null);
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
          {messages.map((m, i) =>
            m.role === 'user' ? (
              <Question key={i} text={m.text} />
            ) : (
              <div key={i} className="msg model" data-testid="answer">
                <span>{m.text || (busy && i === messages.length - 1 ? '…' : '')}</span>
                {m.stats && <AnswerFooter m={m} maxTokens={settings.sampling.maxTokens} />}
              </div>
            ),
          )}
          <div ref={end} />
        </div>
        {view.error && (
          <p className="error" role="alert" data-testid="error" data-block={view.error.block ?? ''}>
            {view.error.message}
          </p>
        )}
        <form onSubmit={submit} className="composer">
          <textarea data-testid="prompt" aria-label="Your text" value={text} onChange={(e) => { setText(e.target.value); setHint(null); }} placeholder="Once upon a time" rows={2}
            onKeyDown={(e) => { if (e.key === 'Enter' && !e.shiftKey) submit(e); }} />
          {busy ? (
            <button type="button" data-testid="stop" onClick={stop}>Stop</button>
          ) : (
            <button type="submit" data-testid="send" disabled={!ready} title={waiting ?? undefined}>Send</button>
          )}
        </form>
        {(hint ?? (busy ? null : waiting)) && <p className="hint composer-hint" data-testid="composer-hint">{hint ?? waiting}</p>}
        <p className="status" data-testid="status" data-startup={view.startup ? JSON.stringify(view.startup) : undefined} title={view.startup ? startupNote(view.startup) : undefined}>
          {view.backend && <b>{BACKEND_LABEL[view.backend]}</b>} {view.status}
        </p>
      </section>
      <aside>
        <SettingsPanel settings={settings} onChange={setSettings} disabled={busy} messages={messages.length} onClearHistory={clearHistory} onClearCache={clearCache} />
        <Progress view={view} />
      </aside>
    </main>
  );
}

/** The user's text; a long one folded to its start, with its length and a way to see it all. */
function Question({ text }: { text: string }) {
  const [open, setOpen] = useState(false);
  const long = text.length > FOLD_CHARS;
  return (
    <div className="msg user" data-testid="question">
      <span>{long && !open ? `${text.slice(0, FOLD_CHARS)}…` : text}</span>
      {long && (
        <button type="button" className="link" onClick={() => setOpen(!open)} data-testid="question-fold">
          {open ? 'Show less' : `Show all ${text.length.toLocaleString('en')} characters`}
        </button>
      )}
    </div>
  );
}

/** Under an answer: its own figures, and why it ended or what of the prompt was not read, when that matters. */
function AnswerFooter({ m, maxTokens }: { m: Message; maxTokens: number }) {
  const s = m.stats!;
  // Answers kept from before these figures existed have no notes.
  const notes = 'end' in s ? [truncationNote(s), endNote(s, maxTokens)].filter((n) => n !== null) : [];
  return (
    <>
      <small className="stats" data-testid="stats" data-stats={JSON.stringify(s)}>
        {s.tokens} tokens · <span data-testid="speed">{tokensPerSecond(s).toFixed(1)} tokens/s</span> · <span data-testid="ttft" title={s.ttftParts ? partsNote('First token in', s.ttftMs, s.ttftParts) : undefined}>first token {Math.round(s.ttftMs)} ms</span> · {formatBytes(s.bytesDownloaded)} downloaded · {s.expertsDownloaded} experts fetched, {s.expertsFromCache} cached{m.stopped ? ' · stopped' : ''}
      </small>
      {notes.map((n) => <small key={n} className="answer-note" data-testid="answer-note">{n}</small>)}
    </>
  );
}
