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
 * The headers every non-preflight response carries: the credentialed origin echoed back, any other
 * origin `*`. Shared by the middleware and the payload fast path (which answers before Hono).
 */
export function corsHeaders(opts: CorsOptions): (origin: string | undefined) => Record<string, string> {
  const expose = opts.exposeHeaders.join(',');
  const any = { 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Credentials': 'true', 'Access-Control-Expose-Headers': expose };
  const own = { ...any, 'Access-Control-Allow-Origin': opts.credentialedOrigin };
  return (origin) => (origin === opts.credentialedOrigin ? own : any);
}

/**
 * CORS as hono/cors answers it, its headers set on the route's response itself once it has
 * answered: hono/cors writes them to the context before (and `c.header` after) the route, either
 * of which makes Hono re-wrap every response, turning a payload Buffer into a stream piped chunk
 * by chunk, which halved the rate the relay serves payloads at.
 */
export function cors(opts: CorsOptions): MiddlewareHandler {
  const methods = opts.allowMethods.join(',');
  const allowHeaders = opts.allowHeaders.join(',');
  const common = corsHeaders(opts);
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
    const out = c.res.headers;
    for (const [k, v] of Object.entries(headers)) out.set(k, v);
    out.append('Vary', 'Origin');
  };
}
