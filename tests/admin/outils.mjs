// Outils des tests des pages d'administration dans un vrai navigateur, contre la pile de test
// que ctest démarre et décrit dans un fichier (FIABLE_TEST_ENV_FILE) : pile, plafonds et
// lancement de Chromium viennent de tests/lib/navigateur.mjs. Sans pile, chaque fichier échoue
// (il ne saute rien).
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { BASE, exiger, lancerNavigateur, plafond } from '../lib/navigateur.mjs';

export { BASE, LENTEUR, plafond } from '../lib/navigateur.mjs';

exiger(['FIABLE_VAR']);

export const BUREAU = { width: 1280, height: 900 };
export const TELEPHONE = { width: 390, height: 844 };

export const MOT_DE_PASSE = fs.readFileSync(path.join(process.env.FIABLE_VAR, 'admin-password'), 'utf8').trim();
export const AUTORISATION = `Basic ${Buffer.from(`admin:${MOT_DE_PASSE}`).toString('base64')}`;

let navigateur = null;

// mandataire : un mandataire() par lequel passent toutes les requêtes du navigateur (la boucle
// locale comprise : Chromium la contourne sinon).
export async function demarrer({ mandataire: m = null } = {}) {
  const args = m ? [`--proxy-server=http://127.0.0.1:${m.port}`, '--proxy-bypass-list=<-loopback>'] : [];
  navigateur = await lancerNavigateur({ args });
  return navigateur;
}

// En-têtes propres à une connexion : ni transmis, ni rendus (Node refait les siens).
const SAUT_PAR_SAUT = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding',
  'upgrade', 'te', 'trailer', 'proxy-authorization', 'proxy-authenticate']);

function sansSautParSaut(entetes) {
  return Object.fromEntries(Object.entries(entetes).filter(([nom]) => !SAUT_PAR_SAUT.has(nom.toLowerCase())));
}

// Un mandataire HTTP minimal qui refait chaque requête du navigateur depuis l'adresse locale
// `source` (127.0.0.N) : la page est alors soumise aux limites de nginx par adresse, dont la
// configuration de test exempte 127.0.0.1. Il ne va que vers le site testé (le navigateur
// demande aussi d'autres hôtes : 403 sans sortir). requetes : { methode, chemin, statut } de
// chaque requête vers le site.
export async function mandataire(source) {
  const requetes = [];
  const serveur = http.createServer((req, res) => {
    const cible = new URL(req.url);
    if (cible.host !== new URL(BASE).host) {
      res.writeHead(403).end();
      return;
    }
    const amont = http.request({
      host: cible.hostname, port: cible.port, path: cible.pathname + cible.search,
      method: req.method, headers: sansSautParSaut(req.headers), localAddress: source, agent: false,
    }, (r) => {
      requetes.push({ methode: req.method, chemin: cible.pathname, statut: r.statusCode });
      res.writeHead(r.statusCode, sansSautParSaut(r.headers));
      r.pipe(res);
    });
    amont.on('error', (e) => {
      requetes.push({ methode: req.method, chemin: cible.pathname, statut: 0, erreur: String(e) });
      res.destroy();
    });
    req.pipe(amont);
  });
  await new Promise((ok) => { serveur.listen(0, '127.0.0.1', ok); });
  return {
    port: serveur.address().port,
    requetes,
    fermer: () => new Promise((ok) => { serveur.closeAllConnections(); serveur.close(ok); }),
  };
}

export async function arreter() {
  if (navigateur) await navigateur.close();
  navigateur = null;
}

// Une page connectée (identifiants de l'administration, sauf identifiants: null). Les erreurs
// JavaScript de la page sont gardées dans page.erreurs ; les dialogues (confirm) acceptés.
export async function page({ identifiants = { username: 'admin', password: MOT_DE_PASSE }, taille = BUREAU } = {}) {
  const contexte = await navigateur.newContext({
    viewport: taille, locale: 'fr-BE', timezoneId: 'Europe/Brussels',
    ...(identifiants ? { httpCredentials: identifiants } : {}),
  });
  contexte.setDefaultTimeout(plafond(30000));
  const p = await contexte.newPage();
  p.erreurs = [];
  p.on('pageerror', (e) => p.erreurs.push(String(e)));
  p.on('console', (m) => {
    // Le navigateur demande /favicon.ico, que le site n'a pas : ce 404 n'est pas une erreur de la page.
    if (m.type() === 'error' && !/favicon|404 \(Not Found\)/.test(m.text())) p.erreurs.push(m.text());
  });
  p.on('dialog', (d) => d.accept());
  return p;
}

export async function ouvrir(p, chemin) {
  const reponse = await p.goto(BASE + chemin);
  await p.waitForSelector('html[data-pret="1"]', { timeout: plafond(20000) });
  return reponse;
}

export async function capture(p, nom) {
  const dossier = path.join(process.env.FIABLE_BUILD || os.tmpdir(), 'screenshots');
  fs.mkdirSync(dossier, { recursive: true });
  const fichier = path.join(dossier, `admin-${nom}.png`);
  await p.screenshot({ path: fichier, fullPage: true });
  return fichier;
}

// --- L'API, directement (pour préparer les données) -----------------------------------------

export async function creneaux() {
  const r = await fetch(`${BASE}/api/form`);
  if (!r.ok) throw new Error(`GET /api/form : HTTP ${r.status}`);
  return (await r.json()).creneaux.map((c) => c.id);
}

export async function soumettre({ nom, creneaux: choisis, commentaire = '' }) {
  const email = `admin-${randomUUID().slice(0, 12)}@example.org`;
  const r = await fetch(`${BASE}/api/submit`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Idempotency-Key': randomUUID(),
      'Fiable-Client': 'from_queue=0; queued_ms=0; queue_length=0; attempt=1; autosave_ms=1.5' },
    body: JSON.stringify({ email, nom, creneaux: choisis, commentaire }),
  });
  if (r.status !== 201) throw new Error(`POST /api/submit : HTTP ${r.status} ${await r.text()}`);
  return r.json();
}

export async function modifier(reponse, changements, version) {
  const r = await fetch(`${BASE}/api/modify`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${reponse.edit_token}`,
      'If-Match': `"v${version}"` },
    body: JSON.stringify({ email: reponse.email, nom: reponse.nom, creneaux: reponse.creneaux,
      commentaire: reponse.commentaire, ...changements }),
  });
  if (r.status !== 200) throw new Error(`PUT /api/modify : HTTP ${r.status} ${await r.text()}`);
  return r.json();
}

export async function retirer(reponse, version) {
  const r = await fetch(`${BASE}/api/modify`, {
    method: 'DELETE',
    headers: { Authorization: `Bearer ${reponse.edit_token}`, 'If-Match': `"v${version}"` },
  });
  if (r.status !== 200) throw new Error(`DELETE /api/modify : HTTP ${r.status}`);
  return r.json();
}

export async function adminJson(chemin) {
  const r = await fetch(BASE + chemin, { headers: { Authorization: AUTORISATION } });
  if (!r.ok) throw new Error(`GET ${chemin} : HTTP ${r.status}`);
  return r.json();
}
