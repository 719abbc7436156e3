// Test 4 de docs/plan-de-deploiement.md : envoyer, revenir, changer les créneaux, enregistrer ; l'historique montre
// les deux versions ; restaurer la version 1. Aussi : conflit 412 (version du serveur à côté
// de celle de la personne), lien de modification reçu par e-mail (#edit=...), retrait et
// annulation du retrait.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import {
  TELEPHONE, api, attendreTexte, attendreVisible, auditPour, capture, creerReponse, espion,
  lancer, ouvrir, pret, remplir, reponsesPour, texte, plafond,
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

const cases = (page) => page.locator('#liste-creneaux input[name="creneaux"]');

async function cochees(page) {
  return page.evaluate(() => [...document.querySelectorAll('#liste-creneaux input:checked')].map((c) => c.value));
}

test('Test 4 : envoyer, revenir, changer les créneaux, historique, restaurer la version 1', { timeout: plafond(90000) }, async () => {
  const contexte = await navigateur();
  const vues = espion(contexte);
  const page = await ouvrir(contexte);
  const saisie = await remplir(page, { nom: 'Revenante', creneaux: [0, 1] });
  await page.click('#envoyer');
  await attendreVisible(page, '#merci');
  await page.close();

  // On revient (même navigateur) : la réponse est là, modifiable.
  const retour = await ouvrir(contexte);
  await attendreVisible(retour, '#compte');
  assert.match(await texte(retour, '#compte-texte'), /version 1/);
  assert.equal(await retour.inputValue('#nom'), 'Revenante');
  assert.deepEqual(await cochees(retour), saisie.creneaux);
  assert.equal(await texte(retour, '#envoyer'), 'Enregistrer les modifications');
  await capture(retour, 'modification-retour-bureau');

  await cases(retour).nth(0).uncheck();
  await cases(retour).nth(4).check();
  await cases(retour).nth(5).check();
  const nouveaux = await cochees(retour);
  await retour.click('#envoyer');
  await attendreTexte(retour, '#statut', 'modifications sont enregistrées (version 2)');
  assert.match(await texte(retour, '#compte-texte'), /version 2/);
  const put = vues.find((v) => v.methode === 'PUT');
  assert.equal(put.entetes['if-match'], '"v1"');
  assert.match(put.entetes.authorization, /^Bearer [A-Za-z0-9_-]+$/);
  assert.match(put.entetes['idempotency-key'], /^[0-9a-f-]{36}$/);

  let [ligne] = reponsesPour(saisie.email);
  assert.equal(ligne.version, 2);
  assert.deepEqual(ligne.creneaux, nouveaux);

  // L'historique montre les deux versions.
  await retour.click('#bouton-historique');
  await attendreVisible(retour, '#historique');
  assert.equal(await retour.getAttribute('#bouton-historique', 'aria-expanded'), 'true');
  const versions = retour.locator('#historique-liste > li');
  await retour.waitForFunction(() => document.querySelectorAll('#historique-liste > li').length === 2);
  assert.match(await versions.nth(0).textContent(), /Version 2 \(actuelle\).*créneaux/);
  assert.match(await versions.nth(1).textContent(), /Version 1.*réponse envoyée/);
  await capture(retour, 'modification-historique-bureau');
  await capture(retour, 'modification-historique-telephone', { taille: TELEPHONE });

  // Restaurer la version 1 : une version 3 au contenu de la 1.
  await retour.click('#historique-liste button[data-restaurer="1"]');
  await attendreTexte(retour, '#statut', 'La version 1 est restaurée : elle devient la version 3');
  assert.deepEqual(await cochees(retour), saisie.creneaux);
  [ligne] = reponsesPour(saisie.email);
  assert.equal(ligne.version, 3);
  assert.deepEqual(ligne.creneaux, saisie.creneaux);
  assert.deepEqual(auditPour(ligne.id), ['submission.create', 'submission.update', 'submission.restore']);
  await retour.waitForFunction(() => document.querySelectorAll('#historique-liste > li').length === 3);
  assert.deepEqual(contexte.erreurs, []);
});

test('conflit 412 : la version du serveur à côté de la sienne, au choix', { timeout: plafond(90000) }, async () => {
  const { corps, reponse } = await creerReponse({ nom: 'Conflit', commentaire: 'Version 1' });
  const contexte = await navigateur();
  const page = await ouvrir(contexte, `/#edit=${reponse.edit_token}`);
  await attendreVisible(page, '#compte');
  assert.equal(await page.inputValue('#commentaire'), 'Version 1');

  // Entre-temps, sur un autre appareil : version 2.
  const ailleurs = await api('PUT', '/api/modify', {
    jeton: reponse.edit_token, ifMatch: '"v1"', cle: randomUUID(),
    corps: { ...corps, commentaire: 'Changé sur le téléphone' },
  });
  assert.equal(ailleurs.status, 200);

  await page.fill('#commentaire', 'Changé sur l’ordinateur');
  await page.click('#envoyer');
  await attendreVisible(page, '#conflit');
  assert.match(await texte(page, '#conflit-mienne'), /Changé sur l’ordinateur/);
  assert.match(await texte(page, '#conflit-serveur'), /Changé sur le téléphone/);
  assert.match(await texte(page, '#titre-conflit-serveur'), /version 2/);
  assert.ok(await page.locator('#conflit-mienne dd.different').count() >= 1, 'les différences sont marquées');
  assert.equal(await page.getAttribute('#compteur-file', 'data-nombre'), '0', 'un 412 ne reste pas en file');
  await capture(page, 'modification-conflit-bureau');
  await capture(page, 'modification-conflit-telephone', { taille: TELEPHONE });

  await page.click('#garder-mienne');
  await attendreTexte(page, '#statut', 'version 3');
  assert.equal(await page.locator('#conflit').isHidden(), true);
  const [ligne] = reponsesPour(corps.email);
  assert.equal(ligne.version, 3);
  assert.equal(ligne.commentaire, 'Changé sur l’ordinateur');

  // L'autre choix : reprendre la version enregistrée.
  await api('PUT', '/api/modify', { jeton: reponse.edit_token, ifMatch: '"v3"', cle: randomUUID(), corps: { ...corps, commentaire: 'Version 4 du téléphone' } });
  await page.fill('#commentaire', 'Encore l’ordinateur');
  await page.click('#envoyer');
  await attendreVisible(page, '#conflit');
  await page.click('#prendre-serveur');
  assert.equal(await page.inputValue('#commentaire'), 'Version 4 du téléphone');
  assert.match(await texte(page, '#compte-texte'), /version 4/);
  assert.equal(reponsesPour(corps.email)[0].version, 4);
});

test('lien reçu par e-mail : le jeton est lu dans #edit=, gardé, puis retiré de la barre d’adresse', { timeout: plafond(60000) }, async () => {
  const { corps, reponse } = await creerReponse({ nom: 'Par Courriel' });
  const contexte = await navigateur();
  const page = await ouvrir(contexte, `/#edit=${reponse.edit_token}`);
  await attendreVisible(page, '#compte');
  assert.equal(new URL(page.url()).hash, '', 'le jeton n’est plus dans l’adresse');
  assert.equal(await page.inputValue('#email'), corps.email);
  const garde = await page.evaluate(() => JSON.parse(localStorage.getItem('fiable.compte.disponibilites')));
  assert.equal(garde.jeton, reponse.edit_token);
  // Rouvert sans le lien : la réponse est toujours là.
  await page.goto(page.url());
  await pret(page);
  await attendreVisible(page, '#compte');
  assert.equal(await page.inputValue('#nom'), 'Par Courriel');

  // Un jeton révoqué (nouveau lien demandé) : on le dit et on propose un nouveau lien.
  const autre = await navigateur();
  const p2 = await ouvrir(autre, '/#edit=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
  await attendreVisible(p2, '#deja');
  assert.match(await texte(p2, '#titre-deja'), /n’est plus valable/);
  assert.equal(await p2.evaluate(() => localStorage.getItem('fiable.compte.disponibilites')), null);
  await attendreVisible(p2, '#formulaire');
});

test('retirer sa réponse, puis annuler le retrait', { timeout: plafond(60000) }, async () => {
  const contexte = await navigateur();
  const page = await ouvrir(contexte);
  const saisie = await remplir(page, { nom: 'Retrait' });
  await page.click('#envoyer');
  await attendreVisible(page, '#merci');
  await page.click('#voir-reponse');
  await attendreVisible(page, '#compte');

  await page.click('#bouton-retirer');
  await attendreVisible(page, '#confirmer-retrait');
  await page.click('#retrait-oui');
  await attendreVisible(page, '#retiree');
  assert.equal(await page.locator('#formulaire').isHidden(), true);
  let [ligne] = reponsesPour(saisie.email);
  assert.equal(ligne.retiree, true);
  await capture(page, 'modification-retiree');

  await page.click('#annuler-retrait');
  await attendreVisible(page, '#compte');
  [ligne] = reponsesPour(saisie.email);
  assert.equal(ligne.retiree, false);
  assert.equal(ligne.version, 3);
  assert.deepEqual(auditPour(ligne.id), ['submission.create', 'submission.withdraw', 'submission.undelete']);
});

test('modification hors ligne : mise en file, envoyée au retour du réseau', { timeout: plafond(90000) }, async () => {
  const { corps, reponse } = await creerReponse({ nom: 'Modif Hors Ligne' });
  const contexte = await navigateur();
  const page = await ouvrir(contexte, `/#edit=${reponse.edit_token}`);
  await attendreVisible(page, '#compte');
  await contexte.setOffline(true);
  await page.fill('#commentaire', 'Modifié hors ligne');
  await page.click('#envoyer');
  await attendreTexte(page, '#statut', 'Mise en file d’attente');
  assert.match(await texte(page, '#file-liste'), /Modification de votre réponse/);
  await contexte.setOffline(false);
  await attendreTexte(page, '#statut', 'version 2', 20000);
  const [ligne] = reponsesPour(corps.email);
  assert.equal(ligne.commentaire, 'Modifié hors ligne');
  assert.equal(ligne.version, 2);
});
