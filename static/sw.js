// Service worker : garde la coquille de l'application (page, modules, styles, icône) pour que
// le formulaire s'ouvre sans réseau. Réseau d'abord (la version en ligne est toujours la plus
// récente), la copie gardée si le réseau manque ou tarde. L'API (/api/) et l'administration ne
// passent jamais par ici : les envois sont gardés par la page (file.js, IndexedDB).
const CACHE = 'fiable-coquille-3';
// Chaque module du formulaire (et de commun/) en fait partie : sans lui, la page ne démarre pas
// hors ligne. Le test browser.coquille vérifie que rien de ce que la page charge ne manque.
const COQUILLE = ['/', '/app.js', '/file.js', '/style.css', '/commun/commun.css', '/icone.svg', '/manifest.webmanifest',
  '/formulaire/affichage.js',
  '/formulaire/brouillon.js',
  '/formulaire/campagne.js',
  '/formulaire/catalogue.js',
  '/formulaire/champs.js',
  '/formulaire/envoi.js',
  '/formulaire/etat.js',
  '/formulaire/evenements.js',
  '/formulaire/historique.js',
  '/formulaire/modification.js',
  '/formulaire/vue-file.js',
  '/commun/dates.js',
  '/commun/dom.js',
];
const DELAI_RESEAU = 4000;
const PAGE_CAMPAGNE = /^\/c\/[a-z0-9-]{1,64}\/$/;

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(COQUILLE)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys()
    .then((cles) => Promise.all(cles.filter((k) => k.startsWith('fiable-') && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (e) => {
  const r = e.request;
  const u = new URL(r.url);
  if (r.method !== 'GET' || u.origin !== self.location.origin) return;
  // La page d'une campagne (/c/<slug>/) est index.html, comme / : une seule copie gardée.
  const chemin = u.pathname === '/index.html' || PAGE_CAMPAGNE.test(u.pathname) ? '/' : u.pathname;
  if (!COQUILLE.includes(chemin)) return;
  e.respondWith(reseauPuisCopie(chemin));
});

async function reseauPuisCopie(chemin) {
  const cache = await caches.open(CACHE);
  try {
    const rep = await new Promise((ok, ko) => {
      setTimeout(() => ko(new Error('délai dépassé')), DELAI_RESEAU);
      fetch(chemin, { cache: 'no-cache' }).then(ok, ko);
    });
    if (rep.ok) await cache.put(chemin, rep.clone());
    return rep;
  } catch (err) {
    const copie = await cache.match(chemin);
    if (copie) return copie;
    throw err;
  }
}
