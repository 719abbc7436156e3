// La file tient plusieurs réponses : serveur injoignable (nginx arrêté), une première
// personne envoie, le formulaire se libère, une deuxième puis une troisième (la même adresse
// que la deuxième) envoient aussi. Chaque élément dit à qui il est, son état en français
// simple et son prochain essai ; « Réessayer maintenant » et « Retirer » n'agissent que sur le
// leur ; le focus reste sur son bouton à chaque nouvel essai automatique ; au retour du
// serveur, les deux premières sont enregistrées et la troisième (409) est gardée avec le moyen
// de modifier la réponse enregistrée. Aussi : un envoi écrit par la version précédente de la
// page (format 1) part après la mise à jour.
// N'utilise que les méthodes de page que le lanceur commun fournit aussi pour Firefox et WebKit.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import {
  BUREAU, TELEPHONE, capture, creneauxDuFormulaire, dev, emailUnique, lancer, ouvrir, plafond, reponsesPour,
} from './aide.mjs';

const ouverts = [];
after(async () => {
  for (const c of ouverts) await c.close().catch(() => {});
});

async function envoyer(page, { nom, email, creneau }) {
  await page.fill('#nom', nom);
  await page.fill('#email', email);
  await page.locator('#liste-creneaux input[name="creneaux"]').nth(creneau).click();
  await page.click('#envoyer');
  // Le premier essai a échoué : la réponse est gardée, le formulaire libéré.
  await page.waitForFunction((n) => document.getElementById('statut').textContent.includes(`la réponse de ${n} est gardée`), nom, { timeout: plafond(20000) });
}

const nombre = (page, n) => page.waitForFunction((k) => document.getElementById('compteur-file').dataset.nombre === String(k), n, { timeout: plafond(20000) });
const fileDe = (page) => page.evaluate(() => import('/file.js').then((f) => f.lister()));
const attendre = (ms) => new Promise((ok) => { setTimeout(ok, ms); });
async function attendreFile(page, condition, ms) {
  const fin = Date.now() + plafond(ms);
  for (;;) {
    const l = await fileDe(page);
    if (condition(l)) return l;
    assert.ok(Date.now() < fin, `la file n'a pas atteint l'état attendu : ${JSON.stringify(l)}`);
    await attendre(200);
  }
}
const item = (page, n) => page.locator('#file-liste li.envoi').nth(n);

test('plusieurs réponses en file, serveur injoignable puis de retour', { timeout: plafond(150000) }, async (t) => {
  const contexte = await lancer();
  ouverts.push(contexte);
  const page = await ouvrir(contexte);
  let arrete = true;
  dev('nginx-stop');
  t.after(() => {
    if (arrete) dev('nginx-start');
  });
  const [e1, e2] = [emailUnique('premiere'), emailUnique('deuxieme')];
  await envoyer(page, { nom: 'Première Personne', email: e1, creneau: 0 });
  await nombre(page, 1);
  // Le formulaire est libre (vide, modifiable) pour la personne suivante.
  assert.equal(await page.inputValue('#nom'), '');
  assert.equal(await page.locator('#verrou').isVisible(), false);
  await envoyer(page, { nom: 'Deuxième Personne', email: e2, creneau: 1 });
  await nombre(page, 2);
  await envoyer(page, { nom: 'Deuxième Encore', email: e2.toUpperCase(), creneau: 2 });
  await nombre(page, 3);

  // Les trois textes lus ensemble, à un moment où aucun n'est en cours d'envoi : un essai
  // automatique (« Envoi en cours… ») peut partir entre deux lectures.
  const fin = Date.now() + plafond(20000);
  let textes;
  while (!(textes = await page.evaluate(() => {
    const li = [...document.querySelectorAll('#file-liste li.envoi')];
    if (li.length !== 3 || li.some((x) => x.dataset.etat === 'envoi')) return null;
    return li.map((x) => x.textContent.replace(/\s+/g, ' '));
  }))) {
    assert.ok(Date.now() < fin, 'trois envois en attente, aucun en cours d’envoi');
    await attendre(100);
  }
  assert.match(textes[0], /Réponse de Première Personne \(premiere-/);
  assert.match(textes[1], /Réponse de Deuxième Personne \(deuxieme-/);
  for (const x of textes) {
    assert.match(x, /Le serveur ne répond pas pour le moment\. Nouvel essai automatique vers \d\d:\d\d:\d\d\./);
    assert.doesNotMatch(x.replace(/Détails.*$/, ''), /erreur \d|base de données|Essai n°/, 'ni code ni mot technique hors des détails');
  }
  assert.doesNotMatch(textes[0], /même adresse/);
  assert.match(textes[1], /même adresse e-mail/);
  assert.match(textes[2], /même adresse e-mail/);
  // Un seul message dit l'attente : celui de la liste ; la bannière ne répète pas la raison.
  assert.doesNotMatch(await page.textContent('#statut'), /injoignable|erreur/);
  assert.equal((await page.textContent('#reseau')).trim(), 'Serveur injoignable');
  await capture(page, 'file-plusieurs-bureau', { taille: BUREAU });
  await capture(page, 'file-plusieurs-telephone', { taille: TELEPHONE });

  // Le focus sur « Réessayer maintenant » de la deuxième reste là quand un essai
  // automatique refait la liste.
  await page.focus('#file-liste li.envoi:nth-child(2) button[data-action="reessayer"]');
  const avant = (await fileDe(page)).reduce((n, e) => n + e.essais, 0);
  // Un essai automatique a eu lieu et la liste est refaite (plus aucun envoi en cours).
  await attendreFile(page, (l) => l.reduce((s, e) => s + e.essais, 0) > avant && l.every((e) => e.etat === 'attente'), 30000);
  await page.waitForFunction(() => !document.querySelector('#file-liste li[data-etat="envoi"]'), null, { timeout: plafond(5000) });
  const focus = await page.evaluate(() => [document.activeElement?.dataset.action, document.activeElement?.closest('li')?.querySelector('strong')?.textContent]);
  assert.deepEqual(focus, ['reessayer', 'Réponse de Deuxième Personne']);

  // « Retirer » de la première : confirmation avec son contenu ; « Non » la garde.
  await item(page, 0).locator('button[data-action="retirer"]').click();
  assert.match(await page.inputValue('#file-liste textarea.copie'), /^Nom : Première Personne\nE-mail : premiere-/);
  assert.equal(await item(page, 1).locator('textarea').count(), 0, 'la confirmation est celle de la première seulement');
  await item(page, 0).locator('button[data-action="supprimer-non"]').click();
  assert.equal((await fileDe(page)).length, 3);

  dev('nginx-start');
  arrete = false;
  await page.waitForFunction(() => document.querySelector('#file-liste li[data-etat="refuse"]') && document.getElementById('compteur-file').dataset.nombre === '0', null, { timeout: plafond(20000) });
  assert.equal(reponsesPour(e1).length, 1);
  // La première des deux arrivée au serveur est gardée (l'ordre dépend des délais de
  // chacune) ; l'autre est montrée refusée, à son nom.
  const lignes = reponsesPour(e2);
  assert.equal(lignes.length, 1);
  const autre = lignes[0].nom === 'Deuxième Personne' ? 'Deuxième Encore' : 'Deuxième Personne';
  const refusee = page.locator('#file-liste li[data-etat="refuse"]');
  const texteRefus = (await refusee.textContent()).replace(/\s+/g, ' ');
  assert.match(texteRefus, new RegExp(`Une réponse existe déjà pour cette adresse — la réponse de ${autre}`));
  assert.equal(await refusee.locator('button[data-action="lien"]').count(), 1, 'le chemin de la modification est proposé');
  await capture(page, 'file-doublon-refuse-telephone', { taille: TELEPHONE });
  assert.deepEqual(contexte.erreurs, []);
});

test('un envoi écrit par la version précédente de la page (format 1) part après la mise à jour', { timeout: plafond(60000) }, async () => {
  const contexte = await lancer();
  ouverts.push(contexte);
  const page = await ouvrir(contexte);
  const email = emailUnique('format1');
  const [creneau] = await creneauxDuFormulaire();
  const corps = { email, nom: 'Ancien Format', creneaux: [creneau], commentaire: '', campagne: 'disponibilites' };
  // Tel que l'écrivait file.js avant « recul » : format 1, un essai raté, prochain essai dans une heure.
  await page.evaluate((v) => new Promise((ok, ko) => {
    const r = indexedDB.open('fiable');
    r.onsuccess = () => {
      const tx = r.result.transaction('envois', 'readwrite');
      tx.objectStore('envois').put(v);
      tx.oncomplete = () => { r.result.close(); ok(); };
      tx.onerror = () => ko(tx.error);
    };
  }), {
    cle: randomUUID(), format: 1, type: 'creation', methode: 'POST', url: '/api/submit', corps, campagne: 'disponibilites',
    jeton: null, if_match: null, cree_le: Date.now() - 60000, essais: 1, prochain_essai: Date.now() + 3600000, etat: 'attente',
    derniere_erreur: 'La base de données est momentanément indisponible. Votre envoi sera réessayé. (erreur 503)', autosave_ms: 0,
  });
  await page.reload();
  await page.waitForFunction(() => !document.getElementById('merci').hidden, null, { timeout: plafond(20000) });
  assert.equal(reponsesPour(email).length, 1);
  assert.deepEqual(await fileDe(page), []);
});
