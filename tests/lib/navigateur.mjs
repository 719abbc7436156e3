// Le lancement de Chromium commun aux tests dans un vrai navigateur (tests/browser/aide.mjs,
// tests/admin/outils.mjs, tests/bench/form_bench.mjs) : la pile de test trouvée dans
// l'environnement ou dans le fichier que la fixture de ctest écrit, les plafonds d'attente, et
// Chromium de Debian piloté par playwright-core (tests/node).
import fs from 'node:fs';
import { createRequire } from 'node:module';
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

// --- Chromium -----------------------------------------------------------------------------

export const CHROMIUM = process.env.FIABLE_TEST_CHROMIUM || '/usr/bin/chromium';
const requireNode = createRequire(path.join(process.env.FIABLE_TEST_NODE_MODULES, 'x.js'));
export const { chromium } = requireNode('playwright-core');

export const DRAPEAUX = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

// Un navigateur sans profil gardé ; args : drapeaux ajoutés à DRAPEAUX.
export function lancerNavigateur({ args = [], ...options } = {}) {
  return chromium.launch({ executablePath: CHROMIUM, args: [...DRAPEAUX, ...args], headless: true, ...options });
}

// Un navigateur sur le profil du dossier donné : fermer puis relancer le même profil simule la
// fermeture et la réouverture du navigateur. Délai par défaut de ses attentes : plafond(30 s).
export async function lancerProfil(profil, options = {}) {
  const contexte = await chromium.launchPersistentContext(profil, {
    executablePath: CHROMIUM, args: DRAPEAUX, headless: true, ...options,
  });
  contexte.setDefaultTimeout(plafond(30000));
  return contexte;
}
