// La page des participants d'une campagne (/admin/participants.html) dans Chromium : la
// campagne passe sur invitation ; un fichier CSV fautif est refusé ligne par ligne sans rien
// ajouter, puis un bon fichier de trois personnes est importé (dont une adresse que le serveur
// SMTP de test refuse, tests/lib/boite_smtp.py) ; « Envoyer les invitations (3) » ; la page
// montre l'invitation refusée avec l'erreur du serveur ; une personne répond par l'API avec
// son jeton (lu dans le courriel reçu) et passe à « a répondu », le taux de réponse suit ;
// « Relancer ceux qui n'ont pas répondu (1) » relance l'autre, et la relance est inscrite ;
// le calendrier des relances automatiques s'enregistre ; une personne est retirée. Captures :
// $FIABLE_BUILD/screenshots/admin-participants-*.png (bureau et téléphone).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';

import { adminJson, arreter, AUTORISATION, BASE, capture, demarrer, ouvrir, page, plafond, TELEPHONE } from './outils.mjs';

const suffixe = randomUUID().slice(0, 8);
const SLUG = `participants-${suffixe}`;
const TITRE = `Journée d’accueil ${suffixe}`;
const PERSONNES = [
  { email: `awa-${suffixe}@example.org`, nom: 'Awa Diallo', groupe: 'Comptabilité' },
  { email: `bruno-${suffixe}@example.org`, nom: 'Bruno Lambert', groupe: 'Informatique' },
  { email: `refus-smtp-${suffixe}@example.org`, nom: 'Rémi Refus', groupe: 'Informatique' },
];
let id;
let creneau;

const attendre = (p, fonction, arg) => p.waitForFunction(fonction, arg, { timeout: plafond(20000) });

async function api(methode, chemin, corps) {
  const r = await fetch(BASE + chemin, {
    method: methode,
    headers: { Authorization: AUTORISATION, Origin: BASE, 'Content-Type': 'application/json' },
    body: corps === undefined ? undefined : JSON.stringify(corps),
  });
  const donnees = await r.json().catch(() => null);
  if (!r.ok) throw new Error(`${methode} ${chemin} : HTTP ${r.status} ${JSON.stringify(donnees)}`);
  return donnees;
}

// « AAAA-MM-JJTHH:MM » à l'heure de Bruxelles, dans `jours` jours.
function locale(jours) {
  const p = Object.fromEntries(new Intl.DateTimeFormat('fr-BE', { timeZone: 'Europe/Brussels', year: 'numeric',
    month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
    .formatToParts(new Date(Date.now() + jours * 86400000)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

// Le jeton du lien personnel reçu par `email` (la boîte Maildir du serveur SMTP de test).
async function jetonRecu(email) {
  const dossier = path.join(process.env.FIABLE_TEST_MAILBOX, 'new');
  const fin = Date.now() + plafond(30000);
  for (;;) {
    for (const f of fs.readdirSync(dossier)) {
      const texte = fs.readFileSync(path.join(dossier, f), 'utf8');
      if (texte.includes(`To: ${email}`) || texte.includes(`<${email}>`)) {
        const m = texte.match(/#invitation=([A-Za-z0-9_-]+)/);
        if (m) return m[1];
      }
    }
    if (Date.now() > fin) throw new Error(`aucune invitation reçue pour ${email}`);
    await new Promise((ok) => { setTimeout(ok, 200); });
  }
}

before(async () => {
  await demarrer();
  const c = await api('POST', '/api/admin/campagnes', { slug: SLUG, titre: TITRE, fuseau: 'Europe/Brussels',
    fermeture: locale(10) });
  id = c.id;
  const k = await api('POST', `/api/admin/campagnes/${id}/creneaux`, { debut: locale(20), fin: locale(20.1) });
  creneau = k.id;
  const v = await api('GET', `/api/admin/campagnes/${id}`);
  await fetch(`${BASE}/api/admin/campagnes/${id}`, {
    method: 'PUT',
    headers: { Authorization: AUTORISATION, Origin: BASE, 'Content-Type': 'application/json', 'If-Match': `"v${v.version}"` },
    body: JSON.stringify({ slug: v.slug, titre: v.titre, introduction: v.introduction, fuseau: v.fuseau,
      ouverture: null, fermeture: v.fermeture, delai_grace_minutes: 0, modification_jusqu_a: null, etat: 'ouverte' }),
  }).then((r) => assert.equal(r.status, 200));
});
after(async () => { await arreter(); });

test('l’organisateur importe, invite, voit qui a répondu et relance', async () => {
  const p = await page();
  await ouvrir(p, `/admin/campagne.html?id=${id}`);
  await Promise.all([p.waitForURL(/participants\.html/), p.click('#lien-participants')]);
  await p.waitForSelector('html[data-pret="1"]');
  assert.equal(await p.textContent('#titre-page'), `Participants — ${TITRE}`);

  // Sur invitation.
  await p.check('input[name="acces"][value="invites"]');
  await attendre(p, () => /sur invitation/.test(document.getElementById('message-acces').textContent));
  assert.equal((await adminJson(`/api/admin/campagnes/${id}/participants`)).acces, 'invites');

  // Un fichier fautif : les lignes dites, personne d'ajouté.
  const fautif = 'e-mail;nom;groupe\nbon@example.org;Bon;A\npas-une-adresse;Mauvais;\n';
  await p.setInputFiles('#i-fichier', { name: 'fautif.csv', mimeType: 'text/csv', buffer: Buffer.from(fautif) });
  await p.click('#form-import button[type="submit"]');
  await attendre(p, () => document.getElementById('message-import').dataset.type === 'erreur');
  assert.match(await p.textContent('#message-import'), /Ligne 3 : Adresse e-mail invalide/);
  assert.equal(await p.locator('#participants tbody tr[data-email]').count(), 0);

  // Le bon fichier (avec BOM, séparé par des virgules).
  const bon = `\ufeffe-mail,nom,groupe\n${PERSONNES.map((x) => `${x.email},${x.nom},${x.groupe}`).join('\n')}\n`;
  await p.setInputFiles('#i-fichier', { name: 'personnel.csv', mimeType: 'text/csv', buffer: Buffer.from(bon) });
  await p.click('#form-import button[type="submit"]');
  await attendre(p, () => /3 personnes ajoutées/.test(document.getElementById('message-import').textContent));
  assert.equal(await p.locator('#participants tbody tr[data-email]').count(), 3);
  assert.equal(await p.textContent('#inviter'), 'Envoyer les invitations (3)');
  assert.equal(await p.textContent('#apercu-invitations'), '3 invitations seront envoyées.');

  await p.click('#inviter');
  await attendre(p, () => /3 invitations mises en file d’envoi/.test(document.getElementById('message-envois').textContent));
  // Les courriels partis (ou refusés), la page relue montre l'état de chacun.
  const fin = Date.now() + plafond(30000);
  while ((await adminJson(`/api/admin/campagnes/${id}/participants`)).participants.some((x) => x.invitation === 'a_envoyer')) {
    assert.ok(Date.now() < fin, 'invitations toujours en cours d’envoi');
    await new Promise((ok) => { setTimeout(ok, 200); });
  }
  await ouvrir(p, `/admin/participants.html?id=${id}`);
  const refus = p.locator(`#participants tr[data-email="${PERSONNES[2].email}"]`);
  assert.match(await refus.textContent(), /refusée par le serveur de courrier.*550/);
  assert.equal(await p.locator('#participants td[data-invitation="envoyee"]').count(), 2);

  // Awa répond avec son lien personnel : elle passe à « a répondu ».
  const jeton = await jetonRecu(PERSONNES[0].email);
  const r = await fetch(`${BASE}/api/submit`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Idempotency-Key': randomUUID() },
    body: JSON.stringify({ campagne: SLUG, email: PERSONNES[0].email, nom: PERSONNES[0].nom,
      creneaux: [creneau], commentaire: '', invitation: jeton }),
  });
  assert.equal(r.status, 201, await r.text());
  await ouvrir(p, `/admin/participants.html?id=${id}`);
  const awa = p.locator(`#participants tr[data-email="${PERSONNES[0].email}"]`);
  assert.equal(await awa.getAttribute('data-reponse'), 'repondu');
  assert.match(await awa.textContent(), /a répondu/);
  assert.match(await p.textContent('#totaux'), /Ont répondu1/);
  assert.match(await p.textContent('#totaux'), /Taux de réponse33,3 %/);
  const groupes = await p.$$eval('#groupes tbody tr, #groupes tfoot tr',
    (lignes) => lignes.map((l) => [...l.children].map((c) => c.textContent)));
  assert.deepEqual(groupes, [
    ['Comptabilité', '1', '1', '0', '0', '0', '100 %'],
    ['Informatique', '2', '0', '2', '0', '1', '0 %'],
    ['Total', '3', '1', '2', '0', '1', '33,3 %'],
  ]);

  // Relancer : Bruno seulement (Rémi n'a jamais reçu son invitation).
  assert.equal(await p.textContent('#relancer'), 'Relancer ceux qui n’ont pas répondu (1)');
  await capture(p, 'participants-bureau');
  await p.click('#relancer');
  await attendre(p, () => /1 relance mise en file d’envoi/.test(document.getElementById('message-envois').textContent));
  assert.match(await p.textContent('#relances tbody'), /admin1/);
  assert.equal(await p.isDisabled('#relancer'), true, 'personne d’autre à relancer');

  // Le calendrier des relances automatiques.
  assert.equal(await p.inputValue('#r-heures'), '72, 24');
  await p.fill('#r-heures', '48, 12');
  await p.click('#form-calendrier button[type="submit"]');
  await attendre(p, () => /48 heures, 12 heures avant la fermeture/.test(document.getElementById('message-envois').textContent));
  assert.deepEqual((await adminJson(`/api/admin/campagnes/${id}/relances`)).heures, [48, 12]);
  await p.fill('#r-heures', '0');
  await p.click('#form-calendrier button[type="submit"]');
  await attendre(p, () => document.getElementById('message-envois').dataset.type === 'erreur');
  assert.match(await p.textContent('#message-envois'), /nombre entier d’heures/);

  // Retirer Rémi (confirmation acceptée).
  await refus.locator('button').click();
  await attendre(p, () => /Rémi Refus a été retiré/.test(document.getElementById('message-liste').textContent));
  assert.equal(await p.locator('#participants tbody tr[data-email]').count(), 2);
  assert.equal(await p.evaluate(() => document.activeElement.id), 'titre-liste');
  assert.equal(await p.getAttribute('#csv-sans-reponse', 'href'), `/api/admin/campagnes/${id}/participants/sans-reponse.csv`);
  // Les deux refus voulus (le fichier fautif, le calendrier à 0 heure), rien d'autre.
  assert.deepEqual(p.erreurs.filter((e) => !/status of (422|400) /.test(e)), []);
  assert.equal(p.erreurs.length, 2, p.erreurs.join('\n'));
});

test('la page se lit sur un téléphone', async () => {
  const p = await page({ taille: TELEPHONE });
  await ouvrir(p, `/admin/participants.html?id=${id}`);
  const largeur = await p.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(largeur <= TELEPHONE.width + 1, `pas de défilement horizontal (${largeur} px)`);
  await capture(p, 'participants-telephone');
  assert.deepEqual(p.erreurs, []);
});
