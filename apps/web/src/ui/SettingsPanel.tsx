import type { ChatSettings } from '../settings.ts';

interface Props {
  settings: ChatSettings;
  onChange: (s: ChatSettings) => void;
  disabled: boolean;
  onClearHistory: () => void;
  onClearCache: () => void;
}

export function SettingsPanel({ settings, onChange, disabled, onClearHistory, onClearCache }: Props) {
  const sampling = (k: keyof ChatSettings['sampling']) => (e: React.ChangeEvent<HTMLInputElement>) =>
    onChange({ ...settings, sampling: { ...settings.sampling, [k]: Number(e.target.value) } });
  const { sampling: s } = settings;
  return (
    <details className="panel" open>
      <summary>Settings</summary>
      <fieldset disabled={disabled}>
        <label>Routing
          <select data-testid="routing" value={settings.routing} onChange={(e) => onChange({ ...settings, routing: e.target.value as ChatSettings['routing'] })}>
            <option value="dynamic">dynamic (top-k per token)</option>
            <option value="static">budget (experts chosen from the prompt)</option>
            <option value="low-bandwidth">low bandwidth (fewer experts chosen from the prompt)</option>
          </select>
        </label>
        <label>Temperature <input type="number" min={0} max={2} step={0.05} value={s.temperature} onChange={sampling('temperature')} data-testid="temperature" /></label>
        <label>Top-k <input type="number" min={0} step={1} value={s.topK} onChange={sampling('topK')} /></label>
        <label>Top-p <input type="number" min={0.05} max={1} step={0.05} value={s.topP} onChange={sampling('topP')} /></label>
        <label>Max tokens <input type="number" min={1} max={512} step={1} value={s.maxTokens} onChange={sampling('maxTokens')} data-testid="max-tokens" /></label>
        <label>Seed <input type="number" min={0} step={1} value={s.seed} onChange={sampling('seed')} /></label>
        <label>Cache limit (MB) <input type="number" min={1} step={1} value={settings.cacheLimitMB} onChange={(e) => onChange({ ...settings, cacheLimitMB: Number(e.target.value) })} /></label>
        <label>Engine
          <select data-testid="backend" value={settings.backend} onChange={(e) => onChange({ ...settings, backend: e.target.value as ChatSettings['backend'] })}>
            <option value="auto">WebGPU, else wasm</option>
            <option value="wasm">onnxruntime-web (wasm)</option>
            <option value="cpu">CPU reference</option>
          </select>
        </label>
        <div className="row">
          <button type="button" onClick={onClearHistory}>Clear history</button>
          <button type="button" onClick={onClearCache}>Clear block cache</button>
        </div>
      </fieldset>
    </details>
  );
}
