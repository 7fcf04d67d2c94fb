import { serveStatic } from '@hono/node-server/serve-static';
import type { Hono } from 'hono';

/** Cross-origin isolation, as vite serves the app: onnxruntime-web needs it for threads. */
const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'credentialless' };

/** Vite names the files under assets/ by content hash; everything else may change on a rebuild. */
function cacheControl(path: string): string {
  return path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
}

/**
 * Serves the built web app (apps/web/dist) at / beside the API under /v1, so the page and the relay
 * share one origin: no CORS, and the session cookie is first-party.
 */
export function mountWebApp(app: Hono, root: string): void {
  app.use('*', async (c, next) => {
    if (c.req.path.startsWith('/v1/')) return next();
    await next();
    if (c.res.status === 200) {
      for (const [name, value] of Object.entries(ISOLATION)) c.res.headers.set(name, value);
      c.res.headers.set('Cache-Control', cacheControl(c.req.path));
    }
  });
  app.get('*', serveStatic({ root }));
}
