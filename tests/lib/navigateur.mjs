// Le lancement du navigateur (Chromium, Firefox ou WebKit : FIABLE_TEST_MOTEUR) commun aux
// tests dans un vrai navigateur (tests/browser/aide.mjs, tests/admin/outils.mjs, tests/bench/form_bench.mjs) : la pile de test trouvée dans
// l'environnement ou dans le fichier que la fixture de ctest écrit, les plafonds d'attente, et
// le moteur choisi, derrière une seule façade (tests/lib/moteurs/).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DEPOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// --- La pile de test ----------------------------------------------------------------------

// Le fichier que `scripts/dev stack-up` (fixture stack.up de ctest) écrit : une ligne NOM=valeur
// par variable, la valeur jusqu'à la fin de la ligne. ctest le nomme dans FIABLE_TEST_ENV_FILE.
export function fichierEnvironnement() {
  if (process.env.FIABLE_TEST_ENV_FILE) return process.env.FIABLE_TEST_ENV_FILE;
  const build = process.env.FIABLE_TEST_BUILD || path.join(DEPOT, 'build-test');
  return path.join(build, 'fiable-test.env');
}

// Sans FIABLE_TEST_BASE_URL dans l'environnement, les valeurs du fichier remplacent celles de
// l'appelant : elles décrivent une même pile (un FIABLE_VAR exporté pour « scripts/dev up » ne
// doit pas s'y mêler). Les processus lancés ensuite (psql, scripts/dev) en héritent.
export function chargerEnvironnement() {
  if (process.env.FIABLE_TEST_BASE_URL) return null;
  const fichier = fichierEnvironnement();
  if (!fs.existsSync(fichier)) return null;
  for (const ligne of fs.readFileSync(fichier, 'utf8').split('\n')) {
    if (!ligne.trim() || ligne.trimStart().startsWith('#')) continue;
    const i = ligne.indexOf('=');
    if (i <= 0) throw new Error(`${fichier} : ligne qui n'est pas NOM=valeur : ${ligne}`);
    process.env[ligne.slice(0, i)] = ligne.slice(i + 1);
  }
  return fichier;
}

chargerEnvironnement();

export const AIDE = 'Ces tests demandent la pile de test : lancez-les avec `scripts/dev test` (par '
  + 'exemple `scripts/dev test -R browser` ou `-R admin`), ou avec ctest dans la compilation de '
  + 'test (`cd build-test && ctest -R browser`) : ctest démarre nginx, les programmes FastCGI et '
  + `PostgreSQL (fixture stack.up) et les décrit dans ${fichierEnvironnement()}.`;

// Échoue (ne saute rien) si une des variables manque.
export function exiger(noms) {
  for (const nom of noms) {
    if (!process.env[nom]) throw new Error(`${nom} n'est pas défini. ${AIDE}`);
  }
}

exiger(['FIABLE_TEST_BASE_URL', 'FIABLE_TEST_NODE_MODULES']);

export const BASE = process.env.FIABLE_TEST_BASE_URL.replace(/\/$/, '');

// Plafonds d'attente : chaque attente s'arrête à son événement (un état du DOM, une ligne en
// base) ; FIABLE_TEST_SLOWDOWN (défaut 1) agrandit tous les plafonds sur une machine chargée.
export const LENTEUR = Math.max(1, Number(process.env.FIABLE_TEST_SLOWDOWN || 1) || 1);
export const plafond = (ms) => Math.round(ms * LENTEUR);

// --- Le moteur ---------------------------------------------------------------------------
// FIABLE_TEST_MOTEUR : chromium (défaut ; playwright-core, API de playwright telle quelle),
// firefox (puppeteer-core sur WebDriver BiDi) ou webkit (WebKitWebDriver et selenium-webdriver) ;
// les deux derniers offrent aux tests, par tests/lib/moteurs/commun.mjs, le sous-ensemble de
// l'API de playwright qu'ils emploient. Ce qu'un moteur ne peut pas faire lève PasPossible.

export const MOTEURS = ['chromium', 'firefox', 'webkit'];
export const MOTEUR = process.env.FIABLE_TEST_MOTEUR || 'chromium';
if (!MOTEURS.includes(MOTEUR)) throw new Error(`FIABLE_TEST_MOTEUR=${MOTEUR} : ${MOTEURS.join(', ')} attendu`);

export { PasPossible } from './moteurs/commun.mjs';
// Chargés après l'environnement de la pile (FIABLE_TEST_NODE_MODULES).
export const { CHROMIUM, DRAPEAUX, chromium, lancerNavigateur } = await import('./moteurs/chromium.mjs');

const adaptateur = await import(`./moteurs/${MOTEUR}.mjs`);

// L'étape que le moteur ne peut pas faire (erreur PasPossible), remplacée par la plus proche :
// dit sur la sortie du test, jamais en silence.
export function remplacee(erreur, parQuoi) {
  console.log(`${MOTEUR} : ${erreur.message} ; étape remplacée par ${parQuoi}`);
}

// Un contexte sur le profil du dossier donné : fermer puis relancer le même profil simule la
// fermeture et la réouverture du navigateur. Délai par défaut de ses attentes : plafond(30 s).
// options (chromium) : celles de launchPersistentContext ; ailleurs viewport seulement, et
// memeSession (webkit : voir moteurs/webkit.mjs).
export async function lancerProfil(profil, options = {}) {
  const contexte = MOTEUR === 'chromium' ? await adaptateur.lancerProfil(profil, options)
    : await adaptateur.lancerProfil(profil, { ...options, delai: plafond(30000), base: BASE });
  contexte.setDefaultTimeout(plafond(30000));
  return contexte;
}

// Un contexte neuf, sans profil à relancer : chromium a le sien (un profil neuf, comme avant) ;
// firefox et webkit en ouvrent un dans le navigateur partagé du fichier de test.
export async function lancerContexte(profilNeuf, options = {}) {
  if (MOTEUR === 'chromium') return lancerProfil(profilNeuf, options);
  const contexte = await adaptateur.lancerContexte({ ...options, delai: plafond(30000), base: BASE });
  contexte.setDefaultTimeout(plafond(30000));
  return contexte;
}

// Le navigateur partagé du fichier de test (firefox, webkit), fermé à la fin du fichier.
export function arreterMoteur() {
  return adaptateur.arreter();
}
