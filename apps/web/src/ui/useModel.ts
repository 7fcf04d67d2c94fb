import { useCallback, useEffect, useRef, useState } from 'react';
import type { Distrust } from '@blyan/client';
import type { PassName, PipelineState } from '@blyan/gpu';
import { setAnswering } from '../contribute/answering.ts';
import { genesisPin } from '../genesis-pin.ts';
import type { AnswerStats, Backend, BackendChoice, BlockEvent, FromWorker, LayerRoute, ModelInfo, PlannedFetch, RoutingMode, Sampling, ToWorker } from '../protocol.ts';
import { loadJson, saveJson } from '../settings.ts';

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
  /** The experts the download planner fetched for the current answer, and why. */
  plan: PlannedFetch[];
  error: { message: string; block: string | null } | null;
  /** The relay failed the check back to the pinned genesis: the model does not start. */
  refused: { reason: Distrust; message: string } | null;
  busyId: number | null;
  /**
   * The worker's start, once the model is ready: its milliseconds, where they went (phase → ms),
   * where the engine's pipelines were at that moment, and once they are, how long the rest took to compile after it.
   */
  startup: { ms: number; parts: Record<string, number>; pipelines: Partial<Record<PassName, PipelineState>>; compiledMs?: number } | null;
  /** What `blocks` lists: the blocks loaded to start the model, or those of the last answer. */
  blocksOf: 'start' | 'answer';
}

const STARTING: ModelView = { status: 'starting', backend: null, notice: null, info: null, blocks: {}, cache: { bytes: 0, blocks: 0 }, route: [], plan: [], error: null, refused: null, busyId: null, blocksOf: 'start', startup: null };

const HISTORY_KEY = 'blyan.history';

/** The model worker as React state: one worker per page, every message folded into a view; `onAnswer` hears every finished answer. */
export function useModel(relay: string, cacheLimitBytes: number, backend: BackendChoice, onAnswer: (stats: AnswerStats) => void) {
  const worker = useRef<Worker | null>(null);
  const answered = useRef(onAnswer);
  answered.current = onAnswer;
  const nextId = useRef(1);
  const [messages, setMessages] = useState<Message[]>(() => loadJson<Message[]>(HISTORY_KEY, []));
  const [view, setView] = useState<ModelView>(STARTING);
  const shown = useRef(messages);
  shown.current = messages;
  /** The text of the last question that failed before any answer, for the composer to take back. */
  const [unanswered, setUnanswered] = useState<string | null>(null);

  const { busyId } = view;

  // Training (the contribute worker) yields to every answer.
  useEffect(() => setAnswering(busyId !== null), [busyId]);

  useEffect(() => {
    saveJson(HISTORY_KEY, messages);
  }, [messages]);

  useEffect(() => {
    const w = new Worker(new URL('../worker/model.worker.ts', import.meta.url), { type: 'module', name: 'blyan-model' });
    worker.current = w;
    // A new worker (another engine or cache limit) starts from nothing: Send waits for its model.
    setView((v) => ({ ...STARTING, cache: v.cache }));
    w.onmessage = ({ data: m }: MessageEvent<FromWorker>) => {
      switch (m.type) {
        case 'status':
          return setView((v) => ({ ...v, status: m.text }));
        case 'started':
          return setView((v) => ({ ...v, startup: { ms: m.ms, parts: m.parts, pipelines: m.pipelines } }));
        case 'compiled':
          return setView((v) => (v.startup ? { ...v, startup: { ...v.startup, compiledMs: m.ms } } : v));
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
        case 'plan':
          return setView((v) => ({ ...v, plan: m.fetches }));
        case 'token':
          return setMessages((ms) => ms.map((x, i) => (i === ms.length - 1 && x.role === 'model' ? { ...x, text: x.text + m.text } : x)));
        case 'done':
          answered.current(m.stats);
          setMessages((ms) => ms.map((x, i) => (i === ms.length - 1 && x.role === 'model' ? { ...x, stats: m.stats, stopped: m.stopped } : x)));
          return setView((v) => ({ ...v, busyId: null, status: 'ready' }));
        case 'error':
          // A question that got no answer at all leaves the history (the error says why) and goes back to the composer.
          if (m.id !== null && shown.current.at(-1)?.role === 'model' && shown.current.at(-1)?.text === '') {
            setUnanswered(shown.current.at(-2)?.text ?? null);
            setMessages((ms) => ms.slice(0, -2));
          }
          return setView((v) => ({ ...v, error: { message: m.message, block: m.block }, busyId: m.id === v.busyId ? null : v.busyId }));
        case 'refused':
          return setView((v) => ({ ...v, info: null, refused: { reason: m.reason, message: m.message }, busyId: null }));
      }
    };
    let live = true;
    genesisPin().then(
      ({ pin, headers }) => live && w.postMessage({ type: 'init', relay, pin, genesisHeaders: headers, cacheLimitBytes, backend } satisfies ToWorker),
      (e: Error) => live && setView((v) => ({ ...v, error: { message: e.message, block: null } })),
    );
    return () => {
      live = false;
      w.terminate();
    };
  }, [relay, cacheLimitBytes, backend]);

  const send = useCallback((text: string, sampling: Sampling, routing: RoutingMode) => {
    const id = nextId.current++;
    setMessages((ms) => [...ms, { role: 'user', text }, { role: 'model', text: '' }]);
    setView((v) => ({ ...v, busyId: id, error: null, blocks: {}, route: [], plan: [], blocksOf: 'answer' }));
    const m: ToWorker = { type: 'prompt', id, text, sampling, routing };
    worker.current?.postMessage(m);
  }, []);

  const stop = useCallback(() => {
    if (busyId !== null) worker.current?.postMessage({ type: 'stop', id: busyId } satisfies ToWorker);
  }, [busyId]);

  const clearCache = useCallback(() => worker.current?.postMessage({ type: 'clear-cache' } satisfies ToWorker), []);
  const clearHistory = useCallback(() => setMessages([]), []);

  const takeUnanswered = useCallback(() => setUnanswered(null), []);

  return { view, messages, send, stop, clearCache, clearHistory, unanswered, takeUnanswered };
}
