import type { Address } from '@blyan/block';
import { useMemo } from 'react';
import { DataClient } from './data-client.ts';
import { ReviewPanel } from './ReviewPanel.tsx';
import { UploadForm } from './UploadForm.tsx';

/** The data hub page: upload a dataset, and review other people's. */
export function DataPage({ relay, account }: { relay: string; account: Address | null }) {
  const client = useMemo(() => new DataClient(relay), [relay]);
  return (
    <main className="data-page" data-testid="data-page">
      <UploadForm client={client} signedIn={account !== null} />
      {account !== null ? <ReviewPanel client={client} account={account} /> : <p className="hint">Sign in to upload and to review.</p>}
    </main>
  );
}
