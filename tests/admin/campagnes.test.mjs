// Campagnes vues par l'organisateur : il crée une campagne depuis la liste, génère
// une série de créneaux (2 semaines × lundi, mercredi, vendredi × 09:00–12:00, moins une
// date : 5 créneaux, à 09:00 de part et d'autre du passage à l'heure d'été), l'ouvre ; une
// personne répond sur /c/<slug>/ (un autre navigateur, téléphone) en cochant deux créneaux ;
// il la voit dans la matrice et dans la liste. Un créneau se modifie sur sa ligne. Deux pages éditent la même campagne : la seconde reçoit le 412, garde ses saisies,
// recharge et enregistre par-dessus. Un créneau coché est retiré (gardé, grisé) ; l'ordre
// change au clavier ; l'archivage rend la page en lecture seule. Captures :
// $FIABLE_BUILD/screenshots/admin-campagnes-*.png (liste, éditeur, série, matrice, téléphone).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';

import { adminJson, arreter, BASE, capture, demarrer, ouvrir, page, plafond, TELEPHONE } from './outils.mjs';

const suffixe = randomUUID().slice(0, 8);
const TITRE = `Permanences du printemps ${suffixe}`;
const SLUG = `permanences-du-printemps-${suffixe}`;
const FUSEAU = 'Europe/Brussels';
let adresseCampagne; // /admin/campagne.html?id=N

// « AAAA-MM-JJTHH:MM » à l'heure de Bruxelles, décalé de `jours` depuis maintenant.
function locale(jours) {
  const p = Object.fromEntries(new Intl.DateTimeFormat('fr-BE', { timeZone: FUSEAU, year: 'numeric',
    month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
    .formatToParts(new Date(Date.now() + jours * 86400000)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

// Une capture d'un seul élément (celles de docs/captures/ : petites, lisibles).
const captureDe = async (p, selecteur, nom) => p.locator(selecteur).screenshot({ path: await capture(p, nom) });

const attendre = (p, fonction, arg) => p.waitForFunction(fonction, arg, { timeout: plafond(15000) });

before(async () => { await demarrer(); });
after(async () => { await arreter(); });

test('l\'organisateur crée une campagne, génère une série de créneaux et l\'ouvre', async () => {
  const p = await page();
  await ouvrir(p, '/admin/campagnes.html');
  assert.equal(await p.inputValue('#n-fuseau'), FUSEAU, 'fuseau présélectionné');
  await p.fill('#n-titre', TITRE);
  assert.equal(await p.inputValue('#n-slug'), SLUG, 'adresse proposée d\'après le titre');
  await p.fill('#n-ouverture', locale(-1));
  await p.fill('#n-fermeture', locale(30));
  await p.fill('#n-grace', '30');
  await Promise.all([p.waitForURL(/\/admin\/campagne\.html\?id=/, { timeout: plafond(15000) }), p.click('#creer')]);
  await p.waitForSelector('html[data-pret="1"]', { timeout: plafond(20000) });
  adresseCampagne = new URL(p.url()).pathname + new URL(p.url()).search.replace(/&creee=1/, '');
  assert.equal(await p.textContent('#titre-page'), TITRE);
  assert.equal(await p.textContent('#phase'), 'brouillon');
  assert.equal(await p.inputValue('#c-grace'), '30');

  // La série : du lundi 22 mars au vendredi 2 avril 2027, sans le vendredi 26 mars.
  await p.fill('#s-du', '2027-03-22');
  await p.fill('#s-au', '2027-04-02');
  for (const j of ['1', '3', '5']) await p.check(`#form-serie input[name="jour"][value="${j}"]`);
  await p.fill('#s-sauf', '2027-03-26');
  await p.click('#ajouter-sauf');
  assert.match(await p.textContent('#sauf'), /vendredi 26 mars 2027/);
  assert.equal(await p.textContent('#apercu-serie'), 'Cette série donnera 5 créneaux.');
  await p.locator('#form-serie').scrollIntoViewIfNeeded();
  await capture(p, 'campagnes-serie');
  await captureDe(p, '#form-serie', 'campagnes-serie-formulaire');
  await p.click('#generer');
  await p.waitForSelector('#message-serie[data-type]', { timeout: plafond(15000) });
  assert.equal(await p.textContent('#message-serie'), '5 créneaux créés.');
  const lignes = await p.$$eval('#creneaux tbody tr[data-creneau]', (trs) => trs.map((tr) => tr.cells[1].textContent));
  assert.deepEqual(lignes, ['Lun. 22 mars 2027, 09:00–12:00', 'Mer. 24 mars 2027, 09:00–12:00',
    'Lun. 29 mars 2027, 09:00–12:00', 'Mer. 31 mars 2027, 09:00–12:00', 'Ven. 2 avr. 2027, 09:00–12:00'],
  'cinq créneaux, à 09:00 heure de Bruxelles avant et après le passage à l\'heure d\'été');

  await p.click('#ouvrir');
  await attendre(p, () => document.getElementById('phase').textContent === 'ouverte');
  assert.ok(await p.isHidden('#ouvrir'));
  assert.ok(await p.isVisible('#fermer'));
  const idCampagne = new URL(BASE + adresseCampagne).searchParams.get('id');
  assert.equal(await p.getAttribute('#csv', 'href'), `/api/admin/campagnes/${idCampagne}/reponses.csv`);
  assert.equal(await p.textContent('#matrice tbody'), 'Aucune réponse pour l\'instant.');
  await attendre(p, () => document.querySelectorAll('#matrice thead tr.comptes td').length === 5);
  const vides = await p.$$eval('#matrice thead tr.comptes td', (tds) => tds.map((td) => td.textContent.match(/^\d+/)[0]));
  assert.deepEqual(vides, ['0', '0', '0', '0', '0']);
  assert.equal(await p.locator('#matrice thead tr.comptes td.non-couvert').count(), 5, 'non couverts : classe');
  assert.match(await p.textContent('#matrice thead tr.comptes td:first-of-type'), /personne/, 'non couverts : en toutes lettres');
  await capture(p, 'campagnes-editeur');
  await p.evaluate(() => scrollTo(0, 0));
  await p.screenshot({ path: await capture(p, 'campagnes-editeur-haut') });
  assert.deepEqual(p.erreurs, []);
  await p.context().close();
});

// La personne répond depuis la page de la campagne (/c/<slug>/, un autre navigateur, sans
// identifiants, sur téléphone) ; l'organisateur recharge sa page et la voit dans la matrice.
let repondu = false;
test('une personne répond sur /c/<slug>/ ; l\'organisateur la voit dans la matrice et la liste', async () => {
  assert.ok(adresseCampagne, 'la campagne du premier test');
  const p = await page();
  await ouvrir(p, adresseCampagne);
  assert.equal(await p.textContent('#matrice tbody'), 'Aucune réponse pour l\'instant.');

  const personne = await page({ identifiants: null, taille: TELEPHONE });
  await ouvrir(personne, `/c/${SLUG}/`);
  await attendre(personne, (t) => document.getElementById('titre').textContent.includes(t), TITRE);
  const cases = personne.locator('#liste-creneaux input[name="creneaux"]');
  await attendre(personne, () => document.querySelectorAll('#liste-creneaux input[name="creneaux"]').length === 5);
  await personne.fill('#nom', 'Awa Diallo');
  await personne.fill('#email', `camp-${suffixe}@example.org`);
  await cases.nth(0).check();
  await cases.nth(2).check();
  await capture(personne, 'campagnes-personne-telephone');
  await personne.click('#envoyer');
  await personne.waitForSelector('#merci:not([hidden])', { state: 'visible', timeout: plafond(20000) });
  assert.match(await personne.textContent('#titre-merci'), /votre réponse est enregistrée/);
  assert.match(await personne.inputValue('#lien-modification'), new RegExp(`/c/${SLUG}/#edit=`));
  assert.deepEqual(personne.erreurs, []);
  await personne.context().close();
  repondu = true;

  await p.reload();
  await p.waitForSelector('html[data-pret="1"]', { timeout: plafond(20000) });
  await p.waitForSelector('#matrice tbody tr[data-personne]', { timeout: plafond(15000) });
  const matrice = await p.$$eval('#matrice tbody tr[data-personne]', (trs) => trs.map((tr) => ({
    nom: tr.cells[0].textContent, coches: [...tr.cells].slice(1).map((td) => td.classList.contains('coche')),
  })));
  assert.equal(matrice.length, 1);
  assert.match(matrice[0].nom, /Awa Diallo/);
  assert.deepEqual(matrice[0].coches, [true, false, true, false, false]);
  const comptes = await p.$$eval('#matrice thead tr.comptes td', (tds) => tds.map((td) => td.textContent));
  assert.deepEqual(comptes.map((t) => t.match(/^\d+/)[0]), ['1', '0', '1', '0', '0'], 'disponibles par créneau');
  assert.deepEqual(await p.$$eval('#matrice thead tr.comptes td', (tds) => tds.map((td) => td.classList.contains('non-couvert'))),
    [false, true, false, true, true]);
  assert.equal(await p.textContent('#creneaux tbody tr:first-child td[data-titre="Réponses"]'), '1',
    'réponses par créneau dans l\'éditeur');
  await p.locator('#titre-matrice').scrollIntoViewIfNeeded();
  await p.locator('#matrice').screenshot({ path: await capture(p, 'campagnes-matrice') });

  // La liste : l'état, les dates, une réponse, le lien du formulaire.
  await ouvrir(p, '/admin/campagnes.html');
  const ligne = p.locator(`#campagnes tr[data-slug="${SLUG}"]`);
  assert.equal(await ligne.locator('.phase').textContent(), 'ouverte');
  assert.equal(await ligne.locator('.reponses').textContent(), '1');
  assert.equal(await ligne.locator('.en-retard').textContent(), '0');
  assert.equal(await ligne.locator(`a[href="/c/${SLUG}/"]`).count(), 1);
  await capture(p, 'campagnes-liste');
  assert.deepEqual(p.erreurs, []);
  await p.context().close();
});

test('deux administrateurs : le second reçoit le 412, garde ses saisies et enregistre après rechargement', async () => {
  assert.ok(adresseCampagne, 'la campagne du premier test');
  const a = await page();
  const b = await page();
  await ouvrir(a, adresseCampagne);
  await ouvrir(b, adresseCampagne);
  await a.fill('#c-titre', `${TITRE} (A)`);
  await a.click('#enregistrer');
  await a.waitForSelector('#message-reglages[data-type="succes"]', { timeout: plafond(15000) });

  await b.fill('#c-titre', `${TITRE} (B)`);
  await b.fill('#c-grace', '45');
  await b.click('#enregistrer');
  await b.waitForSelector('#conflit:not([hidden])', { timeout: plafond(15000) });
  assert.match(await b.textContent('#conflit-texte'), /modifiée entre-temps/);
  assert.equal(await b.inputValue('#c-titre'), `${TITRE} (B)`, 'la saisie reste affichée');
  assert.equal(await b.inputValue('#c-grace'), '45');
  await b.click('#recharger');
  await b.waitForSelector('#conflit-differences li', { timeout: plafond(15000) });
  assert.match(await b.textContent('#conflit-differences'), new RegExp(`Titre — enregistré : « ${TITRE} \\(A\\) »`));
  assert.equal(await b.inputValue('#c-titre'), `${TITRE} (B)`, 'toujours la saisie après rechargement');
  await capture(b, 'campagnes-conflit');
  await b.click('#enregistrer');
  await b.waitForSelector('#message-reglages[data-type="succes"]', { timeout: plafond(15000) });
  assert.ok(await b.isHidden('#conflit'));
  assert.equal(await b.textContent('#titre-page'), `${TITRE} (B)`);
  assert.deepEqual([...a.erreurs, ...b.erreurs.filter((e) => !/412/.test(e))], []);
  await a.context().close();
  await b.context().close();
});

test('modifier un créneau sur sa ligne : heures et libellé', async () => {
  assert.ok(adresseCampagne, 'la campagne du premier test');
  const p = await page();
  await ouvrir(p, adresseCampagne);
  const ligne = p.locator('#creneaux tbody tr[data-creneau]').nth(2);
  const sid = await ligne.getAttribute('data-creneau');
  assert.equal(await ligne.locator('td').nth(1).textContent(), 'Lun. 29 mars 2027, 09:00–12:00');
  await ligne.locator('.modifier').click();
  const edition = p.locator(`#creneaux tr[data-edition="${sid}"]`);
  await edition.waitFor({ timeout: plafond(15000) });
  assert.equal(await ligne.locator('.modifier').getAttribute('aria-expanded'), 'true');
  assert.equal(await p.inputValue('#e-debut'), '2027-03-29T09:00', 'début en heure de Bruxelles');
  assert.equal(await p.inputValue('#e-fin'), '2027-03-29T12:00');
  assert.equal(await p.evaluate(() => document.activeElement.id), 'e-debut', 'le focus va au premier champ');
  // Annuler ferme le formulaire sans rien écrire.
  await edition.locator('.annuler-creneau').click();
  assert.equal(await p.locator('#creneaux tr.edition').count(), 0);

  await ligne.locator('.modifier').click();
  await p.fill('#e-debut', '2027-03-29T10:00');
  await p.fill('#e-fin', '2027-03-29T12:30');
  await p.fill('#e-libelle', 'Permanence longue');
  await p.fill('#e-besoin', '2');
  await capture(p, 'campagnes-modifier-creneau');
  await captureDe(p, '#creneaux', 'campagnes-modifier-ligne');
  // Entrée dans le dernier champ envoie le formulaire de la ligne. Un clic juste après les
  // captures (pleine page, puis d'un élément : la page défile et change de taille) a pu ne
  // rien toucher : aucun PUT dans le journal de nginx, une fois en CI.
  await Promise.all([
    p.waitForResponse((r) => r.request().method() === 'PUT' && r.url().endsWith(`/creneaux/${sid}`), { timeout: plafond(15000) }),
    p.press('#e-besoin', 'Enter'),
  ]);
  await p.waitForSelector('#message-creneaux[data-type="succes"]', { timeout: plafond(15000) });
  assert.equal(await p.textContent('#message-creneaux'), 'Créneau modifié : Lun. 29 mars 2027, 10:00–12:30, « Permanence longue ».');
  assert.equal(await p.locator('#creneaux tr.edition').count(), 0, 'le formulaire est refermé');
  const apres = p.locator(`#creneaux tr[data-creneau="${sid}"]`);
  assert.deepEqual((await apres.locator('td').allTextContents()).slice(1, 4),
    ['Lun. 29 mars 2027, 10:00–12:30', 'Permanence longue', '2']);
  assert.equal(await p.evaluate(() => document.activeElement.closest('tr')?.dataset.creneau), sid, 'le focus revient à la ligne');
  // La matrice suit : heures nouvelles, besoin 2 (Awa Diallo l'a coché : il en manque 1).
  await attendre(p, (s) => /10:00–12:30/.test(document.querySelector(`#matrice thead th[data-creneau="${s}"]`)?.textContent || ''), sid);
  assert.equal(await p.textContent(`#matrice thead tr.comptes td[data-creneau="${sid}"]`), '1 / 2manque 1');
  // Une saisie fautive n'écrit rien.
  await apres.locator('.modifier').click();
  await p.fill('#e-fin', '2027-03-29T09:00');
  await p.click('#creneaux tr.edition .enregistrer-creneau');
  await p.waitForSelector('#message-creneaux[data-type="erreur"]', { timeout: plafond(15000) });
  assert.match(await p.textContent('#message-creneaux'), /la fin après le début/);
  assert.deepEqual(p.erreurs, []);
  await p.context().close();
});

test('ordre au clavier, créneau coché retiré mais gardé, archivage en lecture seule, téléphone', async (t) => {
  const p = await page();
  await ouvrir(p, adresseCampagne);
  const ordre = () => p.$$eval('#creneaux tbody tr[data-creneau]', (trs) => trs.map((tr) => tr.dataset.creneau));
  const avant = await ordre();
  await p.focus('#creneaux tbody tr:first-child .descendre');
  await p.keyboard.press('Enter');
  await attendre(p, () => /déplacé en position 2/.test(document.getElementById('message-creneaux').textContent));
  assert.deepEqual(await ordre(), [avant[1], avant[0], ...avant.slice(2)]);
  assert.equal(await p.evaluate(() => document.activeElement.closest('tr')?.dataset.creneau), avant[0],
    'le focus suit le créneau déplacé');

  // Le premier créneau de la série, coché par la réponse : retiré, gardé (sans la réponse du
  // test précédent, il est supprimé comme le suivant).
  await p.click(`#creneaux tr[data-creneau="${avant[0]}"] .retirer`);
  if (repondu) {
    await attendre(p, () => /retiré du formulaire/.test(document.getElementById('message-creneaux').textContent));
    assert.match(await p.textContent(`#retires li[data-creneau="${avant[0]}"]`), /retiré.*22 mars 2027/);
  } else {
    await attendre(p, () => /supprimé/.test(document.getElementById('message-creneaux').textContent));
    assert.equal(await p.locator(`#retires li[data-creneau="${avant[0]}"]`).count(), 0);
    t.diagnostic('sans réponse, le créneau coché n\'a pas pu être vérifié « retiré »');
  }
  assert.equal(await p.locator('#creneaux tbody tr[data-creneau]').count(), 4);
  // Un créneau sans réponse : supprimé.
  // Le message vient après la relecture de la campagne et de la matrice : on l'attend, lui.
  await p.click(`#creneaux tr[data-creneau="${avant[1]}"] .retirer`);
  await attendre(p, () => /supprimé : aucune réponse/.test(document.getElementById('message-creneaux').textContent));
  assert.equal(await p.locator('#creneaux tbody tr[data-creneau]').count(), 3);
  assert.equal(await p.locator(`#retires li[data-creneau="${avant[1]}"]`).count(), 0);

  // Import : un fichier fautif est refusé en entier, avec ses lignes ; un bon fichier ajoute.
  const csv = (texte) => ({ name: 'creneaux.csv', mimeType: 'text/csv', buffer: Buffer.from(texte, 'utf8') });
  await p.setInputFiles('#i-fichier', csv('début;fin;libellé\n2027-04-05 09:00;2027-04-05 12:00;Bon\n2027-04-06 12:00;2027-04-06 09:00;À l\'envers\n'));
  await p.click('#form-import button[type="submit"]');
  await p.waitForSelector('#message-import[data-type="erreur"] li', { timeout: plafond(15000) });
  assert.match(await p.textContent('#message-import'), /Ligne 3/);
  assert.match(await p.textContent('#message-import'), /aucun créneau n’a été ajouté/);
  assert.equal(await p.locator('#creneaux tbody tr[data-creneau]').count(), 3);
  await p.setInputFiles('#i-fichier', csv('début;fin;libellé\n2027-04-05 09:00;2027-04-05 12:00;Lundi de Pâques\n'));
  await p.click('#form-import button[type="submit"]');
  await p.waitForSelector('#message-import[data-type="succes"]', { timeout: plafond(15000) });
  assert.equal(await p.textContent('#message-import'), '1 créneau importé de « creneaux.csv ».');
  assert.equal(await p.locator('#creneaux tbody tr[data-creneau]').count(), 4);
  assert.match(await p.textContent('#creneaux tbody'), /Lun\. 5 avr\. 2027, 09:00–12:00Lundi de Pâques/);

  const tel = await page({ taille: TELEPHONE });
  await ouvrir(tel, adresseCampagne);
  await capture(tel, 'campagnes-telephone');
  await tel.context().close();

  await p.click('#archiver'); // la confirmation est acceptée (outils.mjs)
  await attendre(p, () => document.getElementById('phase').textContent === 'archivée');
  assert.ok(await p.isVisible('#lecture-seule'));
  assert.ok(await p.isDisabled('#enregistrer'));
  assert.ok(await p.isDisabled('#generer'));
  assert.ok(await p.isEnabled('#dupliquer'), 'une campagne archivée se duplique');
  // Le 422 du fichier fautif est attendu : le navigateur l'inscrit dans la console.
  assert.deepEqual(p.erreurs.filter((e) => !/status of 422/.test(e)), []);
  await p.context().close();
});

test('un double clic sur « Ajouter le créneau » n’ajoute qu’un créneau', async () => {
  const p = await page();
  await ouvrir(p, '/admin/campagnes.html');
  await p.fill('#n-titre', `Double clic ${suffixe}`);
  await Promise.all([p.waitForURL(/\/admin\/campagne\.html\?id=/, { timeout: plafond(15000) }), p.click('#creer')]);
  await p.waitForSelector('html[data-pret="1"]', { timeout: plafond(20000) });
  const id = new URL(p.url()).searchParams.get('id');
  await p.fill('#u-debut', '2027-05-03T09:00');
  await p.fill('#u-fin', '2027-05-03T11:00');
  await p.dblclick('#form-un button[type="submit"]');
  await p.waitForSelector('#message-creneaux[data-type]', { timeout: plafond(15000) });
  assert.equal(await p.textContent('#message-creneaux'), 'Créneau ajouté.');
  // Ce qui doit arriver est arrivé ; un second envoi serait parti avant : plus rien en cours.
  await p.waitForLoadState('networkidle', { timeout: plafond(15000) });
  assert.ok(await p.isEnabled('#form-un button[type="submit"]'), 'le bouton est rendu après l’envoi');
  const c = await adminJson(`/api/admin/campagnes/${id}`);
  assert.equal(c.creneaux.length, 1, 'un seul créneau créé');
  assert.equal(await p.locator('#creneaux tbody tr[data-creneau]').count(), 1);
  assert.deepEqual(p.erreurs, []);
  await p.context().close();
});
