import type { MiddlewareHandler } from 'hono';

export interface CorsOptions {
  /** The one origin that gets credentialed requests (its own name echoed back); any other gets `*`. */
  credentialedOrigin: string;
  allowMethods: string[];
  allowHeaders: string[];
  exposeHeaders: string[];
  maxAge: number;
}

/**
 * CORS as hono/cors answers it, with its headers added after the route has answered: hono/cors
 * writes them before, which makes Hono re-wrap every response (a Uint8Array payload turned into a
 * stream piped chunk by chunk), halving the rate the relay serves payloads at.
 */
export function cors(opts: CorsOptions): MiddlewareHandler {
  const methods = opts.allowMethods.join(',');
  const allowHeaders = opts.allowHeaders.join(',');
  const expose = opts.exposeHeaders.join(',');
  const common = (origin: string | undefined): Record<string, string> => ({
    'Access-Control-Allow-Origin': origin === opts.credentialedOrigin ? origin : '*',
    'Access-Control-Allow-Credentials': 'true',
    'Access-Control-Expose-Headers': expose,
  });
  return async (c, next) => {
    const headers = common(c.req.header('origin'));
    if (c.req.method === 'OPTIONS') {
      return c.body(null, 204, {
        ...headers,
        Vary: 'Origin, Access-Control-Request-Headers',
        'Access-Control-Max-Age': String(opts.maxAge),
        'Access-Control-Allow-Methods': methods,
        'Access-Control-Allow-Headers': allowHeaders,
      });
    }
    await next();
    for (const [k, v] of Object.entries(headers)) c.header(k, v);
    c.header('Vary', 'Origin', { append: true });
  };
}
