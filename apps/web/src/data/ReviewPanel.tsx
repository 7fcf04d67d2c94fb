import { type Address, type Hash, toHash } from '@blyan/block';
import { type ReviewItem, signVote } from '@blyan/data';
import { useCallback, useEffect, useState } from 'react';
import { privateKeyToAccount } from 'viem/accounts';
import { storedSessionKey } from '../auth/session-key.ts';
import type { DataClient } from './data-client.ts';

const randomNonce = (): Hash => toHash(crypto.getRandomValues(new Uint8Array(32)));

/** L2 review: a random sampled document of someone else's pending upload, kept or dropped by a vote the session key signs. */
export function ReviewPanel({ client, account }: { client: DataClient; account: Address }) {
  const [item, setItem] = useState<ReviewItem | null | undefined>(undefined);
  const [note, setNote] = useState<string | null>(null);

  const next = useCallback(() => {
    client.review().then(setItem, (e: unknown) => setNote((e as Error).message));
  }, [client]);
  useEffect(next, [next]);

  const cast = async (keep: boolean) => {
    const key = storedSessionKey();
    if (item == null || key === null) return;
    try {
      const v = await signVote({ v: 1, kind: 'blyan-dataset-vote', upload: item.upload, doc: item.doc, keep, voter: account, nonce: randomNonce(), at: Date.now() }, privateKeyToAccount(key));
      const r = await client.vote(v);
      setNote(`Voted ${keep ? 'keep' : 'drop'}${r.settled ? `: the document settled as ${r.settled}` : ''}.`);
      next();
    } catch (e) {
      setNote((e as Error).message);
    }
  };

  return (
    <section className="panel review" data-testid="review">
      <h3>Review</h3>
      {note && <p className="status" data-testid="review-note">{note}</p>}
      {item === undefined && <p className="hint">Looking for a sample…</p>}
      {item === null && <p className="hint" data-testid="review-empty">Nothing waiting for your review.</p>}
      {item && (
        <>
          <p>Upload {item.upload} of <b>{item.name}</b>: keep this document in the dataset?</p>
          <pre className="doc" data-testid="review-text">{item.text}</pre>
          <div className="row">
            <button type="button" data-testid="vote-keep" onClick={() => void cast(true)}>Keep</button>
            <button type="button" data-testid="vote-drop" onClick={() => void cast(false)}>Drop</button>
          </div>
        </>
      )}
    </section>
  );
}
