// Banc d'essai du formulaire dans Chromium (headless, Debian) contre la pile de `scripts/dev
// bench` : poids de la page (HTML + JS + CSS non compressés), temps jusqu'à l'état interactif
// sur localhost, durée d'un enregistrement du brouillon (p95) pour un formulaire de 100
// créneaux. Imprime ses mesures et les objectifs de l'issue ; n'échoue jamais sur un temps.
//
// Les 100 créneaux sont ajoutés en superutilisateur avec des identifiants « bench-form-NNN »
// (propres à ce banc), puis retirés, même en cas d'erreur.
import {
  BASE, DRAPEAUX, attendreTexte, chromium, lancer, ouvrir, sql,
} from '../browser/aide.mjs';

const ESSAIS_PREMIER = 10;
const ESSAIS_SUIVANTS = 15;
const MESURES_BROUILLON = 150;
const PREFIXE = 'bench-form-';

const quantile = (valeurs, q) => {
  const t = [...valeurs].sort((a, b) => a - b);
  return t[Math.min(t.length - 1, Math.ceil(q * t.length) - 1)];
};
const ms = (v) => `${v.toFixed(v < 10 ? 2 : 0)} ms`;
const octets = (n) => `${n.toLocaleString('fr-BE')} octets (${(n / 1024).toFixed(1)} Kio)`;

function ajouterCreneaux(n) {
  sql(`INSERT INTO creneaux (id, starts_at, ends_at, label)
       SELECT :'prefixe' || lpad(g::text, 3, '0'),
              date_trunc('day', now()) + interval '400 days' + (g / 4) * interval '1 day' + (g % 4) * interval '2 hours',
              date_trunc('day', now()) + interval '400 days' + (g / 4) * interval '1 day' + (g % 4) * interval '2 hours' + interval '90 minutes',
              'Banc ' || g
       FROM generate_series(1, :'n'::integer) AS g ON CONFLICT (id) DO NOTHING`, { prefixe: PREFIXE, n: String(n) });
}

function retirerCreneaux() {
  sql(`DELETE FROM creneaux WHERE left(id, length(:'prefixe')) = :'prefixe'`, { prefixe: PREFIXE });
}

const pret = (page) => page.evaluate(() => performance.getEntriesByName('fiable-interactif')[0].startTime);

// Premier chargement : un contexte neuf (ni cache HTTP, ni service worker, ni stockage) dans un
// navigateur déjà lancé. Chargements suivants : la même page rechargée (service worker actif).
// Plancher : dans un contexte neuf, une page minimale de la même origine avec un module
// trivial (servie par le navigateur lui-même) : ce que coûte la machine avant tout code du
// formulaire.
async function poidsEtTti() {
  const navigateur = await chromium.launch({ executablePath: process.env.FIABLE_TEST_CHROMIUM || '/usr/bin/chromium', args: DRAPEAUX, headless: true });
  const tailles = new Map();
  const premiers = [];
  const planchers = [];
  const suivants = [];
  try {
    for (let i = 0; i <= ESSAIS_PREMIER; i++) {
      const contexte = await navigateur.newContext({ locale: 'fr-BE' });
      if (i === 1) {
        contexte.on('response', async (r) => {
          if (!['document', 'script', 'stylesheet'].includes(r.request().resourceType()) || !r.url().startsWith(BASE)) return;
          try {
            tailles.set(new URL(r.url()).pathname, (await r.body()).length);
          } catch { /* réponse sans corps */ }
        });
      }
      const page = await contexte.newPage();
      await page.goto(`${BASE}/`);
      await page.waitForSelector('html[data-pret="1"]');
      if (i > 0) premiers.push(await pret(page)); // le tout premier chauffe le navigateur
      await contexte.close();

      const vide = await navigateur.newContext();
      const p = await vide.newPage();
      await p.route('**/banc-plancher/**', (r) => (r.request().url().endsWith('.js')
        ? r.fulfill({ contentType: 'text/javascript', body: 'performance.mark("fiable-interactif"); document.documentElement.dataset.pret = "1";' })
        : r.fulfill({ contentType: 'text/html', body: '<!doctype html><title>x</title><script type="module" src="m.js"></script>' })));
      await p.goto(`${BASE}/banc-plancher/page.html`);
      await p.waitForSelector('html[data-pret="1"]');
      if (i > 0) planchers.push(await pret(p));
      await vide.close();
    }
    const contexte = await navigateur.newContext({ locale: 'fr-BE' });
    const page = await contexte.newPage();
    await page.goto(`${BASE}/`);
    await page.waitForSelector('html[data-pret="1"]');
    await page.evaluate(() => navigator.serviceWorker.ready);
    for (let i = 0; i < ESSAIS_SUIVANTS; i++) {
      await page.reload();
      await page.waitForSelector('html[data-pret="1"]');
      suivants.push(await pret(page));
    }
    await contexte.close();
    return { tailles, premiers, planchers, suivants };
  } finally {
    await navigateur.close();
  }
}

async function brouillon() {
  ajouterCreneaux(100);
  const contexte = await lancer();
  try {
    const page = await ouvrir(contexte);
    const cases = page.locator('#liste-creneaux input[name="creneaux"]');
    const n = await cases.count();
    await page.fill('#nom', 'Banc d’essai');
    await page.fill('#email', 'banc@example.org');
    for (let i = 0; i < n; i += 2) await cases.nth(i).check();
    await attendreTexte(page, '#etat-brouillon', 'Brouillon enregistré');
    await page.evaluate(() => performance.clearMeasures('fiable-brouillon'));
    for (let i = 0; i < MESURES_BROUILLON; i++) {
      await cases.nth((i * 7) % n).click();
      await page.waitForFunction((k) => performance.getEntriesByName('fiable-brouillon').length > k, i);
    }
    const durees = await page.evaluate(() => performance.getEntriesByName('fiable-brouillon').map((e) => e.duration));
    const taille = await page.evaluate(() => localStorage.getItem('fiable.brouillon').length);
    return { n, durees, taille };
  } finally {
    await contexte.close();
    retirerCreneaux();
  }
}

const { tailles, premiers, planchers, suivants } = await poidsEtTti();
const resume = (v) => `médiane ${ms(quantile(v, 0.5))}, p95 ${ms(quantile(v, 0.95))}, max ${ms(Math.max(...v))}`;
let total = 0;
console.log('Formulaire : banc d’essai dans Chromium headless (localhost)');
console.log('');
console.log('Poids de la page (non compressé, tel que reçu ; polices du système) :');
for (const [chemin, t] of [...tailles].sort()) {
  if (chemin === '/sw.js') continue;
  total += t;
  console.log(`  ${chemin.padEnd(24)} ${octets(t)}`);
}
console.log(`  ${'total'.padEnd(24)} ${octets(total)}   objectif < 60 Ko : ${total < 60000 ? 'atteint' : 'MANQUÉ'}`);
if (tailles.has('/sw.js')) console.log(`  (service worker /sw.js, hors page : ${octets(tailles.get('/sw.js'))})`);
console.log('');
console.log('Temps jusqu’à l’état interactif (créneaux affichés, « Envoyer » actif), depuis le début de la navigation :');
const m = quantile(premiers, 0.5);
console.log(`  première visite (contexte neuf, ${premiers.length} essais) : ${resume(premiers)}   objectif < 300 ms : ${m < 300 ? 'atteint' : 'MANQUÉ'} (médiane)`);
console.log(`  visites suivantes (même page rechargée, ${suivants.length} essais) : ${resume(suivants)}`);
console.log(`  plancher de la machine (page minimale, module trivial, contexte neuf) : ${resume(planchers)}`);
console.log('');
const b = await brouillon();
const p95 = quantile(b.durees, 0.95);
console.log(`Enregistrement du brouillon (${b.n} créneaux affichés, ${b.durees.length} mesures, ${b.taille} caractères) :`);
console.log(`  p50 ${ms(quantile(b.durees, 0.5))}, p95 ${ms(p95)}, max ${ms(Math.max(...b.durees))}   objectif p95 < 2 ms : ${p95 < 2 ? 'atteint' : 'MANQUÉ'}`);
