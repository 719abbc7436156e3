// Test 3 de docs/plan-de-deploiement.md : hors ligne, « Envoyer » met la réponse en file d'attente ; au retour du
// réseau elle part une seule fois. Aussi : la file survit au rechargement (et la page s'ouvre
// sans réseau, par le service worker), le serveur qui répond 500 puis se rétablit, la base
// arrêtée puis relancée, deux onglets ouverts, retirer un élément de la file.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import {
  TELEPHONE, attendreHorsLigne, attendreTexte, attendreVisible, capture, compteurFile,
  coquilleGardee, dev, espion, lancer, lireEnteteClient, metriqueClient, nouveauProfil, ouvrir, pret, relancer,
  remplir, reponsesPour, texte, plafond,
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

const soumissions = (vues) => vues.filter((v) => v.url === '/api/submit');

test('Test 3 : hors ligne, mise en file ; rechargement ; de retour en ligne, envoyé une seule fois', { timeout: plafond(90000) }, async () => {
  const contexte = await navigateur();
  const vues = espion(contexte);
  const page = await ouvrir(contexte);
  await coquilleGardee(page);

  await contexte.setOffline(true);
  await attendreHorsLigne(page);
  const saisie = await remplir(page, { nom: 'Hors Ligne', commentaire: 'Envoyé sans réseau.' });
  await page.click('#envoyer');
  await attendreTexte(page, '#statut', 'Mise en file d’attente');
  assert.equal(await compteurFile(page), 1);
  assert.match(await texte(page, '#compteur-file'), /File d’attente : 1/);
  await attendreVisible(page, '#file');
  assert.match(await texte(page, '#file-liste'), /Réponse de Hors Ligne/);
  // Le formulaire est libéré pour une autre réponse.
  assert.equal(await page.locator('#nom').isDisabled(), false);
  assert.equal(await page.inputValue('#nom'), '');
  await capture(page, 'file-en-attente-bureau');
  await capture(page, 'file-en-attente-telephone', { taille: TELEPHONE });
  assert.equal(reponsesPour(saisie.email).length, 0);

  // Rechargement sans réseau : la page s'ouvre (service worker) et l'élément est toujours là.
  await page.reload();
  await pret(page);
  assert.equal(await compteurFile(page), 1);
  assert.match(await texte(page, '#file-liste'), /Réponse de Hors Ligne/);
  assert.equal(await page.locator('#liste-creneaux input[name="creneaux"]').count() > 0, true, 'créneaux gardés');
  await capture(page, 'file-hors-ligne-recharge');

  // Retour du réseau : envoyé aussitôt, une seule fois.
  await contexte.setOffline(false);
  await attendreVisible(page, '#merci', 20000);
  assert.equal(await compteurFile(page), 0);
  const lignes = reponsesPour(saisie.email);
  assert.equal(lignes.length, 1, JSON.stringify(lignes));
  assert.deepEqual(lignes[0].creneaux, saisie.creneaux);
  // Toutes les tentatives portent la même clé ; celle qui a abouti vient de la file.
  const essais = soumissions(vues);
  assert.ok(essais.length >= 1);
  assert.equal(new Set(essais.map((e) => e.entetes['idempotency-key'])).size, 1);
  const faits = lireEnteteClient(essais.at(-1).entetes['fiable-client']);
  assert.equal(faits.from_queue, '1');
  assert.ok(Number(faits.queued_ms) > 0);
  assert.equal(faits.queue_length, '1');
  await capture(page, 'file-envoyee-confirmee');
});

test('fermer le navigateur avec un envoi en file, le relancer : l’envoi part au chargement', { timeout: plafond(90000) }, async () => {
  const contexte = await lancer({ profil: nouveauProfil() });
  const page = await ouvrir(contexte);
  await contexte.setOffline(true);
  const saisie = await remplir(page, { nom: 'Navigateur Relancé' });
  await page.click('#envoyer');
  await attendreTexte(page, '#statut', 'Mise en file d’attente');
  assert.equal(await compteurFile(page), 1);
  await contexte.close();
  assert.equal(reponsesPour(saisie.email).length, 0);

  const relance = await relancer(contexte);
  ouverts.push(relance);
  const vues = espion(relance);
  const page2 = await relance.newPage();
  await page2.goto(page.url());
  await attendreVisible(page2, '#merci', 20000);
  assert.equal(reponsesPour(saisie.email).length, 1);
  const arrives = soumissions(vues).filter((v) => !v.echec);
  assert.equal(arrives.length, 1);
  assert.equal(lireEnteteClient(arrives[0].entetes['fiable-client']).from_queue, '1');
});

test('le serveur répond 500 deux fois puis se rétablit : envoyé une fois, erreur visible entre-temps', { timeout: plafond(90000) }, async () => {
  const contexte = await navigateur();
  const vues = espion(contexte);
  const page = await ouvrir(contexte);
  let refus = 0;
  await page.route('**/api/submit', (route) => {
    if (refus < 2) {
      refus += 1;
      return route.fulfill({
        status: 500, contentType: 'application/problem+json',
        body: JSON.stringify({ code: 'internal_error', status: 500, detail: 'Panne simulée par le test.' }),
      });
    }
    return route.continue();
  });
  const saisie = await remplir(page);
  await page.click('#envoyer');
  await attendreTexte(page, '#statut', 'Mise en file d’attente');
  await attendreTexte(page, '#file-liste', 'Panne simulée par le test. (erreur 500)');
  assert.equal(await compteurFile(page), 1);
  await attendreVisible(page, '#merci', 30000);
  assert.equal(refus, 2);
  assert.equal(reponsesPour(saisie.email).length, 1);
  const essais = soumissions(vues);
  assert.equal(essais.length, 3, 'deux refus puis le bon');
  assert.equal(new Set(essais.map((e) => e.entetes['idempotency-key'])).size, 1, 'une seule clé');
  assert.deepEqual(essais.map((e) => lireEnteteClient(e.entetes['fiable-client']).attempt), ['1', '2', '3']);
  assert.deepEqual(essais.map((e) => lireEnteteClient(e.entetes['fiable-client']).from_queue), ['0', '1', '1']);
  const metrique = await metriqueClient(essais[0].entetes['idempotency-key']);
  if (metrique) {
    assert.equal(metrique.from_queue, true);
    assert.equal(metrique.attempt, 3);
    assert.ok(metrique.queued_ms > 0, JSON.stringify(metrique));
  }
});

test('la réponse est perdue après l’enregistrement : le renvoi avec la même clé ne crée rien de plus', { timeout: plafond(60000) }, async () => {
  const contexte = await navigateur();
  const page = await ouvrir(contexte);
  let coupe = false;
  await page.route('**/api/submit', async (route) => {
    if (coupe) return route.continue();
    coupe = true;
    await route.fetch(); // le serveur enregistre...
    return route.abort('connectionreset'); // ... mais la réponse n'arrive jamais.
  });
  const saisie = await remplir(page);
  await page.click('#envoyer');
  await attendreVisible(page, '#merci', 30000);
  assert.equal(reponsesPour(saisie.email).length, 1);
  assert.match(await page.inputValue('#lien-modification'), /#edit=/);
});

test('deux onglets ouverts : l’élément en file part une seule fois', { timeout: plafond(90000) }, async () => {
  const contexte = await navigateur();
  const vues = espion(contexte);
  const a = await ouvrir(contexte);
  const b = await contexte.newPage();
  await b.goto(a.url());
  await pret(b);
  await contexte.setOffline(true);
  const saisie = await remplir(a, { nom: 'Deux Onglets' });
  await a.click('#envoyer');
  await attendreTexte(a, '#statut', 'Mise en file d’attente');
  await b.waitForFunction(() => document.querySelector('#compteur-file').dataset.nombre === '1');
  // Les deux onglets voient « online » et essaient en même temps.
  await contexte.setOffline(false);
  await attendreVisible(a, '#merci', 20000);
  // L'état final des deux onglets : file vide, et la confirmation dans l'autre onglet aussi
  // (il la reçoit dans le message de l'onglet qui a envoyé). Plus rien ne peut partir ensuite.
  await b.waitForFunction(() => document.querySelector('#compteur-file').dataset.nombre === '0', null, { timeout: plafond(20000) });
  await attendreVisible(b, '#merci', 20000);
  assert.equal(reponsesPour(saisie.email).length, 1);
  // Hors ligne, les essais n'ont pas quitté le navigateur ; en ligne, un seul envoi.
  const arrives = soumissions(vues).filter((v) => !v.echec);
  assert.equal(arrives.length, 1, JSON.stringify(soumissions(vues).map((v) => [v.echec, v.entetes['fiable-client']])));
  assert.equal(lireEnteteClient(arrives[0].entetes['fiable-client']).from_queue, '1');
});

test('retirer un élément de la file : la saisie redevient modifiable, rien n’est envoyé', { timeout: plafond(60000) }, async () => {
  const contexte = await navigateur();
  const vues = espion(contexte);
  const page = await ouvrir(contexte);
  await contexte.setOffline(true);
  const saisie = await remplir(page, { nom: 'À Retirer' });
  await page.click('#envoyer');
  await attendreTexte(page, '#statut', 'Mise en file d’attente');
  // « Réessayer maintenant » hors ligne : toujours en file, l'erreur est dite.
  await page.click('#file-liste button[data-action="reessayer"]');
  await attendreTexte(page, '#file-liste', 'Essais : 2.');
  assert.equal(await compteurFile(page), 1);
  // « Retirer » demande confirmation, et montre le contenu à copier.
  await page.click('#file-liste button[data-action="retirer"]');
  assert.match(await page.inputValue('#file-liste textarea.copie'), /^Nom : À Retirer\n/);
  await page.click('#file-liste button[data-action="supprimer-non"]');
  assert.equal(await compteurFile(page), 1);
  await page.click('#file-liste button[data-action="retirer"]');
  await page.click('#file-liste button[data-action="retirer-oui"]');
  await page.waitForFunction(() => document.querySelector('#compteur-file').dataset.nombre === '0');
  assert.equal(await page.locator('#nom').isDisabled(), false);
  assert.equal(await page.inputValue('#nom'), 'À Retirer');
  assert.match(await texte(page, '#statut'), /retirée de la file/);
  await contexte.setOffline(false);
  // L'événement « online » annonce le retour du réseau et, dans le même envoi de l'événement,
  // lance un passage sur la file (traiter) ; un passage demandé ensuite s'enchaîne après lui :
  // quand il se termine, celui du retour en ligne est fini aussi, et rien n'est parti.
  await attendreTexte(page, '#statut', 'Connexion rétablie');
  await page.evaluate(async () => (await import('/file.js')).traiter({ force: true }));
  assert.equal(reponsesPour(saisie.email).length, 0);
  assert.equal(soumissions(vues).filter((v) => !v.echec).length, 0, 'rien n’a atteint le serveur');
});

test('base de données arrêtée puis relancée : 503, en file, puis envoyé une fois', { timeout: plafond(120000) }, async (t) => {
  const contexte = await navigateur();
  const vues = espion(contexte);
  const page = await ouvrir(contexte);
  const saisie = await remplir(page, { nom: 'Base Arrêtée' });
  let arretee = true;
  dev('db-stop', 'fast');
  t.after(() => {
    if (arretee) dev('db-start');
  });
  try {
    await page.click('#envoyer');
    await attendreTexte(page, '#statut', 'Mise en file d’attente');
    await attendreTexte(page, '#file-liste', 'erreur 503');
    assert.equal(await compteurFile(page), 1);
    await capture(page, 'file-base-arretee');
  } finally {
    dev('db-start');
    arretee = false;
  }
  await attendreVisible(page, '#merci', 60000);
  assert.equal(reponsesPour(saisie.email).length, 1);
  const statuts = soumissions(vues).length;
  assert.ok(statuts >= 2, `au moins deux essais (${statuts})`);
});
