import type { FromWorker } from '../protocol.ts';

/** How long a progress message may wait for a newer one of its kind before it is posted. */
export const PROGRESS_DELAY_MS = 50;

/** The key under which only the latest message counts (a block's progress, the cache size, an answer's route and plan), or null for one posted as it comes. */
function progressKey(m: FromWorker): string | null {
  switch (m.type) {
    case 'block':
      return `block ${m.event.hash}`;
    case 'cache':
      return 'cache';
    case 'route':
    case 'plan':
      return `${m.type} ${m.id}`;
    default:
      return null;
  }
}

/**
 * The worker's messages to the page, with progress coalesced: a block's progress, the cache size
 * and an answer's route and plan are held up to PROGRESS_DELAY_MS and only the latest of each is posted
 * (a cold answer's two dozen blocks would otherwise re-render the page on every chunk, on the
 * cores the download and the model share). Any other message first posts what is held, so the
 * page never sees a token, an answer's end or an error before the progress that came before it.
 */
export class Outbox {
  private held = new Map<string, FromWorker>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly post: (m: FromWorker) => void) {}

  send(m: FromWorker): void {
    const key = progressKey(m);
    if (key === null) {
      this.flush();
      this.post(m);
      return;
    }
    this.held.delete(key);
    this.held.set(key, m);
    this.timer ??= setTimeout(() => this.flush(), PROGRESS_DELAY_MS);
  }

  /** Posts every held message now, oldest first. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const held = [...this.held.values()];
    this.held.clear();
    for (const m of held) this.post(m);
  }
}
