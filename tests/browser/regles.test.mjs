// Les règles des champs viennent du serveur : les limites (maxlength) et les messages du
// navigateur sont ceux de « regles » dans GET /api/form (lib/validate.c), gardés pour le
// hors-ligne avec le catalogue ; la coquille du service worker contient chaque module chargé.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import {
  BASE, attendreHorsLigne, attendreTexte, coquilleGardee, lancer, ouvrir, plafond, pret, texte,
} from './aide.mjs';

const ouverts = [];
after(async () => {
  for (const c of ouverts) await c.close().catch(() => {});
});

async function navigateur(options) {
  const c = await lancer(options);
  ouverts.push(c);
  return c;
}

async function formulaireDuServeur() {
  const r = await fetch(`${BASE}/api/form`);
  assert.equal(r.status, 200);
  return r.json();
}

const longueurs = (page) => page.evaluate(() => Object.fromEntries(['nom', 'email', 'commentaire']
  .map((id) => [id, document.getElementById(id).maxLength])));

test('maxlength et messages : ceux de GET /api/form', { timeout: plafond(60000) }, async () => {
  const { regles } = await formulaireDuServeur();
  for (const champ of ['nom', 'email', 'commentaire']) {
    assert.ok(Number.isInteger(regles?.[champ]?.longueur_max), `regles.${champ}.longueur_max`);
  }
  assert.ok(Number.isInteger(regles.creneaux.nombre_max), 'regles.creneaux.nombre_max');
  const contexte = await navigateur();
  const page = await ouvrir(contexte);
  assert.deepEqual(await longueurs(page), {
    nom: regles.nom.longueur_max, email: regles.email.longueur_max, commentaire: regles.commentaire.longueur_max,
  });
  // Rien de rempli : sous chaque champ, le message du serveur pour un champ manquant.
  await page.click('#envoyer');
  for (const champ of ['nom', 'email', 'creneaux']) {
    assert.equal(await texte(page, `#erreur-${champ}`), regles[champ].messages.manquant, champ);
  }
  await page.fill('#nom', 'Camille Règles');
  await page.fill('#email', 'pas-une-adresse');
  await page.click('#envoyer');
  assert.equal(await texte(page, '#erreur-email'), regles.email.messages.invalide);
});

test('des règles changées sur le serveur changent la page, sans copie dans le navigateur', { timeout: plafond(60000) }, async () => {
  const vrai = await formulaireDuServeur();
  const regles = structuredClone(vrai.regles);
  regles.nom.longueur_max = 7;
  regles.commentaire.longueur_max = 11;
  regles.nom.messages.manquant = 'Message du serveur pour un nom manquant.';
  regles.creneaux.messages.manquant = 'Message du serveur pour aucun créneau.';
  const contexte = await navigateur();
  await contexte.route((u) => u.pathname === '/api/form', (route) => route.fulfill({
    status: 200, contentType: 'application/json', headers: { 'Cache-Control': 'no-store' },
    body: JSON.stringify({ ...vrai, regles }),
  }));
  const page = await ouvrir(contexte);
  assert.deepEqual(await longueurs(page), { nom: 7, email: vrai.regles.email.longueur_max, commentaire: 11 });
  await page.locator('#nom').pressSequentially('abcdefghij');
  assert.equal(await page.inputValue('#nom'), 'abcdefg', 'la saisie s’arrête à la limite servie');
  await page.fill('#nom', '');
  await page.click('#envoyer');
  assert.equal(await texte(page, '#erreur-nom'), 'Message du serveur pour un nom manquant.');
  assert.equal(await texte(page, '#erreur-creneaux'), 'Message du serveur pour aucun créneau.');
  assert.deepEqual(contexte.erreurs, []);
});

test('hors ligne : les règles du dernier catalogue, et chaque module dans la coquille', { timeout: plafond(90000) }, async () => {
  const { regles } = await formulaireDuServeur();
  const contexte = await navigateur();
  // La page, ses modules et ses feuilles de style : sans l'un d'eux, elle ne démarre pas.
  const charges = new Set();
  contexte.on('request', (r) => {
    const u = new URL(r.url());
    if (u.origin === BASE && ['document', 'script', 'stylesheet'].includes(r.resourceType())
      && !u.pathname.startsWith('/api/') && u.pathname !== '/sw.js') {
      charges.add(u.pathname === '/index.html' ? '/' : u.pathname);
    }
  });
  const page = await ouvrir(contexte);
  await coquilleGardee(page);
  const gardes = await page.evaluate(async () => {
    const noms = [];
    for (const cle of await caches.keys()) {
      for (const r of await (await caches.open(cle)).keys()) noms.push(new URL(r.url).pathname);
    }
    return noms;
  });
  assert.ok([...charges].some((c) => c.startsWith('/formulaire/')), `modules chargés : ${[...charges].join(' ')}`);
  const manquants = [...charges].filter((c) => !gardes.includes(c));
  assert.deepEqual(manquants, [], `chargés mais absents de la coquille (sw.js) ; coquille : ${gardes.join(' ')}`);

  await contexte.setOffline(true);
  await attendreHorsLigne(page);
  await page.reload();
  await pret(page);
  assert.equal(await page.locator('#liste-creneaux input[name="creneaux"]').count() > 0, true, 'créneaux gardés');
  assert.deepEqual(await longueurs(page), {
    nom: regles.nom.longueur_max, email: regles.email.longueur_max, commentaire: regles.commentaire.longueur_max,
  });
  await page.click('#envoyer');
  assert.equal(await texte(page, '#erreur-nom'), regles.nom.messages.manquant);
  await contexte.setOffline(false);
  assert.deepEqual(contexte.erreurs, []);
});
