// Le retour du serveur après une panne : une réponse en file part dans les 5 s (× FIABLE_TEST_SLOWDOWN)
// qui suivent, même après une longue panne (la page sonde /api/health?ping=1 toutes les 2 à
// 4 s au lieu d'attendre la fin d'un délai exponentiel qui a grandi) ; un 503 avec
// Retry-After est réessayé après ce délai, sans allonger le délai exponentiel.
//
// La panne est réelle : nginx arrêté (scripts/dev nginx-stop : la page ne joint plus rien,
// comme un serveur tombé), ou la base arrêtée (503 avec Retry-After). Sa durée : 90 s, le cas
// du plan ; FIABLE_TEST_PANNE_S la raccourcit (par exemple 15) pour un essai rapide. Le test
// imprime le délai entre le retour du serveur et l'enregistrement.
// N'utilise que les méthodes de page que le lanceur commun fournit aussi pour Firefox et WebKit.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { dev, emailUnique, lancer, LENTEUR, ouvrir, plafond, reponsesPour } from './aide.mjs';

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

  dev('nginx-start');
  arrete = false;
  const retour = Date.now();
  const fin = retour + plafond(5000);
  while (reponsesPour(email).length === 0) {
    assert.ok(Date.now() < fin, `toujours pas enregistrée ${Date.now() - retour} ms après le retour du serveur (délai exponentiel à ${envoi.recul} échecs)`);
    await attendre(100);
  }
  const delai = Date.now() - retour;
  console.log(`panne de ${PANNE_S} s (nginx arrêté) : retour du serveur → réponse enregistrée en ${delai} ms (plafond ${plafond(5000)} ms, lenteur ${LENTEUR})`);
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
