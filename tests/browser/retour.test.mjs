// Le retour du serveur après une panne : une réponse en file part dans les 5 s qui suivent
// (mesurées par le serveur : created_at de la réponse, moins le retour de /api/health), même après une longue panne (la page sonde /api/health?ping=1 toutes les 2 à
// 4 s au lieu d'attendre la fin d'un délai exponentiel qui a grandi) ; un 503 avec
// Retry-After est réessayé après ce délai, sans allonger le délai exponentiel.
//
// La panne est réelle : nginx arrêté (scripts/dev nginx-stop : la page ne joint plus rien,
// comme un serveur tombé), ou la base arrêtée (503 avec Retry-After). Sa durée : 90 s, le cas
// du plan ; FIABLE_TEST_PANNE_S la raccourcit (par exemple 15) pour un essai rapide. Le test
// imprime, pour son moteur, le délai entre le retour du serveur et l'enregistrement.
// N'utilise que les méthodes de page que le lanceur commun fournit aussi pour Firefox et WebKit.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, test } from 'node:test';
import {
  BASE, dev, emailUnique, lancer, LENTEUR, MOTEUR, ouvrir, plafond, reponsesPour, sql,
} from './aide.mjs';

const PANNE_S = Number(process.env.FIABLE_TEST_PANNE_S || 90);

const ouverts = [];
after(async () => {
  for (const c of ouverts) await c.close().catch(() => {});
});

async function remplirEtEnvoyer(page, { nom, email }) {
  await page.fill('#nom', nom);
  await page.fill('#email', email);
  await page.locator('#liste-creneaux input[name="creneaux"]').nth(1).click();
  await page.click('#envoyer');
}

// Relance nginx (scripts/dev nginx-start, en fond) et rend l'instant du retour du serveur : la
// première réponse de /api/health?ping=1 à Node, sondé toutes les 50 ms pendant la relance.
async function relancerNginx() {
  const relance = new Promise((ok, ko) => {
    const p = spawn(process.env.FIABLE_TEST_DEV, ['nginx-start'], { stdio: ['ignore', 'ignore', 'inherit'] });
    p.on('error', ko);
    p.on('exit', (code) => (code === 0 ? ok() : ko(new Error(`scripts/dev nginx-start : code ${code}`))));
  });
  let echec = null;
  relance.catch((e) => { echec = e; });
  const fin = Date.now() + plafond(60000);
  for (;;) {
    try {
      if ((await fetch(`${BASE}/api/health?ping=1`, { cache: 'no-store', signal: AbortSignal.timeout(1000) })).ok) break;
    } catch { /* pas encore là */ }
    if (echec) throw echec;
    assert.ok(Date.now() < fin, 'nginx relancé ne répond pas');
    await attendre(50);
  }
  const retour = Date.now();
  await relance;
  return retour;
}

const fileDe = (page) => page.evaluate(() => import('/file.js').then((f) => f.lister()));
const attendre = (ms) => new Promise((ok) => { setTimeout(ok, ms); });

// Attend que la file (lue dans IndexedDB par la page) vérifie condition ; la rend.
async function attendreFile(page, condition, ms) {
  const fin = Date.now() + plafond(ms);
  for (;;) {
    const l = await fileDe(page);
    if (condition(l)) return l;
    assert.ok(Date.now() < fin, `la file n'a pas atteint l'état attendu : ${JSON.stringify(l)}`);
    await attendre(200);
  }
}

test(`serveur injoignable pendant ${PANNE_S} s : la réponse part dans les 5 s qui suivent son retour`, { timeout: plafond(60000) + PANNE_S * 1000 }, async (t) => {
  const contexte = await lancer();
  ouverts.push(contexte);
  const page = await ouvrir(contexte);
  const email = emailUnique('retour');
  let arrete = true;
  dev('nginx-stop');
  t.after(() => {
    if (arrete) dev('nginx-start');
  });
  const debut = Date.now();
  await remplirEtEnvoyer(page, { nom: 'Retour Serveur', email });
  await page.waitForFunction(() => document.getElementById('compteur-file').dataset.nombre === '1', null, { timeout: plafond(20000) });
  // La pastille dit que c'est le serveur, pas le réseau de l'appareil, qui manque.
  await page.waitForFunction(() => document.getElementById('reseau').dataset.etat === 'injoignable', null, { timeout: plafond(10000) });
  assert.equal((await page.textContent('#reseau')).trim(), 'Serveur injoignable');
  // La panne dure ce qu'elle doit durer : c'est le scénario, pas l'attente d'un événement.
  await attendre(Math.max(0, PANNE_S * 1000 - (Date.now() - debut)));
  const [envoi] = await fileDe(page);
  assert.ok(envoi.essais >= 5, `des essais pendant la panne (${envoi.essais})`);
  assert.equal(reponsesPour(email).length, 0);

  const retour = await relancerNginx();
  arrete = false;
  // L'attente a un plafond agrandi par FIABLE_TEST_SLOWDOWN ; la mesure, elle, est celle du
  // serveur (created_at) et doit tenir dans les 5 s de l'issue, quelle que soit la lenteur.
  const fin = retour + plafond(10000);
  while (reponsesPour(email).length === 0) {
    assert.ok(Date.now() < fin, `toujours pas enregistrée ${Date.now() - retour} ms après le retour du serveur (délai exponentiel à ${envoi.recul} échecs)`);
    await attendre(100);
  }
  const delai = Number(sql(`SELECT round(extract(epoch FROM created_at) * 1000) FROM soumissions_disponibilites
    WHERE lower(email) = lower(:'email')`, { email })) - retour;
  console.log(`${MOTEUR} : panne de ${PANNE_S} s (nginx arrêté) : retour du serveur → réponse enregistrée en ${delai} ms (lenteur ${LENTEUR})`);
  assert.ok(delai < 5000, `${MOTEUR} : la réponse est partie ${delai} ms après le retour du serveur (5 000 ms au plus)`);
  await page.waitForFunction(() => !document.getElementById('merci').hidden, null, { timeout: plafond(10000) });
  assert.equal((await page.textContent('#reseau')).trim(), 'En ligne');
  assert.equal(reponsesPour(email).length, 1);
});

test('base arrêtée : chaque 503 avec Retry-After est réessayé après ce délai, sans allonger le délai exponentiel', { timeout: plafond(90000) }, async (t) => {
  const contexte = await lancer();
  ouverts.push(contexte);
  const page = await ouvrir(contexte);
  const email = emailUnique('retry-after');
  let arretee = true;
  dev('db-stop', 'fast');
  t.after(() => {
    if (arretee) dev('db-start');
  });
  try {
    await remplirEtEnvoyer(page, { nom: 'Retry After', email });
    // Le serveur répond 503 avec Retry-After: 2 (api_errors) : quatre essais ratés en une
    // dizaine de secondes, quand le délai exponentiel (1, 2, 4, 8 s) en demanderait plus de 15.
    const [envoi] = await attendreFile(page, (l) => l[0]?.essais >= 4 && l[0].etat === 'attente', 30000);
    assert.equal(envoi.recul, 0, `le délai exponentiel n'a pas grandi : ${JSON.stringify(envoi)}`);
    assert.equal(envoi.dernier_status, 503, JSON.stringify(envoi));
    assert.ok(envoi.prochain_essai - Date.now() <= 2400, `prochain essai dans ${envoi.prochain_essai - Date.now()} ms`);
    assert.equal((await page.textContent('#reseau')).trim(), 'Serveur injoignable');
  } finally {
    dev('db-start');
    arretee = false;
  }
  await page.waitForFunction(() => !document.getElementById('merci').hidden, null, { timeout: plafond(20000) });
  assert.equal(reponsesPour(email).length, 1);
});
