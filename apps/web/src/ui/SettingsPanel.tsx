import { useState } from 'react';
import type { ChatSettings } from '../settings.ts';
import { BOUNDS, type NumberField, fieldValue, settingsErrors } from '../settings-check.ts';

interface Props {
  settings: ChatSettings;
  onChange: (s: ChatSettings) => void;
  disabled: boolean;
  /** Messages in the history (Clear history asks before deleting them). */
  messages: number;
  onClearHistory: () => void;
  onClearCache: () => void;
}

const LABELS: Record<NumberField, string> = { temperature: 'Temperature', topK: 'Top-k', topP: 'Top-p', maxTokens: 'Max tokens', seed: 'Seed', cacheLimitMB: 'Cache limit (MB)' };
const HINTS: Partial<Record<NumberField, string>> = { temperature: '0 always picks the likeliest token', topK: '0: no limit', maxTokens: 'length of an answer' };

export function SettingsPanel({ settings, onChange, disabled, messages, onClearHistory, onClearCache }: Props) {
  const errors = settingsErrors(settings);
  const [confirming, setConfirming] = useState(false);
  const set = (field: NumberField, value: number) =>
    onChange(field === 'cacheLimitMB' ? { ...settings, cacheLimitMB: value } : { ...settings, sampling: { ...settings.sampling, [field]: value } });
  const number = (field: NumberField, testId?: string) => {
    const b = BOUNDS[field];
    const error = errors[field];
    return (
      <label key={field} className={error ? 'invalid' : ''}>
        <span>{LABELS[field]} <small className="hint">{b.min}–{b.max}{HINTS[field] && `, ${HINTS[field]}`}</small></span>
        <input type="number" min={b.min} max={b.max} step={b.step} value={Number.isFinite(fieldValue(settings, field)) ? fieldValue(settings, field) : ''} aria-invalid={error !== undefined}
          onChange={(e) => set(field, e.target.value === '' ? Number.NaN : Number(e.target.value))} data-testid={testId ?? `setting-${field}`} />
        {error && <small className="field-error" data-testid={`${testId ?? `setting-${field}`}-error`}>{LABELS[field]} {error}</small>}
      </label>
    );
  };
  return (
    <details className="panel" open>
      <summary>Settings</summary>
      <fieldset disabled={disabled}>
        <label>Routing
          <select data-testid="routing" value={settings.routing} onChange={(e) => onChange({ ...settings, routing: e.target.value as ChatSettings['routing'] })}>
            <option value="dynamic">dynamic (top-k per token)</option>
            <option value="static">static (experts chosen from the prompt)</option>
          </select>
        </label>
        {number('temperature', 'temperature')}
        {number('topK')}
        {number('topP')}
        {number('maxTokens', 'max-tokens')}
        {number('seed')}
        {number('cacheLimitMB')}
        <label>Engine
          <select data-testid="backend" value={settings.backend} onChange={(e) => onChange({ ...settings, backend: e.target.value as ChatSettings['backend'] })}>
            <option value="auto">fastest on this device</option>
            <option value="webgpu">WebGPU, else wasm</option>
            <option value="wasm">onnxruntime-web (wasm)</option>
            <option value="cpu">CPU reference</option>
          </select>
        </label>
        {confirming ? (
          <div className="row confirm" data-testid="clear-history-confirm">
            <span>Delete all {messages} messages?</span>
            <button type="button" className="danger" onClick={() => { onClearHistory(); setConfirming(false); }} data-testid="clear-history-yes">Delete</button>
            <button type="button" onClick={() => setConfirming(false)}>Keep</button>
          </div>
        ) : (
          <div className="row">
            <button type="button" onClick={() => setConfirming(true)} disabled={messages === 0} data-testid="clear-history">Clear history</button>
            <button type="button" onClick={onClearCache}>Clear block cache</button>
          </div>
        )}
      </fieldset>
    </details>
  );
}
