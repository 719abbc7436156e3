// File d'attente persistante des envois (IndexedDB) et requêtes vers l'API.
//
// Un envoi (POST /api/submit, PUT /api/modify) est écrit dans la file avant le premier essai,
// avec sa clé d'idempotence, créée une fois par appui sur « Envoyer ». Il n'en sort que sur
// une réponse définitive : 2xx, ou 4xx qui demande la personne. Réseau coupé, 5xx, 408, 429 :
// nouvel essai, tout de suite sur « online » et au chargement, sinon après un délai
// exponentiel et aléatoire ; jamais abandonné. IndexedDB plutôt que localStorage : une
// transaction « strict » est sur disque quand elle se termine (localStorage est écrit plus
// tard, par lots) et un quota plein fait échouer la transaction elle-même. navigator.locks :
// un seul onglet envoie à la fois, et chaque envoi est relu dans le verrou (un envoi parti
// depuis un autre onglet n'est pas renvoyé).
//
// Chaque envoi porte sa campagne (« campagne », aussi dans le corps d'une création) : une page
// n'envoie que ceux de la sienne (gestionnaires.appartient), et un refus définitif que la
// personne doit voir sans rien perdre (gestionnaires.garder : campagne close) le laisse dans
// la file, marqué « refuse », jusqu'à ce qu'elle l'en retire elle-même.
//
// Un 429 ou un 503 avec Retry-After est réessayé après ce délai, sans allonger le délai
// exponentiel (« recul », le nombre d'échecs sans Retry-After) : le serveur a dit quand
// revenir. Tant qu'un envoi attend après un échec, la page sonde /api/health?ping=1 (un
// SELECT 1, non mesuré) toutes les 2 à 4 s : quand le serveur redevient joignable, tout part
// sans attendre la fin du délai.
//
// Chaque changement de la file est annoncé aux autres onglets avec la file elle-même (message
// « file », champ envois) : un onglet n'a rien à relire au moment où le message arrive.

const MAGASIN = 'envois';
const DELAI_MIN = 1000;
const DELAI_MAX = 300000;
const FORMAT = 2;
const SONDE = '/api/health?ping=1';
const SONDE_MIN = 2000;
const SONDE_ALEA = 2000;

export const evenements = new EventTarget();
const canal = globalThis.BroadcastChannel ? new BroadcastChannel('fiable') : null;
let gestionnaires = {};
let promesseBase = null;
let minuteur = 0;
let chaine = Promise.resolve();
let minuteurSonde = 0;
let sondeJoignable = null; // dernier résultat de la sonde (null : pas encore sondé)
// Le serveur vu par cette page : true joignable, false injoignable (réseau coupé, serveur
// arrêté, base indisponible), null inconnu. Changement : événement « serveur ».
export let serveur = null;

export const configurer = (g) => { gestionnaires = g; };
export const diffuser = (message) => canal?.postMessage(message);
// Une file changée par un autre onglet est planifiée ici aussi : si cet onglet-là se ferme,
// celui-ci envoie à sa place.
if (canal) {
  canal.onmessage = (e) => {
    evenements.dispatchEvent(new CustomEvent('message', { detail: e.data }));
    if (e.data?.type === 'file') planifier().catch(() => {});
  };
}

// La file telle qu'écrite, à cette page (événement « change ») et aux autres onglets.
async function signaler() {
  let envois;
  try {
    envois = await lister();
  } catch {
    return;
  }
  evenements.dispatchEvent(new CustomEvent('change', { detail: envois }));
  diffuser({ type: 'file', envois });
}

function noterServeur(joignable) {
  if (serveur === joignable) return;
  serveur = joignable;
  evenements.dispatchEvent(new Event('serveur'));
}

// Un envoi écrit par une version précédente de la page (format 1, sans « recul ») reste
// valable : il est lu comme s'il avait été écrit par celle-ci, et rien n'est perdu.
const normaliser = (v) => (v && v.format !== FORMAT ? { ...v, format: FORMAT, recul: v.recul ?? v.essais ?? 0 } : v);

function base() {
  promesseBase ??= new Promise((ok, ko) => {
    const r = indexedDB.open('fiable', 1);
    r.onupgradeneeded = () => r.result.createObjectStore(MAGASIN, { keyPath: 'cle' });
    r.onsuccess = () => {
      r.result.onversionchange = () => {
        r.result.close();
        promesseBase = null;
      };
      ok(r.result);
    };
    r.onerror = () => {
      promesseBase = null;
      ko(r.error);
    };
  });
  return promesseBase;
}

// fn(magasin, fin) dans une transaction ; tenue quand elle est terminée (sur disque en
// écriture), avec la valeur passée à fin().
async function transaction(mode, fn) {
  const db = await base();
  return new Promise((ok, ko) => {
    const t = db.transaction(MAGASIN, mode, { durability: mode === 'readwrite' ? 'strict' : 'default' });
    let resultat;
    t.oncomplete = () => ok(resultat);
    t.onerror = t.onabort = () => ko(t.error || new DOMException('Transaction annulée', 'AbortError'));
    fn(t.objectStore(MAGASIN), (v) => { resultat = v; });
  });
}

export async function lister() {
  const tous = await transaction('readonly', (m, fin) => { m.getAll().onsuccess = (e) => fin(e.target.result.map(normaliser)); });
  return tous.sort((a, b) => a.cree_le - b.cree_le);
}

const lire = (cle) => transaction('readonly', (m, fin) => { m.get(cle).onsuccess = (e) => fin(normaliser(e.target.result)); });

// Modifie un envoi s'il est encore dans la file ; le rend modifié (undefined sinon).
const modifier = (cle, changements) => transaction('readwrite', (m, fin) => {
  m.get(cle).onsuccess = (e) => {
    if (!e.target.result) return;
    const v = { ...normaliser(e.target.result), ...changements };
    m.put(v);
    fin(v);
  };
});

// Tenue quand l'envoi est écrit sur disque.
export async function ajouter(envoi) {
  await transaction('readwrite', (m) => m.add(envoi));
  await signaler();
}

// Rattache à cette campagne les envois écrits avant les campagnes (sans « campagne ») ; leur
// corps ne change pas (la clé d'idempotence porte sur lui), le serveur les met déjà dans la
// première campagne.
export const rattacher = (campagne) => transaction('readwrite', (m) => {
  m.getAll().onsuccess = (e) => {
    for (const v of e.target.result) if (!v.campagne) m.put({ ...v, campagne });
  };
});

export async function retirer(cle) {
  await transaction('readwrite', (m) => m.delete(cle));
  await signaler();
}

// crypto.randomUUID n'existe qu'en contexte sûr (https, localhost).
export function nouvelleCle() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const o = crypto.getRandomValues(new Uint8Array(16));
  o[6] = (o[6] & 0x0f) | 0x40;
  o[8] = (o[8] & 0x3f) | 0x80;
  const h = [...o].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function nouvelEnvoi({ type, methode, url, corps, campagne = null, jeton = null, ifMatch = null, autosaveMs = 0 }) {
  const t = Date.now();
  return {
    cle: nouvelleCle(), format: FORMAT, type, methode, url, corps, campagne, jeton, if_match: ifMatch, cree_le: t,
    essais: 0, recul: 0, prochain_essai: t, etat: 'attente', derniere_erreur: null, autosave_ms: autosaveMs,
  };
}

// En-tête Fiable-Client : faits du client pour les métriques.
export const enteteClient = ({ depuisFile, attenteMs = 0, longueur = 0, essai = 1, autosaveMs = 0 }) =>
  `from_queue=${depuisFile ? 1 : 0}; queued_ms=${Math.max(0, Math.round(attenteMs))}; `
  + `queue_length=${longueur}; attempt=${essai}; autosave_ms=${Number(autosaveMs || 0).toFixed(3)}`;

// Rend { issue: 'succes'|'refus'|'reessai'|'reseau', status, donnees, etag, attente (ms,
// d'après Retry-After), message }.
export async function requete(methode, url, { corps, jeton, ifMatch, cle, client } = {}) {
  // Un GET sans jeton part sans en-tête ni option de cache : il reprend ainsi le préchargement
  // que nginx annonce avec la page /c/<slug>/ (Link: </api/form?campagne=<slug>>; rel=preload;
  // as=fetch; crossorigin), lancé avant même les modules.
  const simple = methode === 'GET' && !jeton;
  const h = simple ? {} : { Accept: 'application/json, application/problem+json' };
  if (corps !== undefined) h['Content-Type'] = 'application/json';
  if (cle) h['Idempotency-Key'] = cle;
  if (ifMatch) h['If-Match'] = ifMatch;
  if (jeton) h.Authorization = `Bearer ${jeton}`;
  if (methode !== 'GET') h['Fiable-Client'] = enteteClient(client || {});
  let rep;
  let donnees = null;
  try {
    rep = await fetch(url, {
      method: methode, headers: h, cache: simple ? 'default' : 'no-store', signal: AbortSignal.timeout(20000),
      body: corps === undefined ? undefined : JSON.stringify(corps),
    });
    const texte = await rep.text();
    if (texte) donnees = JSON.parse(texte);
  } catch (e) {
    // Corps illisible d'une erreur (page d'un intermédiaire) : on garde le statut.
    if (!rep || rep.ok) {
      noterServeur(false);
      return {
        issue: 'reseau', status: 0,
        message: navigator.onLine === false ? 'Pas de connexion (hors ligne).'
          : e?.name === 'TimeoutError' ? 'Le serveur n’a pas répondu à temps.' : 'Le serveur est injoignable.',
      };
    }
  }
  const s = rep.status;
  const detail = typeof donnees?.detail === 'string' ? donnees.detail : '';
  noterServeur(s < 502 || s > 504);
  if (rep.ok) return { issue: 'succes', status: s, donnees, etag: rep.headers.get('ETag') };
  // message : pour les personnes, sans code ni mot technique ; technique : pour l'assistance
  // (« Détails » d'un envoi en file).
  const technique = `${detail || rep.statusText || 'Sans détail'} (erreur ${s})`;
  if (s === 408 || s === 429 || s >= 500) {
    const ra = Number.parseInt(rep.headers.get('Retry-After'), 10);
    return {
      issue: 'reessai', status: s, donnees, attente: ra > 0 ? Math.min(ra * 1000, DELAI_MAX) : 0, technique,
      message: s === 429 ? 'Le serveur reçoit beaucoup de demandes en ce moment.'
        : s >= 502 && s <= 504 ? 'Le service est momentanément indisponible.' : 'Le serveur a rencontré un problème.',
    };
  }
  return { issue: 'refus', status: s, donnees, technique, message: detail || 'La demande a été refusée.' };
}

// Délai exponentiel (recul), plafonné, avec une part aléatoire (les navigateurs ne reviennent
// pas tous ensemble après une panne). Avec un Retry-After du serveur (attente, en ms) : ce
// délai-là, plus au plus un cinquième.
export const delai = (recul, attente = 0) => (attente > 0
  ? Math.round(attente * (1 + Math.random() / 5))
  : Math.round(Math.min(DELAI_MAX, DELAI_MIN * 2 ** Math.min(Math.max(recul, 1) - 1, 20)) * (0.5 + Math.random() / 2)));

const avecVerrou = (fn) => (navigator.locks ? navigator.locks.request('fiable-envois', fn) : fn());

// Un essai. Rend false si le réseau semble coupé (inutile d'essayer les suivants).
async function essayer(envoi, longueur, depuisFile) {
  if (!(await modifier(envoi.cle, { etat: 'envoi' }))) return true;
  await signaler();
  const r = await requete(envoi.methode, envoi.url, {
    corps: envoi.corps, jeton: envoi.jeton, ifMatch: envoi.if_match, cle: envoi.cle,
    client: { depuisFile, attenteMs: Date.now() - envoi.cree_le, longueur, essai: envoi.essais + 1, autosaveMs: envoi.autosave_ms },
  });
  if (r.issue === 'refus' && gestionnaires.garder?.(envoi, r, depuisFile)) {
    await modifier(envoi.cle, { etat: 'refuse', refus: { status: r.status, code: r.donnees?.code ?? null, detail: r.message, le: Date.now() } });
    await signaler();
    return true;
  }
  if (r.issue === 'succes' || r.issue === 'refus') {
    // Le résultat (jeton, erreurs) est gardé avant que l'envoi ne quitte la file : si l'onglet
    // meurt entre les deux, l'envoi repart et le serveur rejoue sa réponse.
    try {
      await gestionnaires[r.issue](envoi, r);
    } finally {
      await retirer(envoi.cle);
    }
    return true;
  }
  const essais = envoi.essais + 1;
  const recul = r.attente > 0 ? envoi.recul : envoi.recul + 1;
  await modifier(envoi.cle, {
    etat: 'attente', essais, recul, derniere_erreur: r.technique || r.message, dernier_status: r.status, prochain_essai: Date.now() + delai(recul, r.attente),
  });
  await signaler();
  return r.issue !== 'reseau';
}

// Les envois que cette page doit envoyer : ceux de sa campagne, pas encore refusés.
const aEnvoyer = (e) => e.etat !== 'refuse' && (gestionnaires.appartient?.(e) ?? true);

async function passe({ force = false, cle = null, direct = false }) {
  const envois = (await lister()).filter(aEnvoyer);
  for (const e of envois) {
    if (cle && e.cle !== cle) continue;
    const frais = await lire(e.cle);
    if (!frais || !aEnvoyer(frais) || (!force && frais.prochain_essai > Date.now())) continue;
    if (!(await essayer(frais, envois.length, !(direct && frais.essais === 0)))) break;
  }
}

async function planifier() {
  clearTimeout(minuteur);
  const envois = (await lister()).filter(aEnvoyer);
  if (envois.length) minuteur = setTimeout(traiter, Math.max(50, Math.min(...envois.map((e) => e.prochain_essai)) - Date.now()));
  // La sonde tourne tant qu'un envoi attend après un échec.
  if (!envois.some((e) => e.essais > 0)) {
    clearTimeout(minuteurSonde);
    minuteurSonde = 0;
    sondeJoignable = null;
  } else if (!minuteurSonde) {
    minuteurSonde = setTimeout(sonder, SONDE_MIN + Math.random() * SONDE_ALEA);
  }
}

// Une sonde du serveur : s'il redevient joignable (la sonde échouait), tout ce qui attend part.
async function sonder() {
  let ok = false;
  try {
    ok = (await fetch(SONDE, { cache: 'no-store', signal: AbortSignal.timeout(5000) })).ok;
  } catch { /* injoignable */ }
  minuteurSonde = 0;
  const revenu = ok && sondeJoignable === false;
  sondeJoignable = ok;
  noterServeur(ok);
  if (revenu) traiter({ force: true }).catch(() => {});
  else planifier().catch(() => {});
}

// Envoie ce qui est dû. force : tout, tout de suite ; cle : cet envoi seulement ; direct :
// premier essai juste après « Envoyer » (from_queue=0).
export function traiter(options = {}) {
  const p = chaine.then(() => avecVerrou(() => passe(options))).finally(() => planifier().catch(() => {}));
  chaine = p.catch(() => {});
  return p;
}

// Sans file (fonctionnalité désactivée, ou stockage impossible) : un essai, rien n'est gardé.
export async function envoyerSansFile(envoi) {
  const r = await requete(envoi.methode, envoi.url, {
    corps: envoi.corps, jeton: envoi.jeton, ifMatch: envoi.if_match, cle: envoi.cle, client: { autosaveMs: envoi.autosave_ms },
  });
  if (r.issue === 'succes' || r.issue === 'refus') await gestionnaires[r.issue](envoi, r);
  return r;
}

export function demarrer() {
  addEventListener('online', () => traiter({ force: true }));
  return traiter({ force: true });
}
