import { RelayError } from './errors.ts';

export type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

/** A relay's base URL and the fetch that reaches it: what RelayClient and AccountsClient share. */
export class RelayConnection {
  readonly base: string;

  constructor(
    base: string,
    private readonly fetchImpl: Fetch = (url, init) => globalThis.fetch(url, init),
  ) {
    this.base = base.replace(/\/+$/, '');
  }

  /** Sends `init` to base/v1/path; failing to reach the relay (other than an abort) is RelayError code unreachable. */
  protected async request(path: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetchImpl(`${this.base}/v1${path}`, init);
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e;
      throw new RelayError(0, 'unreachable', `relay ${this.base} is unreachable: ${(e as Error).message}`);
    }
  }
}
