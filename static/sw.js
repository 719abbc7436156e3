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
  '/formulaire/invitation.js',
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

// Les pages de campagne déjà ouvertes quand le worker arrive sont gardées aussi (avant qu'il
// ne les contrôle : elles ont été chargées sans lui).
async function garderPagesOuvertes() {
  const fenetres = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const pages = [...new Set(fenetres.map((f) => new URL(f.url)).filter((u) => u.origin === self.location.origin
    && PAGE_CAMPAGNE.test(u.pathname)).map((u) => u.pathname))];
  const cache = await caches.open(CACHE);
  await Promise.all(pages.map((p) => cache.add(p).catch(() => {})));
}

self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys()
    .then((cles) => Promise.all(cles.filter((k) => k.startsWith('fiable-') && k !== CACHE).map((k) => caches.delete(k))))
    .then(garderPagesOuvertes)
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (e) => {
  const r = e.request;
  const u = new URL(r.url);
  if (r.method !== 'GET' || u.origin !== self.location.origin) return;
  const chemin = u.pathname === '/index.html' ? '/' : u.pathname;
  // La page d'une campagne (/c/<slug>/) est index.html : gardée à son adresse, et sans
  // copie d'elle (campagne jamais ouverte ici), celle de /.
  if (PAGE_CAMPAGNE.test(chemin)) e.respondWith(reseauPuisCopie(chemin, '/'));
  else if (COQUILLE.includes(chemin)) e.respondWith(reseauPuisCopie(chemin));
});

async function reseauPuisCopie(chemin, secours = null) {
  const cache = await caches.open(CACHE);
  try {
    const rep = await new Promise((ok, ko) => {
      setTimeout(() => ko(new Error('délai dépassé')), DELAI_RESEAU);
      fetch(chemin, { cache: 'no-cache' }).then(ok, ko);
    });
    if (rep.ok) await cache.put(chemin, rep.clone());
    return rep;
  } catch (err) {
    const copie = await cache.match(chemin) || (secours && await cache.match(secours));
    if (copie) return copie;
    throw err;
  }
}
