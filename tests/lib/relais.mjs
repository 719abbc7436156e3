// Un relais HTTP entre un navigateur et le nginx de test, pour les moteurs dont l'automatisation
// n'a ni mode hors ligne ni vue sur le réseau (Firefox par WebDriver BiDi, WebKit par
// WebKitWebDriver) : la page est ouverte sur http://127.0.0.1:<port du relais>, qui refait
// chaque requête vers nginx telle quelle, sauf Origin et Referer : le relais tient lieu du site,
// son origine y est remplacée par celle du site (BASE, la seule que le serveur accepte). Le relais
//  - se coupe et se rétablit (couper : connexions ouvertes détruites, nouvelles refusées),
//  - nomme chaque requête vue (événements 'request' et 'requestfailed', comme playwright),
//  - applique des routes (fulfill, continue, fetch, abort), comme page.route de playwright,
//  - sert /__moteur/init.js et l'insère en tête des pages HTML (scripts d'initialisation et
//    erreurs de la page rapportées, pour WebKit qui n'a ni l'un ni l'autre).
// Un port par contexte : deux contextes n'ont pas la même origine, donc pas le même stockage.
import { EventEmitter } from 'node:events';
import http from 'node:http';

const SAUT_PAR_SAUT = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding',
  'upgrade', 'te', 'trailer']);

const sansSautParSaut = (h) => Object.fromEntries(Object.entries(h).filter(([n]) => !SAUT_PAR_SAUT.has(n.toLowerCase())));

// Ce que le navigateur dit de la requête (Sec-Fetch-Dest) dans les mots de playwright.
const TYPES = { document: 'document', script: 'script', style: 'stylesheet', image: 'image', font: 'font',
  empty: 'fetch', serviceworker: 'script', worker: 'script', manifest: 'manifest' };

export class Relais extends EventEmitter {
  // cible : l'URL de nginx (BASE) ; injecter : insérer /__moteur/init.js dans les pages HTML.
  constructor(cible, { injecter = false } = {}) {
    super();
    this.cible = new URL(cible);
    this.injecter = injecter;
    this.coupe = false;
    this.routes = [];
    this.initScripts = [];
    this.prises = new Set();
    this.serveur = http.createServer((req, res) => { this.requete(req, res); });
    this.serveur.keepAliveTimeout = 1000;
    this.serveur.on('connection', (s) => {
      if (this.coupe) { s.destroy(); return; }
      this.prises.add(s);
      s.on('close', () => this.prises.delete(s));
    });
  }

  async ecouter() {
    await new Promise((ok) => { this.serveur.listen(0, '127.0.0.1', ok); });
    this.serveur.unref(); // un relais oublié ne retient pas le processus du test
    this.port = this.serveur.address().port;
    this.origine = `http://127.0.0.1:${this.port}`;
    return this;
  }

  couper() {
    this.coupe = true;
    for (const s of this.prises) s.destroy();
  }

  retablir() { this.coupe = false; }

  // filtre : (URL) => booléen, ou un motif « **/chemin » (la fin du chemin).
  route(filtre, traitant) {
    const f = typeof filtre === 'function' ? filtre
      : (u) => new RegExp(`^${String(filtre).replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*\*/g, '.*').replace(/(?<!\.)\*/g, '[^/]*')}$`).test(u.href);
    this.routes.push({ f, traitant });
  }

  async fermer() {
    this.couper();
    await new Promise((ok) => { this.serveur.close(ok); });
  }

  // L'URL vue par les tests : celle de nginx (BASE), pas celle du relais.
  versBase(url) { return String(url).replace(this.origine, this.cible.origin); }

  async requete(req, res) {
    if (this.coupe) { req.socket.destroy(); return; }
    const morceaux = [];
    for await (const m of req) morceaux.push(m);
    const corps = Buffer.concat(morceaux);
    const u = new URL(req.url, this.cible.origin);
    if (u.pathname.startsWith('/__moteur/')) { this.interne(u, req, res, corps); return; }
    const vue = {
      url: () => u.href, method: () => req.method, headers: () => ({ ...req.headers }),
      postData: () => (corps.length ? corps.toString('utf8') : null),
      resourceType: () => TYPES[req.headers['sec-fetch-dest']] || 'other',
    };
    this.emit('request', vue);
    const echec = () => { this.emit('requestfailed', vue); res.destroy(); };
    const amont = () => this.amont(req, corps);
    const route = this.routes.findLast((r) => r.f(u));
    if (!route) {
      try { this.rendre(res, await amont()); } catch { echec(); }
      return;
    }
    let fait = false;
    await route.traitant({
      request: () => vue,
      fulfill: async ({ status = 200, contentType, headers = {}, body = '' }) => {
        fait = true;
        res.writeHead(status, { ...headers, ...(contentType ? { 'Content-Type': contentType } : {}) }).end(body);
      },
      continue: async () => {
        fait = true;
        try { this.rendre(res, await amont()); } catch { echec(); }
      },
      fetch: async () => {
        const r = await amont();
        return { status: () => r.statut, headers: () => r.entetes, text: async () => r.corps.toString('utf8') };
      },
      abort: async () => { fait = true; echec(); },
    });
    if (!fait) echec();
  }

  amont(req, corps) {
    const entetes = sansSautParSaut(req.headers);
    delete entetes['accept-encoding']; // les pages HTML sont lues pour l'insertion
    for (const n of ['origin', 'referer']) {
      if (entetes[n]?.startsWith(this.origine)) entetes[n] = this.cible.origin + entetes[n].slice(this.origine.length);
    }
    return new Promise((ok, ko) => {
      const r = http.request({ host: this.cible.hostname, port: this.cible.port, path: req.url,
        method: req.method, headers: entetes, agent: false }, (rep) => {
        const m = [];
        rep.on('data', (d) => m.push(d));
        rep.on('end', () => ok({ statut: rep.statusCode, entetes: rep.headers, corps: Buffer.concat(m) }));
        rep.on('error', ko);
      });
      r.on('error', ko);
      r.end(corps);
    });
  }

  rendre(res, { statut, entetes, corps }) {
    const h = sansSautParSaut(entetes);
    if (this.injecter && /^text\/html/.test(h['content-type'] || '')) {
      corps = Buffer.from(corps.toString('utf8').replace(/<head>/i, '$&<script src="/__moteur/init.js"></script>'));
      h['content-length'] = String(corps.length);
    }
    res.writeHead(statut, h).end(corps);
  }

  // init.js : les scripts d'addInitScript, et les erreurs de la page rapportées au relais.
  interne(u, req, res, corps) {
    if (u.pathname === '/__moteur/init.js') {
      const rapport = `(() => {
        const dire = (t) => { try { navigator.sendBeacon('/__moteur/erreur', String(t)); } catch (e) {} };
        addEventListener('error', (e) => dire(e.error || e.message));
        addEventListener('unhandledrejection', (e) => dire(e.reason));
      })();`;
      res.writeHead(200, { 'Content-Type': 'text/javascript', 'Cache-Control': 'no-store' })
        .end([rapport, ...this.initScripts].join('\n'));
      return;
    }
    if (u.pathname === '/__moteur/erreur') this.emit('pageerror', corps.toString('utf8'));
    res.writeHead(204).end();
  }
}

export async function relais(cible, options) {
  return new Relais(cible, options).ecouter();
}
