// Outils communs des tests du formulaire dans un vrai navigateur, contre la pile de test
// (nginx + programmes FastCGI + PostgreSQL) que ctest démarre et décrit dans un fichier
// (FIABLE_TEST_ENV_FILE) : pile, plafonds et lancement de Chromium viennent de
// tests/lib/navigateur.mjs. Sans pile, chaque fichier de test échoue (il ne saute rien).
// Le moteur (FIABLE_TEST_MOTEUR : chromium, firefox, webkit) est choisi par la façade ; ce
// qu'il ne peut pas faire (PasPossible) est remplacé ici par l'étape la plus proche, et dit.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { after } from 'node:test';
import {
  AIDE, BASE, MOTEUR, PasPossible, arreterMoteur, exiger, lancerContexte, lancerProfil, plafond, remplacee,
} from '../lib/navigateur.mjs';

export { BASE, chromium, DRAPEAUX, LENTEUR, MOTEUR, PasPossible, plafond, remplacee } from '../lib/navigateur.mjs';

// Le navigateur partagé du fichier (firefox, webkit) est fermé après ses tests.
after(() => arreterMoteur());

exiger(['FIABLE_TEST_PG']);

export const BUREAU = { width: 1200, height: 900 };
export const TELEPHONE = { width: 375, height: 740 };

// --- Navigateur ---------------------------------------------------------------------------

const profils = [];
process.on('exit', () => {
  for (const d of profils) fs.rmSync(d, { recursive: true, force: true });
});

export function nouveauProfil() {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'fiable-chromium-'));
  profils.push(d);
  return d;
}

// Un navigateur : sur le profil donné, un navigateur à lui (fermer puis relancer le même profil
// simule la fermeture et la réouverture du navigateur, voir relancer) ; sans profil, un
// contexte neuf (chromium : sur un profil neuf ; firefox, webkit : dans le navigateur partagé).
export async function lancer({ profil, ...options } = {}) {
  const garde = profil !== undefined;
  profil ??= nouveauProfil();
  const o = { viewport: BUREAU, ...(MOTEUR === 'chromium' ? { locale: 'fr-BE' } : {}), ...options };
  const contexte = garde ? await lancerProfil(profil, o) : await lancerContexte(profil, o);
  return preparer(contexte, profil);
}

// Le navigateur fermé par contexte.close() (lancé avec un profil) relancé sur son profil. Là où
// le moteur ne garde rien d'un lancement au suivant (webkit), étape remplacée : un contexte neuf
// sur la même origine dans la même session (le stockage de la session, pas celui d'un profil).
export async function relancer(ferme, options = {}) {
  try {
    return await lancer({ profil: ferme.profil, ...options });
  } catch (e) {
    if (!(e instanceof PasPossible)) throw e;
    remplacee(e, 'un contexte neuf sur la même origine dans la même session (ses pages fermées puis rouvertes)');
    const o = { viewport: BUREAU, ...options, memeSession: true };
    return preparer(await lancerProfil(ferme.profil, o), ferme.profil);
  }
}

function preparer(contexte, profil) {
  contexte.profil = profil;
  contexte.erreurs = [];
  contexte.on('weberror', (e) => contexte.erreurs.push(String(e.error())));
  // Hors ligne : là où le moteur n'a pas de mode hors ligne (webkit), le relais devant nginx
  // coupe les connexions (navigator.onLine reste vrai, pas d'événement offline) ; à son
  // rétablissement, chaque page ouverte reçoit l'événement online qu'un vrai retour du réseau
  // lui enverrait.
  const horsLigne = contexte.setOffline.bind(contexte);
  contexte.setOffline = async (coupe) => {
    try {
      await horsLigne(coupe);
    } catch (e) {
      if (!(e instanceof PasPossible)) throw e;
      remplacee(e, coupe ? 'la coupure du relais devant nginx (connexions refusées)'
        : 'le rétablissement du relais, puis l’événement online envoyé à chaque page ouverte');
      contexte.couperRelais(coupe);
      contexte.relaisCoupe = coupe;
      if (!coupe) {
        for (const p of contexte.pages()) await p.evaluate(() => { dispatchEvent(new Event('online')); });
      }
    }
  };
  // Permissions (presse-papiers) : là où l'automatisation ne sait pas les accorder (webkit),
  // étape remplacée : un presse-papiers tenu dans la page, par lequel writeText et readText passent.
  const permissions = contexte.grantPermissions.bind(contexte);
  contexte.grantPermissions = async (...args) => {
    try {
      await permissions(...args);
    } catch (e) {
      if (!(e instanceof PasPossible)) throw e;
      remplacee(e, 'un presse-papiers tenu dans la page (writeText puis readText y passent)');
      await contexte.addInitScript(() => {
        let copie = '';
        navigator.clipboard.writeText = async (t) => { copie = String(t); };
        navigator.clipboard.readText = async () => copie;
      });
    }
  };
  const nouvelle = contexte.newPage.bind(contexte);
  contexte.newPage = async () => adapter(await nouvelle());
  return contexte;
}

// La taille de la vue : là où le moteur refuse une fenêtre si étroite (webkit, moins de 447 px
// environ), étape remplacée par la vue la plus étroite qu'il accepte.
function adapter(page) {
  if (page.adaptee) return page;
  page.adaptee = true;
  const taille = page.setViewportSize.bind(page);
  page.setViewportSize = async (t) => {
    try {
      await taille(t);
    } catch (e) {
      if (!(e instanceof PasPossible)) throw e;
      remplacee(e, `une vue de ${LARGEUR_MIN} px de large, la plus étroite que ce moteur accepte`);
      await taille({ ...t, width: LARGEUR_MIN });
    }
  };
  return page;
}

const LARGEUR_MIN = 460;

// « Hors ligne » annoncé par la page ; derrière le relais coupé (pas d'événement offline),
// étape remplacée : le serveur est injoignable depuis la page.
export async function attendreHorsLigne(page) {
  if (!page.context().relaisCoupe) {
    await attendreTexte(page, '#reseau', 'Hors ligne');
    return;
  }
  remplacee(new PasPossible(MOTEUR, 'annoncer « Hors ligne » (navigator.onLine reste vrai derrière le relais)'),
    'la vérification que /api/health est injoignable depuis la page');
  if (await joint(page)) throw new Error('relais coupé, mais /api/health répond encore à la page');
}

const joint = (page) => page.evaluate(() => fetch('/api/health', { cache: 'no-store' }).then((r) => r.ok, () => false));


// Par défaut, la page de la première campagne : « / » va droit à elle quand elle est la seule
// ouverte, mais d'autres suites laissent des campagnes ouvertes dans la base de test, et « / »
// les liste alors (browser.campagne éprouve « / » lui-même).
export const PREMIERE = '/c/disponibilites/';

export async function ouvrir(contexte, chemin = PREMIERE) {
  const page = adapter(contexte.pages().find((p) => p.url() === 'about:blank') || await contexte.newPage());
  page.on('pageerror', (e) => contexte.erreurs.push(String(e)));
  await page.goto(BASE + chemin);
  await pret(page);
  return page;
}

export async function pret(page) {
  await page.waitForSelector('html[data-pret="1"]', { timeout: plafond(15000) });
}

// Attend que le service worker contrôle la page (la coquille est alors gardée).
export async function coquilleGardee(page) {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise((ok) => navigator.serviceWorker.addEventListener('controllerchange', ok, { once: true }));
    }
  });
}

export async function capture(page, nom, { taille } = {}) {
  const dossier = path.join(process.env.FIABLE_BUILD || os.tmpdir(), 'screenshots');
  fs.mkdirSync(dossier, { recursive: true });
  const avant = page.viewportSize();
  if (taille) await page.setViewportSize(taille);
  // En haut de page : une capture pleine page d'une page défilée laisse la barre d'état
  // collante au milieu de l'image.
  await page.evaluate(() => scrollTo(0, 0));
  const fichier = path.join(dossier, `${nom}${MOTEUR === 'chromium' ? '' : `-${MOTEUR}`}.png`);
  try {
    await page.screenshot({ path: fichier, fullPage: true });
  } catch (e) {
    if (!(e instanceof PasPossible)) throw e;
    remplacee(e, 'une capture de la fenêtre');
    await page.screenshot({ path: fichier });
  }
  // Sur téléphone, rien ne doit dépasser en largeur (défilement horizontal).
  const largeurs = await page.evaluate(() => [document.documentElement.scrollWidth, innerWidth]);
  if (largeurs[0] > largeurs[1]) {
    throw new Error(`${nom} : la page déborde en largeur (${largeurs[0]} px pour ${largeurs[1]} px)`);
  }
  if (taille && avant) await page.setViewportSize(avant);
}

// Les requêtes d'écriture vers l'API vues par le contexte (toutes pages confondues) ;
// echec : la requête n'a pas abouti (hors ligne, connexion coupée).
export function espion(contexte) {
  const vues = [];
  const parRequete = new Map();
  contexte.on('request', (r) => {
    if (r.url().startsWith(`${BASE}/api/`) && r.method() !== 'GET') {
      const v = { methode: r.method(), url: r.url().slice(BASE.length), entetes: r.headers(), corps: r.postData(), echec: false };
      parRequete.set(r, v);
      vues.push(v);
    }
  });
  contexte.on('requestfailed', (r) => {
    const v = parRequete.get(r);
    if (v) v.echec = true;
  });
  return vues;
}

export function lireEnteteClient(valeur) {
  const o = {};
  for (const partie of String(valeur || '').split(';')) {
    const [k, v] = partie.trim().split('=');
    if (k) o[k] = v;
  }
  return o;
}

// --- Formulaire ---------------------------------------------------------------------------

export const emailUnique = (prefixe = 'navigateur') => `${prefixe}-${randomUUID().replace(/-/g, '')}@example.org`;

export async function remplir(page, { nom = 'Camille Navigateur', email = emailUnique(), creneaux = [0, 3], commentaire = '' } = {}) {
  await page.fill('#nom', nom);
  await page.fill('#email', email);
  for (const i of creneaux) await page.locator('#liste-creneaux input[name="creneaux"]').nth(i).check();
  if (commentaire) await page.fill('#commentaire', commentaire);
  const ids = [];
  for (const i of creneaux) ids.push(await page.locator('#liste-creneaux input[name="creneaux"]').nth(i).getAttribute('value'));
  return { nom, email, creneaux: ids, commentaire };
}

export async function texte(page, selecteur) {
  return (await page.textContent(selecteur))?.replace(/\s+/g, ' ').trim() ?? '';
}

export async function attendreTexte(page, selecteur, attendu, timeout = 15000) {
  await page.waitForFunction(([s, t]) => {
    const e = document.querySelector(s);
    return e && !e.closest('[hidden]') && e.textContent.replace(/\s+/g, ' ').includes(t);
  }, [selecteur, attendu], { timeout: plafond(timeout) });
}

export async function attendreVisible(page, selecteur, timeout = 15000) {
  await page.waitForSelector(`${selecteur}:not([hidden])`, { state: 'visible', timeout: plafond(timeout) });
}

export async function compteurFile(page) {
  return Number(await page.getAttribute('#compteur-file', 'data-nombre'));
}

// --- Base de données (superutilisateur ; valeurs passées en variables psql) ----------------

export function sql(requete, variables = {}) {
  const args = ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-d', process.env.FIABLE_TEST_PG];
  for (const [k, v] of Object.entries(variables)) args.push('-v', `${k}=${v}`);
  const r = spawnSync('psql', args, { input: requete, encoding: 'utf8', timeout: plafond(30000) });
  if (r.status !== 0) throw new Error(`psql a échoué (${r.status}) : ${r.stderr}\nrequête : ${requete}`);
  return r.stdout.trim();
}

export function sqlJson(requete, variables) {
  const t = sql(requete, variables);
  return t ? JSON.parse(t) : null;
}

// Les réponses enregistrées pour une adresse (actives ou retirées), les plus anciennes d'abord.
export function reponsesPour(email) {
  return sqlJson(`SELECT coalesce(json_agg(json_build_object('id', id, 'nom', nom, 'email', email,
      'creneaux', creneaux, 'commentaire', commentaire, 'version', version,
      'retiree', deleted_at IS NOT NULL, 'historique', historique_modifications) ORDER BY id), '[]')
    FROM soumissions_disponibilites WHERE lower(email) = lower(:'email')`, { email });
}

export function auditPour(id) {
  return sqlJson(`SELECT coalesce(json_agg(action ORDER BY id), '[]') FROM audit_logs
    WHERE entity = 'soumissions_disponibilites' AND entity_id = :'id'`, { id: String(id) });
}

// Les faits du client (en-tête Fiable-Client) enregistrés avec l'écriture faite sous cette clé
// d'idempotence (retrouvée par son empreinte : la base ne garde pas la clé) : { from_queue,
// queued_ms, queue_length, attempt, autosave_ms }. null si la base n'a pas (encore) ces
// colonnes ; attend la ligne, écrite parfois juste après la réponse.
export async function metriqueClient(cle) {
  const colonnes = sql(`SELECT count(*) FROM information_schema.columns
    WHERE table_name = 'request_metrics' AND column_name IN ('from_queue', 'idempotency_key_sha256')`);
  if (colonnes !== '2') return null;
  const fin = Date.now() + plafond(5000);
  for (;;) {
    const ligne = sqlJson(`SELECT row_to_json(m) FROM (SELECT from_queue, queued_ms, queue_length, attempt, autosave_ms
      FROM request_metrics WHERE idempotency_key_sha256 = sha256(convert_to(lower(:'cle'), 'UTF8'))
      AND status < 300 ORDER BY id LIMIT 1) AS m`, { cle });
    if (ligne) return ligne;
    if (Date.now() > fin) break;
    await new Promise((ok) => { setTimeout(ok, 100); });
  }
  throw new Error(`aucune métrique pour la clé ${cle}`);
}

export function drapeau(nom, actif) {
  sql(`UPDATE feature_flags SET enabled = :'actif'::boolean, updated_at = now() WHERE name = :'nom'`,
    { nom, actif: actif ? 'true' : 'false' });
}

export function dev(...args) {
  if (!process.env.FIABLE_TEST_DEV) throw new Error(`FIABLE_TEST_DEV n'est pas défini. ${AIDE}`);
  const r = spawnSync(process.env.FIABLE_TEST_DEV, args, { encoding: 'utf8', timeout: plafond(120000) });
  if (r.status !== 0) throw new Error(`scripts/dev ${args.join(' ')} a échoué : ${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

// --- API (côté serveur, pour préparer une situation) ----------------------------------------

export async function api(methode, chemin, { corps, jeton, ifMatch, cle } = {}) {
  const h = { Accept: 'application/json' };
  if (corps !== undefined) h['Content-Type'] = 'application/json';
  if (jeton) h.Authorization = `Bearer ${jeton}`;
  if (ifMatch) h['If-Match'] = ifMatch;
  if (cle) h['Idempotency-Key'] = cle;
  const r = await fetch(BASE + chemin, { method: methode, headers: h, body: corps === undefined ? undefined : JSON.stringify(corps) });
  const t = await r.text();
  return { status: r.status, etag: r.headers.get('etag'), donnees: t ? JSON.parse(t) : null };
}

export async function creneauxDuFormulaire() {
  const r = await api('GET', '/api/form');
  return r.donnees.creneaux.map((c) => c.id);
}

export async function creerReponse(contenu = {}) {
  const ids = await creneauxDuFormulaire();
  const corps = { email: emailUnique('api'), nom: 'Réponse API', creneaux: ids.slice(0, 2), commentaire: '', ...contenu };
  const r = await api('POST', '/api/submit', { corps, cle: randomUUID() });
  if (r.status !== 201) throw new Error(`création impossible : ${r.status} ${JSON.stringify(r.donnees)}`);
  return { corps, reponse: r.donnees };
}
