import type { Address } from '@blyan/block';
import type { AccountHistory, AccountsClient, RoundUnit } from '@blyan/client';
import { useCallback, useEffect, useRef, useState } from 'react';
import { loadJson, saveJson } from '../settings.ts';
import { genesisPin } from '../genesis-pin.ts';
import { storedSessionKey } from '../auth/session-key.ts';
import { watchAnswering } from './answering.ts';
import type { PauseReason } from './gate.ts';
import { type ContributeSettings, DEFAULT_CONTRIBUTE, type FromContributor, type ToContributor, type UnitView } from './protocol.ts';

export interface LossPoint {
  round: number;
  step: number;
  loss: number;
}

export interface ContributeView {
  on: boolean;
  /** The worker is still in a round (true from start until it reports it stopped). */
  running: boolean;
  backend: 'webgpu' | 'cpu' | null;
  notice: string | null;
  status: string;
  paused: PauseReason | null;
  /** The relay's bounds on a delta, from the last work unit. */
  rules: RoundUnit['rules'] | null;
  losses: LossPoint[];
  /** Last micro-step: milliseconds and tokens per second. */
  speed: { ms: number; tokensPerSecond: number } | null;
  /** Work units, newest first: the current one, then earlier rounds with their verdicts. */
  units: UnitView[];
  balance: number | null;
  error: string | null;
}

const SETTINGS_KEY = 'blyan.contribute';
const MAX_POINTS = 400;
const BALANCE_REFRESH_MS = 5_000;

/** The contribute worker as React state, for the signed-in account; contributing is opt-in and off on load. */
export function useContribute(relay: string, accounts: AccountsClient, account: Address | null) {
  const worker = useRef<Worker | null>(null);
  /** Whether the user last asked Contribute on: a start waiting for the pin is dropped once unticked. */
  const wantOn = useRef(false);
  const [settings, setSettings] = useState<ContributeSettings>(() => ({ ...DEFAULT_CONTRIBUTE, ...loadJson<Partial<ContributeSettings>>(SETTINGS_KEY, {}) }));
  const [view, setView] = useState<ContributeView>({ on: false, running: false, backend: null, notice: null, status: 'off', paused: 'off', rules: null, losses: [], speed: null, units: [], balance: null, error: null });

  const refreshBalance = useCallback(() => {
    if (account === null) return;
    accounts.history(account).then(
      (h: AccountHistory) => setView((v) => ({ ...v, balance: h.balance })),
      () => {},
    );
  }, [accounts, account]);

  // Credit also comes from other people's work (a round on a dataset this account uploaded, usage
  // of an expert it wrote): the balance is read again every BALANCE_REFRESH_MS while the page is shown.
  useEffect(() => {
    refreshBalance();
    const timer = setInterval(() => {
      if (!document.hidden) refreshBalance();
    }, BALANCE_REFRESH_MS);
    return () => clearInterval(timer);
  }, [refreshBalance]);
  const onAccepted = useRef(refreshBalance);
  onAccepted.current = refreshBalance;

  useEffect(() => {
    const w = new Worker(new URL('./contribute.worker.ts', import.meta.url), { type: 'module', name: 'blyan-contribute' });
    worker.current = w;
    const send = (m: ToContributor) => w.postMessage(m);
    w.onmessage = ({ data: m }: MessageEvent<FromContributor>) => {
      switch (m.type) {
        case 'backend':
          return setView((v) => ({ ...v, backend: m.backend, notice: m.notice }));
        case 'status':
          return setView((v) => ({ ...v, status: m.text }));
        case 'paused':
          return setView((v) => ({ ...v, paused: m.reason }));
        case 'unit': {
          const u = m.unit;
          if (u.state === 'accepted') onAccepted.current();
          return setView((v) => ({ ...v, rules: m.rules, error: null, units: [u, ...v.units.filter((x) => x.round !== u.round)] }));
        }
        case 'step':
          return setView((v) => ({ ...v, losses: [...v.losses, { round: m.round, step: m.step, loss: m.loss }].slice(-MAX_POINTS), speed: { ms: m.ms, tokensPerSecond: (1000 * m.tokens) / m.ms } }));
        case 'error':
          return setView((v) => ({ ...v, error: m.message }));
        case 'stopped':
          return setView((v) => ({ ...v, on: false, running: false, status: 'off' }));
      }
    };
    const unwatch = watchAnswering((on) => send({ type: 'answering', on }));
    return () => {
      unwatch();
      w.terminate();
    };
  }, []);

  useEffect(() => {
    const on = () => worker.current?.postMessage({ type: 'visibility', hidden: document.hidden, pauseWhenHidden: settings.pauseWhenHidden } satisfies ToContributor);
    on();
    document.addEventListener('visibilitychange', on);
    return () => document.removeEventListener('visibilitychange', on);
  }, [settings.pauseWhenHidden]);

  const setOn = useCallback(
    (on: boolean) => {
      const key = storedSessionKey();
      if (on && (account === null || key === null)) {
        setView((v) => ({ ...v, error: 'sign in first: contributions are signed by this tab’s session key' }));
        return;
      }
      setView((v) => ({ ...v, on, running: v.running || on, error: null }));
      wantOn.current = on;
      if (!on) {
        worker.current?.postMessage({ type: 'stop' } satisfies ToContributor);
        return;
      }
      genesisPin().then(
        ({ pin, headers }) => {
          // Unticked while the pin loaded: the stop already went out, so no start follows it.
          if (wantOn.current) worker.current?.postMessage({ type: 'start', relay, pin, genesisHeaders: headers, sessionKey: key!, account: account!, settings } satisfies ToContributor);
        },
        (e: unknown) => setView((v) => ({ ...v, on: false, running: false, error: (e as Error).message })),
      );
    },
    [relay, account, settings],
  );

  useEffect(() => {
    if (account === null) worker.current?.postMessage({ type: 'stop' } satisfies ToContributor);
  }, [account]);

  const update = useCallback((change: Partial<ContributeSettings>) => {
    setSettings((s) => {
      const next = { ...s, ...change };
      saveJson(SETTINGS_KEY, next);
      return next;
    });
  }, []);

  return { view, settings, setOn, update };
}
