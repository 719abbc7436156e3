// Test 2 de docs/plan-de-deploiement.md : saisir, fermer la page (ou le navigateur), rouvrir : le brouillon est là.
// Aussi : format versionné, quota plein signalé, brouillon effacé après un envoi confirmé.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import {
  attendreTexte, attendreVisible, capture, lancer, nouveauProfil, ouvrir, plafond, relancer, remplir, texte,
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

async function saisieAffichee(page) {
  return page.evaluate(() => ({
    nom: document.querySelector('#nom').value,
    email: document.querySelector('#email').value,
    creneaux: [...document.querySelectorAll('#liste-creneaux input:checked')].map((c) => c.value),
    commentaire: document.querySelector('#commentaire').value,
  }));
}

test('Test 2 : saisir, fermer la page, rouvrir : le brouillon est restauré', { timeout: plafond(60000) }, async () => {
  const contexte = await navigateur();
  const page = await ouvrir(contexte);
  const saisie = await remplir(page, { commentaire: 'Pas le vendredi.\nMerci !' });
  // Enregistré à chaque frappe, dans l'événement « input » lui-même (synchrone) : quand la
  // dernière frappe est faite, le brouillon est déjà là, sans rien attendre.
  assert.equal(await page.evaluate(() => JSON.parse(localStorage.getItem('fiable.brouillon.disponibilites'))?.champs?.commentaire),
    saisie.commentaire, 'brouillon écrit dès la frappe');
  await attendreTexte(page, '#etat-brouillon', 'Brouillon enregistré à');
  const brut = await page.evaluate(() => JSON.parse(localStorage.getItem('fiable.brouillon.disponibilites')));
  assert.equal(brut.format, 1, 'format versionné');
  assert.deepEqual(brut.champs, saisie);
  await page.close();

  const page2 = await ouvrir(contexte);
  assert.deepEqual(await saisieAffichee(page2), saisie);
  assert.match(await texte(page2, '#statut'), /brouillon .* a été restauré/);
  await capture(page2, 'brouillon-restaure-bureau');
});

test('Test 2 : fermer le navigateur juste après la frappe, le relancer : le brouillon est là', { timeout: plafond(60000) }, async () => {
  const contexte = await lancer({ profil: nouveauProfil() });
  const page = await ouvrir(contexte);
  const saisie = await remplir(page, { creneaux: [1, 2, 5] });
  await page.fill('#commentaire', 'Tapé juste avant la fermeture');
  saisie.commentaire = 'Tapé juste avant la fermeture';
  // Fermeture sans rien attendre : chaque changement est écrit aussitôt.
  await contexte.close();

  const relance = await relancer(contexte);
  ouverts.push(relance);
  const page2 = await ouvrir(relance);
  assert.deepEqual(await saisieAffichee(page2), saisie);
  assert.match(await texte(page2, '#statut'), /restauré/);
  assert.match(await texte(page2, '#etat-brouillon'), /Brouillon enregistré à \d\d:\d\d/);
});

test('quota plein : signalé à la personne, jamais perdu en silence', { timeout: plafond(60000) }, async () => {
  const contexte = await navigateur();
  await contexte.addInitScript(() => {
    const ecrire = Storage.prototype.setItem;
    Storage.prototype.setItem = function setItem(cle, valeur) {
      if (cle.startsWith('fiable.brouillon')) throw new DOMException('quota', 'QuotaExceededError');
      return ecrire.call(this, cle, valeur);
    };
  });
  const page = await ouvrir(contexte);
  await page.fill('#nom', 'Quota Plein');
  await attendreTexte(page, '#statut', 'espace de stockage de ce navigateur est plein');
  assert.equal(await page.getAttribute('#statut', 'data-type'), 'erreur');
  assert.equal(await texte(page, '#etat-brouillon'), 'Brouillon non enregistré');
  await capture(page, 'brouillon-quota-plein');
});

test('un envoi confirmé efface son brouillon', { timeout: plafond(60000) }, async () => {
  const contexte = await navigateur();
  const page = await ouvrir(contexte);
  await remplir(page);
  await attendreTexte(page, '#etat-brouillon', 'Brouillon enregistré');
  await page.click('#envoyer');
  await attendreVisible(page, '#merci');
  assert.equal(await page.evaluate(() => localStorage.getItem('fiable.brouillon.disponibilites')), null);
  const page2 = await ouvrir(contexte);
  assert.doesNotMatch(await texte(page2, '#statut'), /brouillon/i);
});
