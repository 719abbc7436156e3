// Test 1 de docs/plan-de-deploiement.md : remplir, envoyer, confirmation, une ligne et une ligne d'audit en base.
// Aussi : erreurs de validation à côté des champs, adresse déjà utilisée (lien par e-mail),
// fonctionnalités désactivées, accessibilité de base, captures d'écran bureau et téléphone.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import {
  BUREAU, TELEPHONE, attendreTexte, attendreVisible, auditPour, capture, creerReponse, drapeau,
  emailUnique, espion, lancer, lireEnteteClient, metriqueClient, ouvrir, remplir, reponsesPour, sql, texte, plafond,
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

test('Test 1 : remplir, envoyer, confirmation, ligne et audit en base', { timeout: plafond(60000) }, async () => {
  const contexte = await navigateur();
  const envois = espion(contexte);
  const page = await ouvrir(contexte);

  assert.equal(await page.title(), 'Disponibilités');
  assert.match(await texte(page, '#fuseau'), /Europe\/Brussels/, 'le fuseau de l’institution est indiqué');
  assert.ok(await page.locator('#liste-creneaux fieldset.jour legend').count() > 1, 'créneaux groupés par jour');
  await capture(page, 'formulaire-vide-bureau');
  await capture(page, 'formulaire-vide-telephone', { taille: TELEPHONE });

  const saisie = await remplir(page, { nom: 'Élodie Navigateur', commentaire: 'Plutôt le matin.' });
  await attendreTexte(page, '#etat-brouillon', 'Brouillon enregistré à');
  await capture(page, 'formulaire-rempli-bureau');
  await capture(page, 'formulaire-rempli-telephone', { taille: TELEPHONE });

  await page.click('#envoyer');
  await attendreVisible(page, '#merci');
  assert.match(await texte(page, '#statut'), /réponse est enregistrée/);
  const lien = await page.inputValue('#lien-modification');
  assert.match(lien, /\/#edit=[A-Za-z0-9_-]{22,}$/, 'lien de modification affiché');
  assert.equal(await page.locator('#formulaire').isHidden(), true);
  assert.equal(await page.getAttribute('#compteur-file', 'data-nombre'), '0');
  await capture(page, 'formulaire-confirme-bureau');
  await capture(page, 'formulaire-confirme-telephone', { taille: TELEPHONE });

  // Une seule requête, avec sa clé d'idempotence et les faits du client.
  assert.equal(envois.length, 1, JSON.stringify(envois));
  const [envoi] = envois;
  assert.equal(envoi.methode, 'POST');
  assert.equal(envoi.url, '/api/submit');
  assert.match(envoi.entetes['idempotency-key'], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const faits = lireEnteteClient(envoi.entetes['fiable-client']);
  assert.deepEqual(Object.keys(faits), ['from_queue', 'queued_ms', 'queue_length', 'attempt', 'autosave_ms']);
  assert.equal(faits.from_queue, '0');
  assert.equal(faits.attempt, '1');
  assert.equal(faits.queue_length, '1');
  assert.match(faits.queued_ms, /^\d+$/);
  assert.match(faits.autosave_ms, /^\d+\.\d+$/);
  // Ce que le serveur en a gardé pour les métriques (si sa base a ces colonnes).
  const metrique = await metriqueClient(envoi.entetes['idempotency-key']);
  if (metrique) {
    assert.equal(metrique.from_queue, false);
    assert.equal(metrique.attempt, 1);
    assert.equal(metrique.queue_length, 1);
    assert.ok(Math.abs(metrique.autosave_ms - Number(faits.autosave_ms)) < 0.01, JSON.stringify(metrique));
  }

  // La ligne, et sa ligne d'audit.
  const lignes = reponsesPour(saisie.email);
  assert.equal(lignes.length, 1, JSON.stringify(lignes));
  const [ligne] = lignes;
  assert.equal(ligne.nom, 'Élodie Navigateur');
  assert.deepEqual(ligne.creneaux, saisie.creneaux);
  assert.equal(ligne.commentaire, 'Plutôt le matin.');
  assert.equal(ligne.version, 1);
  assert.deepEqual(auditPour(ligne.id), ['submission.create']);
  // Le jeton affiché est celui de la ligne.
  const jeton = lien.split('#edit=')[1];
  assert.equal(sql(`SELECT edit_token_hash = sha256(convert_to(:'t', 'UTF8')) FROM soumissions_disponibilites WHERE id = :'id'`,
    { t: jeton, id: String(ligne.id) }), 't');
  // Le brouillon est effacé, le lien est gardé dans le navigateur.
  const stockage = await page.evaluate(() => ({ b: localStorage.getItem('fiable.brouillon.disponibilites'), c: JSON.parse(localStorage.getItem('fiable.compte.disponibilites')) }));
  assert.equal(stockage.b, null);
  assert.equal(stockage.c.jeton, jeton);
  assert.deepEqual(contexte.erreurs, []);
});

test('erreurs de validation à côté de leurs champs (navigateur puis serveur)', { timeout: plafond(60000) }, async () => {
  const contexte = await navigateur();
  const envois = espion(contexte);
  const page = await ouvrir(contexte);

  // Rien de rempli : les messages sont sous les champs, rien n'est envoyé.
  await page.click('#envoyer');
  for (const champ of ['nom', 'email', 'creneaux']) {
    assert.notEqual(await texte(page, `#erreur-${champ}`), '', `message sous ${champ}`);
    assert.equal(await page.getAttribute(`#${champ}`, 'aria-invalid'), 'true');
  }
  assert.equal(await page.evaluate(() => document.activeElement.id), 'nom', 'le premier champ en erreur a le focus');
  assert.equal(envois.length, 0);
  await capture(page, 'formulaire-erreurs-bureau');
  await capture(page, 'formulaire-erreurs-telephone', { taille: TELEPHONE });

  // Une erreur que seul le serveur voit (caractère de contrôle dans le nom) : 400, message du
  // serveur sous le champ, la saisie reste modifiable et ne reste pas en file.
  const saisie = await remplir(page, { nom: 'Jean\u0001Dupont' });
  await page.click('#envoyer');
  await attendreTexte(page, '#statut', 'Certains champs sont invalides');
  assert.notEqual(await texte(page, '#erreur-nom'), '');
  assert.equal(await page.getAttribute('#nom', 'aria-invalid'), 'true');
  assert.equal(await texte(page, '#erreur-email'), '');
  assert.equal(await page.locator('#nom').isDisabled(), false, 'le formulaire reste modifiable');
  assert.equal(await page.inputValue('#email'), saisie.email);
  assert.equal(await page.getAttribute('#compteur-file', 'data-nombre'), '0');
  assert.equal(reponsesPour(saisie.email).length, 0);

  // Corrigé, il part.
  await page.fill('#nom', 'Jean Dupont');
  assert.equal(await texte(page, '#erreur-nom'), '', 'le message disparaît quand on corrige');
  await page.click('#envoyer');
  await attendreVisible(page, '#merci');
  assert.equal(reponsesPour(saisie.email).length, 1);
});

test('adresse déjà utilisée : 409, puis « Recevoir un lien de modification par e-mail »', { timeout: plafond(60000) }, async () => {
  const { corps } = await creerReponse();
  const contexte = await navigateur();
  const envois = espion(contexte);
  const page = await ouvrir(contexte);
  await remplir(page, { email: corps.email });
  await page.click('#envoyer');
  await attendreVisible(page, '#deja');
  assert.match(await texte(page, '#erreur-email'), /existe déjà/);
  assert.equal(await page.inputValue('#email-lien'), corps.email);
  assert.equal(await page.getAttribute('#compteur-file', 'data-nombre'), '0', 'un 409 ne reste pas en file');
  await capture(page, 'formulaire-deja-repondu-bureau');
  await page.click('#demander-lien');
  await attendreTexte(page, '#deja-resultat', 'lien de modification');
  const lien = envois.find((e) => e.url === '/api/modify/link');
  assert.ok(lien, 'POST /api/modify/link envoyé');
  // La page d'une campagne nomme sa campagne : le lien sera celui de la réponse à cette campagne.
  assert.deepEqual(JSON.parse(lien.corps), { email: corps.email, campagne: 'disponibilites' });
  assert.match(lien.entetes['fiable-client'] || '', /from_queue=0; queued_ms=\d+; queue_length=\d+; attempt=\d+; autosave_ms=[\d.]+/);
  // L'envoi des courriels traite la demande après la réponse : le lien arrive en file d'envoi.
  let genres = sqlGenres(corps.email);
  for (let fin = Date.now() + plafond(15000); !genres.includes('edit_link') && Date.now() < fin;) {
    await new Promise((ok) => { setTimeout(ok, 100); });
    genres = sqlGenres(corps.email);
  }
  assert.ok(genres.includes('edit_link'), `courriel de lien en file d’envoi : ${genres}`);
  assert.equal(reponsesPour(corps.email).length, 1);
});

function sqlGenres(email) {
  return sql(`SELECT string_agg(kind, ',' ORDER BY id) FROM mail_outbox WHERE lower(recipient) = lower(:'e')`, { e: email });
}

test('fonctionnalités désactivées : cachées et pas utilisées', { timeout: plafond(60000) }, async (t) => {
  const noms = ['autosave', 'offline_queue', 'modification', 'email_links'];
  const avant = JSON.parse(sql(`SELECT json_object_agg(name, enabled) FROM feature_flags`));
  t.after(() => {
    for (const n of noms) drapeau(n, avant[n] ?? true);
  });
  for (const n of noms) drapeau(n, false);

  const contexte = await navigateur();
  const page = await ouvrir(contexte);
  await page.waitForFunction(() => document.querySelector('#compteur-file').hidden);
  const email = emailUnique('drapeaux');
  await remplir(page, { email });
  // Le brouillon s'écrit dans l'événement « input » lui-même (synchrone) : après la dernière
  // frappe, il serait déjà là ; rien à attendre pour voir qu'il n'y est pas.
  assert.equal(await page.locator('#etat-brouillon').isHidden(), true);
  assert.equal(await page.evaluate(() => localStorage.getItem('fiable.brouillon.disponibilites')), null, 'pas de brouillon');
  await page.click('#envoyer');
  await attendreVisible(page, '#merci');
  assert.equal(await page.locator('#bloc-lien').isHidden(), true, 'pas de lien de modification');
  assert.equal(await page.locator('#voir-reponse').isHidden(), true);
  const enFile = await page.evaluate(() => new Promise((ok) => {
    const r = indexedDB.open('fiable');
    r.onsuccess = () => {
      const db = r.result;
      if (!db.objectStoreNames.contains('envois')) return ok(0);
      db.transaction('envois').objectStore('envois').count().onsuccess = (e) => ok(e.target.result);
    };
  }));
  assert.equal(enFile, 0);
  assert.equal(reponsesPour(email).length, 1);

  // Adresse déjà utilisée : pas de bouton de lien par e-mail.
  const autre = await navigateur();
  const p2 = await ouvrir(autre);
  await remplir(p2, { email });
  await p2.click('#envoyer');
  await attendreVisible(p2, '#deja');
  assert.equal(await p2.locator('#bloc-demande-lien').isHidden(), true);
  await capture(p2, 'formulaire-fonctionnalites-desactivees');
});

test('accessibilité : étiquettes, zone annoncée, clavier, focus visible', { timeout: plafond(60000) }, async () => {
  const contexte = await navigateur();
  const page = await ouvrir(contexte);
  const sansEtiquette = await page.evaluate(() => [...document.querySelectorAll('input, textarea, select')]
    .filter((e) => e.type !== 'hidden' && !e.closest('[hidden]') && !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
    .map((e) => e.id || e.name));
  assert.deepEqual(sansEtiquette, []);
  assert.equal(await page.getAttribute('#statut', 'aria-live'), 'polite');
  assert.equal(await page.getAttribute('html', 'lang'), 'fr');

  // Au clavier : Tab jusqu'au premier créneau, Espace le coche ; le focus est visible.
  await page.focus('#email');
  await page.keyboard.press('Tab');
  const focus = await page.evaluate(() => ({ nom: document.activeElement.name, contour: getComputedStyle(document.activeElement).outlineStyle }));
  assert.equal(focus.nom, 'creneaux');
  assert.notEqual(focus.contour, 'none', 'contour de focus visible');
  await page.keyboard.press('Space');
  assert.equal(await page.locator('#liste-creneaux input[name="creneaux"]').first().isChecked(), true);

  // Sur téléphone : pas de défilement horizontal.
  await page.setViewportSize(TELEPHONE);
  assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), true);
  await page.setViewportSize(BUREAU);
});
