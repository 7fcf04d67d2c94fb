import { type StoredVerdict, type UploadView, prefilterYielding, splitDocuments, storedVerdict } from '@blyan/data';
import { useEffect, useMemo, useRef, useState } from 'react';
import { formatBytes, shortHash } from '../ui/format.ts';
import { type DataClient, DataError } from './data-client.ts';
import { VerdictList } from './VerdictList.tsx';

type Stage = { kind: 'idle' } | { kind: 'uploading' } | { kind: 'tracking'; upload: UploadView } | { kind: 'refused'; message: string; verdicts: readonly StoredVerdict[] };

const STAGES = ['uploading', 'scoring', 'review', 'accepted'] as const;
const POLL_MS = 1000;
/** Typing pauses this long before the page's prefilter runs over the whole text again. */
const TYPING_PAUSE_MS = 300;

/** The page's own L0 run (the same code the relay runs, yielding so the page keeps painting), timed, as verdicts. */
async function localVerdicts(bytes: Uint8Array): Promise<{ verdicts: StoredVerdict[]; ms: number }> {
  const t = performance.now();
  const verdicts = (await prefilterYielding(splitDocuments(bytes))).map(storedVerdict);
  return { verdicts, ms: performance.now() - t };
}

/**
 * Upload a text file or pasted text as a dataset: the prefilter's verdicts appear as soon as the
 * text is there (computed in the page), the relay's own verdicts, the L1 tiers, the review and the
 * resulting chain D blocks as the upload moves on.
 */
export function UploadForm({ client, signedIn }: { client: DataClient; signedIn: boolean }) {
  const [name, setName] = useState('my-dataset');
  const [source, setSource] = useState('');
  const [licence, setLicence] = useState('CC0-1.0');
  const [text, setText] = useState('');
  const [file, setFile] = useState<Uint8Array | null>(null);
  const [stage, setStage] = useState<Stage>({ kind: 'idle' });
  const bytes = useMemo(() => file ?? new TextEncoder().encode(text), [file, text]);
  const [local, setLocal] = useState<{ verdicts: StoredVerdict[]; ms: number } | null>(null);
  useEffect(() => {
    let live = true;
    setLocal(null);
    const run = setTimeout(() => {
      if (bytes.length > 0) void localVerdicts(bytes).then((v) => live && setLocal(v));
    }, TYPING_PAUSE_MS);
    return () => {
      live = false;
      clearTimeout(run);
    };
  }, [bytes]);
  /** False once the form is gone: its upload's status is no longer polled. */
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  const track = async (u: UploadView) => {
    setStage({ kind: 'tracking', upload: u });
    let cur = u;
    while (mounted.current && (cur.status === 'scoring' || cur.status === 'appending')) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      if (!mounted.current) return;
      cur = await client.uploadStatus(u.id);
      setStage({ kind: 'tracking', upload: cur });
    }
  };

  const submit = async () => {
    setStage({ kind: 'uploading' });
    try {
      await track(await client.upload(name, source, licence, bytes));
    } catch (e) {
      setStage({ kind: 'refused', message: (e as Error).message, verdicts: e instanceof DataError ? e.verdicts : [] });
    }
  };

  const step = stage.kind === 'uploading' ? 0 : stage.kind === 'tracking' ? Math.max(0, STAGES.indexOf(stage.upload.status as (typeof STAGES)[number])) : -1;
  return (
    <section className="panel upload" data-testid="upload-form">
      <h3>Upload a dataset</h3>
      <p className="hint">A text file or pasted text; separate documents with a line holding only &lt;|endoftext|&gt;. Each document is checked here first, then by the relay.</p>
      <div className="fields">
        <label>Name <input value={name} onChange={(e) => setName(e.target.value)} data-testid="dataset-name" /></label>
        <label>Source <input value={source} onChange={(e) => setSource(e.target.value)} placeholder="where the text comes from" data-testid="dataset-source" /></label>
        <label>Licence <input value={licence} onChange={(e) => setLicence(e.target.value)} data-testid="dataset-licence" /></label>
        <label>File <input type="file" accept=".txt,text/plain" data-testid="dataset-file" onChange={(e) => void e.target.files?.[0]?.arrayBuffer().then((b) => setFile(new Uint8Array(b)))} /></label>
      </div>
      <textarea rows={6} value={text} onChange={(e) => { setFile(null); setText(e.target.value); }} placeholder="…or paste text here" data-testid="dataset-text" />
      {local && (
        <>
          <p className="status" data-testid="local-check">Checked in the page in {local.ms.toFixed(1)} ms ({formatBytes(bytes.length)})</p>
          <VerdictList verdicts={local.verdicts} testId="local-verdicts" />
        </>
      )}
      <button type="button" data-testid="upload" disabled={!signedIn || local === null || !local.verdicts.some((v) => v.ok) || source.trim() === '' || stage.kind === 'uploading'} onClick={() => void submit()}>
        {signedIn ? 'Upload' : 'Sign in to upload'}
      </button>
      {step >= 0 && (
        <div className="meter" data-testid="upload-progress">
          <div style={{ width: `${((step + 1) / STAGES.length) * 100}%` }} />
        </div>
      )}
      {stage.kind === 'refused' && (
        <div className="refused" role="alert" data-testid="upload-refused">
          <p>{stage.message}</p>
          {stage.verdicts.length > 0 && <VerdictList verdicts={stage.verdicts} testId="relay-verdicts" />}
        </div>
      )}
      {stage.kind === 'tracking' && <UploadStatus u={stage.upload} />}
    </section>
  );
}

function UploadStatus({ u }: { u: UploadView }) {
  return (
    <div className="upload-status" data-testid="upload-status" data-status={u.status}>
      <p>
        Upload {u.id} of <b>{u.name}</b>: <b data-testid="upload-state">{u.status}</b>
        {u.detail && ` (${u.detail})`}
      </p>
      <p data-testid="upload-tiers">
        {u.documents} documents ({u.hidden} held out for evaluation) · gold {u.tiers.gold} · silver {u.tiers.silver} · experimental {u.tiers.experimental}
        {u.mean_bpb !== null && ` · ${u.mean_bpb.toFixed(2)} bits/byte`}
      </p>
      {u.status === 'review' && <p className="hint">Waiting for review: {u.sample.keep + u.sample.drop} of {u.sample.size} sampled documents settled ({u.sample.votes} votes).</p>}
      {u.blocks.length > 0 && (
        <p data-testid="upload-blocks">Chain D blocks: {u.blocks.map((b) => `${shortHash(b.hash)} (${formatBytes(b.payload_bytes)})`).join(', ')}</p>
      )}
      <VerdictList verdicts={u.verdicts} testId="relay-verdicts" />
    </div>
  );
}
