// Le lien personnel d'une invitation, côté personne (issue 16) : /c/<slug>/#invitation=JETON
// ouvre le formulaire au nom de la personne invitée (nom et e-mail de la liste, verrouillés ;
// le jeton retiré de la barre d'adresse) ; l'envoi porte l'invitation ; l'organisateur la voit
// passer à « a répondu » (GET /api/admin/campagnes/<id>/participants) ; rouvert ensuite, le
// même lien ouvre la réponse pour la modifier ou la retirer. Un lien faux le dit en français ;
// dans une campagne ouverte à tous, on répond quand même. Le lien de désinscription des
// relances, ouvert dans le navigateur, montre une page dont le bouton désinscrit.
// Les invitations passent par la vraie file d'envoi et le vrai serveur SMTP de test : le
// jeton est lu dans la boîte aux lettres (FIABLE_TEST_MAILBOX), comme la personne le reçoit.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  BASE, attendreTexte, attendreVisible, capture, emailUnique, espion, lancer, ouvrir, plafond, reponsesPour, sql,
  TELEPHONE, texte,
} from './aide.mjs';

const MOT_DE_PASSE = fs.readFileSync(path.join(process.env.FIABLE_VAR, 'admin-password'), 'utf8').trim();
const ADMIN = { Authorization: `Basic ${Buffer.from(`admin:${MOT_DE_PASSE}`).toString('base64')}`, Origin: BASE };
const SUFFIXE = randomUUID().slice(0, 8);
const SLUG = `invitation-${SUFFIXE}`;
const TITRE = `Réunion d’équipe ${SUFFIXE}`;
const LEA = { nom: 'Léa Invitée', email: emailUnique('lea'), groupe: 'Accueil' };

async function admin(methode, chemin, corps) {
  const h = { ...ADMIN };
  if (corps !== undefined) h['Content-Type'] = 'application/json';
  const r = await fetch(`${BASE}/api/admin/campagnes/${chemin}`, { method: methode, headers: h, body: corps === undefined ? undefined : JSON.stringify(corps) });
  const t = await r.text();
  if (!r.ok) throw new Error(`${methode} ${chemin} : HTTP ${r.status} ${t}`);
  return t ? JSON.parse(t) : null;
}

// Ce que l'organisateur voit de cette personne (la vue participants_reponses).
async function vueOrganisateur(id, email) {
  const l = await admin('GET', `${id}/participants`);
  return l.participants.find((p) => p.email === email);
}

// Le courriel d'invitation reçu par le serveur SMTP de test pour cette adresse (attendu).
async function invitationRecue(email) {
  const dossier = path.join(process.env.FIABLE_TEST_MAILBOX, 'new');
  const fin = Date.now() + plafond(30000);
  for (;;) {
    for (const f of fs.readdirSync(dossier)) {
      const m = fs.readFileSync(path.join(dossier, f), 'utf8');
      const jeton = /#invitation=([A-Za-z0-9_-]{43})/.exec(m)?.[1];
      if (jeton && m.includes(`X-RcptTo: ${email}`)) {
        return { jeton, desinscription: /^List-Unsubscribe: <([^>]+)>/m.exec(m)[1] };
      }
    }
    if (Date.now() > fin) throw new Error(`aucune invitation reçue pour ${email}`);
    await new Promise((ok) => { setTimeout(ok, 200); });
  }
}

let campagne;
let lien;
const ouverts = [];
async function navigateur(options) {
  const c = await lancer(options);
  ouverts.push(c);
  return c;
}

before(async () => {
  sql("UPDATE campagnes SET etat = 'archivee' WHERE slug LIKE 'invitation-%' AND etat <> 'archivee'");
  campagne = sql(`INSERT INTO campagnes (slug, titre, introduction, etat) VALUES (:'slug', :'titre',
    'Cochez vos disponibilités pour la réunion.', 'ouverte') RETURNING id`, { slug: SLUG, titre: TITRE });
  sql(`INSERT INTO creneaux (id, starts_at, ends_at, label, campagne_id, position) VALUES
    (:'slug' || '-1', '2030-06-03 09:00+02', '2030-06-03 12:00+02', 'Lundi matin', :'id', 1),
    (:'slug' || '-2', '2030-06-03 14:00+02', '2030-06-03 17:00+02', 'Lundi après-midi', :'id', 2)`, { slug: SLUG, id: campagne });
  await admin('PUT', `${campagne}/acces`, { acces: 'invites' });
  await admin('POST', `${campagne}/participants`, LEA);
  assert.equal((await admin('POST', `${campagne}/participants/inviter`)).invitations, 1);
  lien = await invitationRecue(LEA.email);
});

after(async () => {
  for (const c of ouverts) await c.close().catch(() => {});
  sql("UPDATE campagnes SET etat = 'archivee' WHERE slug LIKE 'invitation-%' AND etat <> 'archivee'");
});

test('le lien personnel ouvre le formulaire au nom de l’invitée, verrouillé ; l’envoi la fait passer à « a répondu »', { timeout: plafond(90000) }, async () => {
  assert.equal((await vueOrganisateur(campagne, LEA.email)).reponse, 'sans_reponse');
  const contexte = await navigateur();
  const vues = espion(contexte);
  const page = await ouvrir(contexte, `/c/${SLUG}/#invitation=${lien.jeton}`);
  // Le jeton quitte la barre d'adresse (favoris, partage d'écran), gardé pour l'onglet.
  assert.equal(page.url(), `${BASE}/c/${SLUG}/`);
  assert.match(await page.evaluate((s) => sessionStorage.getItem(`fiable.invitation.${s}`), SLUG), new RegExp(lien.jeton));
  await attendreTexte(page, '#invitation', `Invitation personnelle de ${LEA.nom} (${LEA.email})`);
  assert.equal(await page.inputValue('#nom'), LEA.nom);
  assert.equal(await page.inputValue('#email'), LEA.email);
  for (const id of ['nom', 'email']) {
    assert.equal(await page.locator(`#${id}`).evaluate((e) => e.readOnly), true, `${id} en lecture seule`);
    assert.equal(await page.locator(`.champ:has(#${id})`).evaluate((e) => e.classList.contains('verrouille')), true);
    assert.equal(await page.locator(`.champ:has(#${id}) label`).evaluate((e) => getComputedStyle(e, '::after').content), '"verrouillé"');
  }
  // Taper dans un champ verrouillé ne change rien.
  await page.locator('#nom').press('End');
  await page.keyboard.type(' pas moi');
  assert.equal(await page.inputValue('#nom'), LEA.nom);
  await capture(page, 'invitation-formulaire-verrouille');
  await capture(page, 'invitation-formulaire-telephone', { taille: TELEPHONE });

  await page.locator(`#liste-creneaux input[value="${SLUG}-1"]`).check();
  await page.click('#envoyer');
  await attendreVisible(page, '#merci');
  const envoi = vues.find((v) => v.url === '/api/submit');
  assert.equal(JSON.parse(envoi.corps).invitation, lien.jeton, 'l’envoi porte l’invitation');
  const [rep] = reponsesPour(LEA.email);
  assert.equal(rep.nom, LEA.nom);
  assert.deepEqual(rep.creneaux, [`${SLUG}-1`]);
  // La vue de l'organisateur (API d'administration) : a répondu.
  const p = await vueOrganisateur(campagne, LEA.email);
  assert.equal(p.reponse, 'repondu');
  await capture(page, 'invitation-merci');
  // Le même lien, rouvert dans ce navigateur : la réponse, à modifier.
  const encore = await ouvrir(contexte, `/c/${SLUG}/#invitation=${lien.jeton}`);
  await attendreVisible(encore, '#compte');
  assert.equal(await texte(encore, '#envoyer'), 'Enregistrer les modifications');
  assert.deepEqual(contexte.erreurs, []);
});

test('rouvert après la réponse, le même lien ouvre la réponse : modifier, retirer', { timeout: plafond(90000) }, async () => {
  // Un autre navigateur, sans rien de gardé : seul le lien d'invitation.
  const contexte = await navigateur();
  const page = await ouvrir(contexte, `/c/${SLUG}/#invitation=${lien.jeton}`);
  await attendreVisible(page, '#compte');
  assert.match(await texte(page, '#compte-texte'), /Envoyée le .*\(version 1\)/);
  assert.equal(await texte(page, '#envoyer'), 'Enregistrer les modifications');
  assert.equal(await page.locator(`#liste-creneaux input[value="${SLUG}-1"]`).isChecked(), true);
  assert.equal(await page.locator('#email').evaluate((e) => e.readOnly), true);
  await attendreTexte(page, '#invitation', 'Ce lien ouvre aussi votre réponse');
  await capture(page, 'invitation-modification');

  await page.locator(`#liste-creneaux input[value="${SLUG}-2"]`).check();
  await page.fill('#commentaire', 'Plutôt l’après-midi');
  await page.click('#envoyer');
  await attendreTexte(page, '#statut', 'Vos modifications sont enregistrées (version 2)');
  let [rep] = reponsesPour(LEA.email);
  assert.deepEqual([rep.version, rep.nom, rep.creneaux.sort()], [2, LEA.nom, [`${SLUG}-1`, `${SLUG}-2`]]);

  await page.click('#bouton-retirer');
  await page.click('#retrait-oui');
  await attendreVisible(page, '#retiree');
  [rep] = reponsesPour(LEA.email);
  assert.equal(rep.retiree, true);
  assert.equal((await vueOrganisateur(campagne, LEA.email)).reponse, 'retire');
  await capture(page, 'invitation-retiree');
  await page.click('#annuler-retrait');
  await attendreVisible(page, '#compte');
  assert.equal((await vueOrganisateur(campagne, LEA.email)).reponse, 'repondu');
  assert.deepEqual(contexte.erreurs, []);
});

test('un lien faux : un message clair ; campagne ouverte à tous, on répond quand même', { timeout: plafond(60000) }, async () => {
  const contexte = await navigateur();
  const faux = `${lien.jeton.slice(0, -1)}${lien.jeton.endsWith('A') ? 'B' : 'A'}`;
  const page = await ouvrir(contexte, `/c/${SLUG}/#invitation=${faux}`);
  await attendreTexte(page, '#invitation', 'Ce lien d’invitation n’est pas valable');
  await attendreTexte(page, '#invitation', 'réservée aux personnes invitées');
  assert.equal(await page.locator('#nom').evaluate((e) => e.readOnly), false);
  await capture(page, 'invitation-lien-faux');
  // Sans lien du tout, la page d'une campagne sur invitation le dit.
  const sansLien = await ouvrir(await navigateur(), `/c/${SLUG}/`);
  await attendreTexte(sansLien, '#invitation', 'Cette campagne est réservée aux personnes invitées');

  // La première campagne est ouverte à tous : le même lien faux n'empêche pas de répondre.
  const ouverte = await ouvrir(contexte, `/c/disponibilites/#invitation=${faux}`);
  await attendreTexte(ouverte, '#invitation', 'Vous pouvez tout de même répondre ci-dessous');
  const email = emailUnique('sans-invitation');
  await ouverte.fill('#nom', 'Sam Sans Invitation');
  await ouverte.fill('#email', email);
  await ouverte.locator('#liste-creneaux input[name="creneaux"]').first().check();
  await ouverte.click('#envoyer');
  await attendreVisible(ouverte, '#merci');
  assert.equal(reponsesPour(email).length, 1);
  assert.deepEqual(contexte.erreurs, []);
});

test('le lien de désinscription ouvert dans le navigateur : une page, un bouton, la confirmation', { timeout: plafond(60000) }, async () => {
  const contexte = await navigateur();
  const page = contexte.pages()[0] || await contexte.newPage();
  const adresse = new URL(lien.desinscription);
  await page.goto(BASE + adresse.pathname + adresse.search);
  assert.equal(await texte(page, 'h1'), 'Relances de la campagne');
  assert.equal(await texte(page, '#campagne'), TITRE);
  assert.equal((await vueOrganisateur(campagne, LEA.email)).desinscrit_relances, false, 'rien avant le bouton');
  await capture(page, 'desinscription-page');
  await page.click('#confirmer');
  await attendreTexte(page, '#confirmation', `Vous ne recevrez plus les relances de la campagne « ${TITRE} »`);
  assert.equal((await vueOrganisateur(campagne, LEA.email)).desinscrit_relances, true);
  await capture(page, 'desinscription-confirmee');
  await page.goto(BASE + adresse.pathname + adresse.search);
  assert.match(await texte(page, '#desinscription'), /déjà désinscrit/);
  assert.deepEqual(contexte.erreurs, []);
});
