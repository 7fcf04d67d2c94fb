// Serves the app shell offline: every same-origin GET is answered from the network when it can
// be (and the answer kept), else from what was kept. The relay's API (/v1/, on this origin when
// the relay serves the app, else another) is never touched here: its blocks live in IndexedDB,
// verified.
const CACHE = 'blyan-shell-v1';
const SHELL = ['/', '/index.html', '/manifest.webmanifest', '/icon-192.png', '/icon-512.png'];

// shell.json (written by the build) lists every file of the app, the worker's chunks included.
async function install() {
  const files = await (await fetch('/shell.json', { cache: 'no-store' })).json();
  const cache = await caches.open(CACHE);
  await cache.addAll([...SHELL, ...files]);
  await self.skipWaiting();
}

self.addEventListener('install', (event) => event.waitUntil(install()));

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin || url.pathname.startsWith('/v1/')) return;
  event.respondWith(
    fetch(event.request)
      .then((res) => {
        if (res.ok) {
          const copy = res.clone();
          caches.open(CACHE).then((c) => c.put(event.request, copy));
        }
        return res;
      })
      .catch(async () => (await caches.match(event.request, { ignoreSearch: true })) ?? (await caches.match('/index.html')) ?? Response.error()),
  );
});
