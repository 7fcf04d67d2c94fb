import type { DatasetDetail, DatasetSummary, ReviewItem, SignedVote, StoredVerdict, UploadView } from '@blyan/data';

/** A refusal from the relay: its code and message, and for an upload every document's verdict. */
export class DataError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly verdicts: readonly StoredVerdict[] = [],
  ) {
    super(message);
  }
}

async function json<T>(res: Response): Promise<T> {
  const body = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string }; verdicts?: StoredVerdict[] };
  if (!res.ok) throw new DataError(res.status, body.error?.code ?? 'http_error', body.error?.message ?? `HTTP ${res.status}`, body.verdicts);
  return body as T;
}

/** The relay's data hub API (uploads, datasets, review), with the session cookie. */
export class DataClient {
  constructor(private readonly relay: string) {}

  private get(path: string): Promise<Response> {
    return fetch(`${this.relay}/v1${path}`, { credentials: 'include' });
  }

  upload(name: string, source: string, licence: string, body: Uint8Array): Promise<UploadView> {
    const q = new URLSearchParams({ source, licence });
    return fetch(`${this.relay}/v1/datasets/${encodeURIComponent(name)}/uploads?${q}`, {
      method: 'POST',
      credentials: 'include',
      headers: { 'Content-Type': 'text/plain; charset=utf-8' },
      body: body as Uint8Array<ArrayBuffer>,
    }).then((r) => json<UploadView>(r));
  }

  uploadStatus(id: number): Promise<UploadView> {
    return this.get(`/uploads/${id}`).then((r) => json<UploadView>(r));
  }

  datasets(): Promise<DatasetSummary[]> {
    return this.get('/datasets').then((r) => json<{ datasets: DatasetSummary[] }>(r)).then((x) => x.datasets);
  }

  dataset(name: string): Promise<DatasetDetail> {
    return this.get(`/datasets/${encodeURIComponent(name)}`).then((r) => json<DatasetDetail>(r));
  }

  /** A sampled document waiting for this account's vote, or null when there is none. */
  async review(): Promise<ReviewItem | null> {
    const r = await this.get('/review');
    if (r.status === 404) return null;
    return json<ReviewItem>(r);
  }

  vote(v: SignedVote): Promise<{ settled: 'keep' | 'drop' | null; upload: string }> {
    return fetch(`${this.relay}/v1/votes`, { method: 'POST', credentials: 'include', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(v) }).then((r) =>
      json<{ settled: 'keep' | 'drop' | null; upload: string }>(r),
    );
  }
}
