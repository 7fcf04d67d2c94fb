import { useCallback, useEffect, useRef, useState } from 'react';
import { setAnswering } from '../contribute/answering.ts';
import type { AnswerStats, Backend, BackendChoice, BlockEvent, FromWorker, LayerRoute, ModelInfo, RoutingMode, Sampling, ToWorker } from '../protocol.ts';

export interface Message {
  role: 'user' | 'model';
  text: string;
  stats?: AnswerStats;
  stopped?: boolean;
}

export interface ModelView {
  status: string;
  backend: Backend | null;
  notice: string | null;
  info: ModelInfo | null;
  blocks: Record<string, BlockEvent>;
  cache: { bytes: number; blocks: number };
  route: LayerRoute[];
  error: { message: string; block: string | null } | null;
  busyId: number | null;
}

const HISTORY_KEY = 'blyan.history';

function loadHistory(): Message[] {
  try {
    return JSON.parse(localStorage.getItem(HISTORY_KEY) ?? '[]') as Message[];
  } catch {
    return [];
  }
}

/** The model worker as React state: one worker per page, every message folded into a view; `onAnswer` hears every finished answer. */
export function useModel(relay: string, cacheLimitBytes: number, backend: BackendChoice, onAnswer: (stats: AnswerStats) => void) {
  const worker = useRef<Worker | null>(null);
  const answered = useRef(onAnswer);
  answered.current = onAnswer;
  const nextId = useRef(1);
  /** The prompt being answered, for Stop (state updaters must not post messages). */
  const busy = useRef<number | null>(null);
  const [messages, setMessages] = useState<Message[]>(loadHistory);
  const [view, setView] = useState<ModelView>({ status: 'starting', backend: null, notice: null, info: null, blocks: {}, cache: { bytes: 0, blocks: 0 }, route: [], error: null, busyId: null });

  // Training (the contribute worker) yields to every answer.
  useEffect(() => setAnswering(view.busyId !== null), [view.busyId]);

  useEffect(() => {
    localStorage.setItem(HISTORY_KEY, JSON.stringify(messages));
  }, [messages]);

  useEffect(() => {
    const w = new Worker(new URL('../worker/model.worker.ts', import.meta.url), { type: 'module', name: 'blyan-model' });
    worker.current = w;
    w.onmessage = ({ data: m }: MessageEvent<FromWorker>) => {
      switch (m.type) {
        case 'status':
          return setView((v) => ({ ...v, status: m.text }));
        case 'backend':
          return setView((v) => ({ ...v, backend: m.backend, notice: m.notice }));
        case 'model':
          return setView((v) => ({ ...v, info: m.info }));
        case 'block':
          return setView((v) => ({ ...v, blocks: { ...v.blocks, [m.event.hash]: m.event } }));
        case 'cache':
          return setView((v) => ({ ...v, cache: { bytes: m.bytes, blocks: m.blocks } }));
        case 'route':
          return setView((v) => ({ ...v, route: m.layers }));
        case 'token':
          return setMessages((ms) => ms.map((x, i) => (i === ms.length - 1 && x.role === 'model' ? { ...x, text: x.text + m.text } : x)));
        case 'done':
          busy.current = null;
          answered.current(m.stats);
          setMessages((ms) => ms.map((x, i) => (i === ms.length - 1 && x.role === 'model' ? { ...x, stats: m.stats, stopped: m.stopped } : x)));
          return setView((v) => ({ ...v, busyId: null }));
        case 'error':
          if (m.id === busy.current) busy.current = null;
          return setView((v) => ({ ...v, error: { message: m.message, block: m.block }, busyId: m.id === v.busyId ? null : v.busyId }));
      }
    };
    const init: ToWorker = { type: 'init', relay, cacheLimitBytes, backend };
    w.postMessage(init);
    return () => w.terminate();
  }, [relay, cacheLimitBytes, backend]);

  const send = useCallback((text: string, sampling: Sampling, routing: RoutingMode) => {
    const id = nextId.current++;
    busy.current = id;
    setMessages((ms) => [...ms, { role: 'user', text }, { role: 'model', text: '' }]);
    setView((v) => ({ ...v, busyId: id, error: null, blocks: {}, route: [] }));
    const m: ToWorker = { type: 'prompt', id, text, sampling, routing };
    worker.current?.postMessage(m);
  }, []);

  const stop = useCallback(() => {
    if (busy.current !== null) worker.current?.postMessage({ type: 'stop', id: busy.current } satisfies ToWorker);
  }, []);

  const clearCache = useCallback(() => worker.current?.postMessage({ type: 'clear-cache' } satisfies ToWorker), []);
  const clearHistory = useCallback(() => setMessages([]), []);

  return { view, messages, send, stop, clearCache, clearHistory };
}
