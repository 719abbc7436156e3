// Les pages de la personne, par campagne (issue 15) : /c/<slug>/ montre le titre et
// l'introduction de sa campagne (texte, liens construits sans HTML) ; / liste les campagnes
// ouvertes ; le brouillon d'une campagne n'apparaît pas dans une autre ; avant l'ouverture et
// après la clôture, pas de formulaire ; une réponse en file refusée après la clôture reste
// montrée à son auteur, avec son contenu et « Copier le contenu ».
// Les campagnes sont créées en SQL (propriétaire de la base) avec des slugs propres à ce
// lancement, et archivées à la fin : les autres tests retrouvent la seule première campagne.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import {
  BASE, api, attendreHorsLigne, attendreTexte, attendreVisible, capture, compteurFile, coquilleGardee, emailUnique, espion, lancer,
  ouvrir, plafond, pret, remplir, reponsesPour, sql, texte,
} from './aide.mjs';

const TELEPHONE = { width: 390, height: 844 };
const BUREAU = { width: 1280, height: 900 };
const SUFFIXE = randomUUID().slice(0, 8);
const slug = (nom) => `essai-${nom}-${SUFFIXE}`;
const A = slug('a');
const B = slug('b');

const INTRO_A = 'Bienvenue dans la campagne A.\n\nLe guide : https://example.org/guide?x=1. Merci !\n'
  + '<img src=x onerror=alert(1)> et javascript:alert(2)';

// Une campagne et deux créneaux ; ouverture, fermeture : expressions SQL (NULL : sans date).
function creerCampagne(nom, { titre, introduction = '', ouverture = 'NULL', fermeture = 'NULL', grace = "interval '0'" }) {
  const s = slug(nom);
  const id = sql(`INSERT INTO campagnes (slug, titre, introduction, etat, ouverture, fermeture, delai_grace)
    VALUES (:'slug', :'titre', :'intro', 'ouverte', ${ouverture}, ${fermeture}, ${grace}) RETURNING id`,
  { slug: s, titre, intro: introduction });
  sql(`INSERT INTO creneaux (id, starts_at, ends_at, label, campagne_id, position) VALUES
    (:'slug' || '-1', '2030-06-03 09:00+02', '2030-06-03 12:00+02', 'Lundi matin', :'id', 1),
    (:'slug' || '-2', '2030-06-03 14:00+02', '2030-06-03 17:00+02', 'Lundi après-midi', :'id', 2)`, { slug: s, id });
  return { slug: s, id };
}

const ouverts = [];
async function navigateur(options) {
  const c = await lancer(options);
  ouverts.push(c);
  return c;
}

before(() => {
  // Un lancement interrompu a pu laisser des campagnes d'essai ouvertes.
  sql("UPDATE campagnes SET etat = 'archivee' WHERE slug LIKE 'essai-%' AND etat <> 'archivee'");
  creerCampagne('a', { titre: 'Campagne A — printemps', introduction: INTRO_A, fermeture: "now() + interval '30 days'" });
  creerCampagne('b', { titre: 'Campagne B', introduction: 'Deuxième campagne.' });
});

after(async () => {
  for (const c of ouverts) await c.close().catch(() => {});
  sql("UPDATE campagnes SET etat = 'archivee' WHERE slug LIKE 'essai-%' AND etat <> 'archivee'");
});

test('nginx : /c/<slug>/ sert la page avec les en-têtes de sécurité ; rien d’autre sous /c/', { timeout: plafond(30000) }, async () => {
  const page = await fetch(`${BASE}/c/${A}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<script type="module" src="\/app.js">/);
  assert.match(page.headers.get('content-security-policy'), /default-src 'self'/);
  assert.equal(page.headers.get('x-frame-options'), 'DENY');
  assert.equal(page.headers.get('cache-control'), 'no-cache');
  for (const chemin of [`/c/${A}/app.js`, `/c/${A}/index.html`, '/c/MAJ/', `/c/${'x'.repeat(65)}/`, '/c/']) {
    assert.equal((await fetch(BASE + chemin)).status, 404, chemin);
  }
  const sansBarre = await fetch(`${BASE}/c/${A}`, { redirect: 'manual' });
  assert.equal(sansBarre.status, 301);
  assert.equal(sansBarre.headers.get('location'), `/c/${A}/`);
});

test('/c/<slug>/ : titre et introduction de la campagne, en texte, lien construit', { timeout: plafond(60000) }, async () => {
  const contexte = await navigateur();
  let dialogue = false;
  contexte.on('dialog', (d) => {
    dialogue = true;
    d.dismiss().catch(() => {});
  });
  const page = await ouvrir(contexte, `/c/${A}/`);
  await attendreTexte(page, '#titre', 'Campagne A — printemps');
  assert.equal(await page.title(), 'Campagne A — printemps');
  const paragraphes = await page.locator('#intro p').allTextContents();
  assert.equal(paragraphes.length, 2, JSON.stringify(paragraphes));
  assert.equal(paragraphes[0], 'Bienvenue dans la campagne A.');
  assert.match(paragraphes[1], /<img src=x onerror=alert\(1\)> et javascript:alert\(2\)$/);
  assert.equal(await page.locator('#intro img').count(), 0, 'pas de HTML injecté');
  const liens = await page.locator('#intro a').evaluateAll((as) => as.map((a) => [a.getAttribute('href'), a.textContent]));
  assert.deepEqual(liens, [['https://example.org/guide?x=1', 'https://example.org/guide?x=1']], 'un seul lien, sans le point final');
  assert.match(await texte(page, '#echeance'), /Réponses acceptées jusqu’au \S+ \d+/);
  // Les créneaux de cette campagne seulement.
  const ids = await page.locator('#liste-creneaux input[name="creneaux"]').evaluateAll((l) => l.map((i) => i.value));
  assert.deepEqual(ids, [`${A}-1`, `${A}-2`]);
  assert.equal(await page.locator('#formulaire').isVisible(), true);
  await capture(page, 'campagne-page-bureau', { taille: BUREAU });
  await capture(page, 'campagne-page-telephone', { taille: TELEPHONE });
  assert.equal(dialogue, false);
  assert.deepEqual(contexte.erreurs, []);
});

test('/ liste les campagnes ouvertes ; un lien mène au formulaire', { timeout: plafond(60000) }, async () => {
  const contexte = await navigateur();
  const page = await ouvrir(contexte, '/');
  await attendreVisible(page, '#campagnes');
  assert.equal(await texte(page, 'h1'), 'Campagnes ouvertes');
  assert.equal(await page.locator('#formulaire').isVisible(), false);
  const a = page.locator(`li[data-slug="${A}"]`);
  assert.equal(await a.locator('a').getAttribute('href'), `/c/${A}/`);
  assert.equal(await a.locator('a').textContent(), 'Campagne A — printemps');
  assert.match(await a.locator('p').textContent(), /^Réponses jusqu’au /);
  assert.equal(await page.locator(`li[data-slug="${B}"] a`).textContent(), 'Campagne B');
  assert.equal(await page.locator(`li[data-slug="${B}"] p`).textContent(), 'Sans date de clôture');
  await capture(page, 'campagnes-liste-bureau', { taille: BUREAU });
  await capture(page, 'campagnes-liste-telephone', { taille: TELEPHONE });
  await a.locator('a').click();
  await page.waitForURL(`${BASE}/c/${A}/`);
  await pret(page);
  await attendreTexte(page, '#titre', 'Campagne A');
});

test('le brouillon de /c/a/ n’apparaît pas dans /c/b/ ; une réponse arrive dans sa campagne', { timeout: plafond(90000) }, async () => {
  const contexte = await navigateur();
  const vues = espion(contexte);
  const page = await ouvrir(contexte, `/c/${A}/`);
  await page.fill('#nom', 'Brouillon de A');
  await attendreTexte(page, '#etat-brouillon', 'Brouillon enregistré');
  const cles = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('fiable.brouillon')));
  assert.deepEqual(cles, [`fiable.brouillon.${A}`]);

  const b = await contexte.newPage();
  await b.goto(`${BASE}/c/${B}/`);
  await pret(b);
  await attendreTexte(b, '#titre', 'Campagne B');
  assert.equal(await b.inputValue('#nom'), '', 'pas le brouillon de A');
  assert.equal(await b.locator(`#liste-creneaux input[value="${A}-1"]`).count(), 0);
  await b.close();

  await page.reload();
  await pret(page);
  assert.equal(await page.inputValue('#nom'), 'Brouillon de A', 'le brouillon de A reste dans A');
  const saisie = await remplir(page, { nom: 'Réponse de A', creneaux: [1] });
  await page.click('#envoyer');
  await attendreVisible(page, '#merci');
  const soumis = vues.filter((v) => v.url === '/api/submit');
  assert.equal(JSON.parse(soumis.at(-1).corps).campagne, A, 'le corps nomme sa campagne');
  assert.match(await page.inputValue('#lien-modification'), new RegExp(`/c/${A}/#edit=[A-Za-z0-9_-]{16,}$`));
  const id = sql('SELECT campagne_id FROM soumissions_disponibilites WHERE lower(email) = lower(:\'email\')', { email: saisie.email });
  assert.equal(id, sql('SELECT id FROM campagnes WHERE slug = :\'s\'', { s: A }));
  assert.deepEqual(reponsesPour(saisie.email)[0].creneaux, [`${A}-2`]);
  assert.equal(await page.evaluate((s) => localStorage.getItem(`fiable.brouillon.${s}`), A), null, 'brouillon effacé après l’envoi');
});

test('un envoi en file de A ne part pas depuis B ; / le signale ; il part depuis A ; B s’ouvre hors ligne', { timeout: plafond(90000) }, async () => {
  const contexte = await navigateur();
  const vues = espion(contexte);
  const a = await ouvrir(contexte, `/c/${A}/`);
  await coquilleGardee(a);
  await contexte.setOffline(true);
  const saisie = await remplir(a, { nom: 'En file pour A', creneaux: [0] });
  await a.click('#envoyer');
  await attendreTexte(a, '#statut', 'Mise en file d’attente');
  await a.close();

  // B, hors ligne, jamais ouverte dans ce navigateur : la page vient du service worker.
  const b = await contexte.newPage();
  await b.goto(`${BASE}/c/${B}/`);
  await pret(b);
  assert.equal(await compteurFile(b), 0, 'la file de B est vide');
  assert.equal(await b.locator('#file').isVisible(), false);
  await contexte.setOffline(false);
  await attendreTexte(b, '#titre', 'Campagne B');
  assert.equal(vues.filter((v) => v.url === '/api/submit' && !v.echec).length, 0, 'rien n’est parti depuis B');

  await b.goto(`${BASE}/`);
  await attendreVisible(b, '#campagnes');
  assert.match(await texte(b, `li[data-slug="${A}"] .en-file`), /^Une réponse de ce navigateur y attend/);
  assert.equal(await b.locator(`li[data-slug="${B}"] .en-file`).count(), 0);
  await b.locator(`li[data-slug="${A}"] a`).click();
  await b.waitForURL(`${BASE}/c/${A}/`);
  await attendreVisible(b, '#merci', 20000);
  const lignes = reponsesPour(saisie.email);
  assert.equal(lignes.length, 1);
  assert.equal(sql("SELECT slug FROM campagnes WHERE id = (SELECT campagne_id FROM soumissions_disponibilites WHERE id = :'id')", { id: String(lignes[0].id) }), A);
});

test('ancien lien de modification /#edit=… : la réponse s’ouvre dans le formulaire de sa campagne', { timeout: plafond(60000) }, async () => {
  const corps = { email: emailUnique('lien'), nom: 'Lien vers B', creneaux: [`${B}-1`], commentaire: '', campagne: B };
  const r = await api('POST', '/api/submit', { corps, cle: randomUUID() });
  assert.equal(r.status, 201, JSON.stringify(r.donnees));
  const contexte = await navigateur();
  const page = await ouvrir(contexte, `/#edit=${r.donnees.edit_token}`);
  await attendreVisible(page, '#compte');
  assert.equal(page.url(), `${BASE}/c/${B}/`, 'la campagne de la réponse, sans le jeton dans l’adresse');
  assert.equal(await texte(page, '#titre'), 'Campagne B');
  assert.equal(await page.inputValue('#nom'), 'Lien vers B');
  assert.equal(await page.locator(`#creneau-${B}-1`).isChecked(), true);
  assert.equal(JSON.parse(await page.evaluate((s) => localStorage.getItem(`fiable.compte.${s}`), B)).jeton, r.donnees.edit_token);
});

test('avant l’ouverture, après la clôture, adresse inconnue : pas de formulaire, la page le dit', { timeout: plafond(60000) }, async () => {
  const avant = creerCampagne('avant', { titre: 'Campagne à venir', ouverture: "timestamp '2030-03-30 09:00' AT TIME ZONE 'Europe/Brussels'" });
  const close = creerCampagne('close', { titre: 'Campagne close', ouverture: "now() - interval '10 days'", fermeture: "now() - interval '1 day'" });
  const contexte = await navigateur();
  const page = await ouvrir(contexte, `/c/${avant.slug}/`);
  await attendreVisible(page, '#phase');
  assert.equal(await texte(page, '#titre-phase'), 'Ce formulaire n’est pas encore ouvert');
  assert.equal(await texte(page, '#phase-texte'), 'Il ouvrira le samedi 30 mars 2030 à 09:00 (heure de Europe/Brussels).');
  assert.equal(await page.locator('#formulaire').isVisible(), false);
  await capture(page, 'campagne-a-venir-telephone', { taille: TELEPHONE });

  await page.goto(`${BASE}/c/${close.slug}/`);
  await pret(page);
  await attendreVisible(page, '#phase');
  assert.equal(await texte(page, '#titre-phase'), 'Cette campagne est close');
  assert.match(await texte(page, '#phase-texte'), /^Elle est close depuis le \S+ \d+(?:er)? \S+ \d{4} à \d\d:\d\d : les nouvelles réponses ne sont plus acceptées\.$/);
  assert.equal(await page.locator('#formulaire').isVisible(), false);
  await capture(page, 'campagne-close-bureau', { taille: BUREAU });

  await page.goto(`${BASE}/c/inconnue-${SUFFIXE}/`);
  await pret(page);
  await attendreTexte(page, '#titre', 'Formulaire introuvable');
  assert.equal(await page.locator('#formulaire').isVisible(), false);
  assert.deepEqual(contexte.erreurs, []);
});

test('la page ouverte avant l’ouverture propose le formulaire à l’heure dite', { timeout: plafond(60000) }, async () => {
  // L'ouverture laisse à la page le temps de se charger avant elle, sur une machine chargée
  // aussi (FIABLE_TEST_SLOWDOWN) : sinon le formulaire serait montré d'emblée.
  const delai = plafond(8);
  const bientot = creerCampagne('bientot', { titre: 'Campagne imminente', ouverture: `now() + interval '${delai} seconds'` });
  const contexte = await navigateur();
  const page = await ouvrir(contexte, `/c/${bientot.slug}/`);
  await attendreTexte(page, '#titre-phase', 'pas encore ouvert');
  assert.equal(await page.locator('#formulaire').isVisible(), false);
  await attendreVisible(page, '#formulaire', 20000 + delai * 1000);
  assert.equal(await page.locator('#phase').isVisible(), false);
  assert.equal(await page.locator('#liste-creneaux input[name="creneaux"]').count(), 2);
});

test('délai de grâce : la page le dit et accepte encore la réponse, signalée en retard', { timeout: plafond(60000) }, async () => {
  const g = creerCampagne('grace', { titre: 'Campagne en retard', fermeture: "now() - interval '1 minute'", grace: "interval '2 hours'" });
  const contexte = await navigateur();
  const page = await ouvrir(contexte, `/c/${g.slug}/`);
  await attendreVisible(page, '#phase');
  assert.equal(await texte(page, '#titre-phase'), 'Le délai est dépassé');
  assert.match(await texte(page, '#phase-texte'), /^La campagne est close depuis le .+, mais les réponses sont encore acceptées jusqu’au .+ à \d\d:\d\d \(elles sont signalées en retard\)\.$/);
  const saisie = await remplir(page, { nom: 'En Retard', creneaux: [0] });
  await page.click('#envoyer');
  await attendreVisible(page, '#merci');
  assert.equal(sql("SELECT en_retard::text FROM soumissions_disponibilites WHERE lower(email) = lower(:'e') AND campagne_id = :'id'", { e: saisie.email, id: g.id }), 'true');
});

test('réponse en file refusée après la clôture : montrée refusée, avec son contenu, à copier', { timeout: plafond(120000) }, async () => {
  const f = creerCampagne('file', { titre: 'Campagne qui ferme', fermeture: "now() + interval '1 hour'" });
  const contexte = await navigateur();
  await contexte.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
  const vues = espion(contexte);
  const page = await ouvrir(contexte, `/c/${f.slug}/`);
  await coquilleGardee(page);

  await contexte.setOffline(true);
  await attendreHorsLigne(page);
  const email = emailUnique('refus');
  await remplir(page, { nom: 'Camille Retard', email, creneaux: [0, 1], commentaire: 'Je peux aussi le mardi.' });
  await page.click('#envoyer');
  await attendreTexte(page, '#statut', 'Mise en file d’attente');
  assert.equal(await compteurFile(page), 1);

  sql("UPDATE campagnes SET fermeture = now() - interval '1 minute' WHERE id = :'id'", { id: f.id });
  await contexte.setOffline(false);
  const item = page.locator('#file-liste li[data-etat="refuse"]');
  await item.waitFor({ timeout: plafond(20000) });
  assert.match(await item.locator('.etat-refus').textContent(), /^Refusée : la campagne est close$/);
  const contenu = (await item.locator('dl.contenu').textContent()).replace(/\s+/g, ' ');
  for (const attendu of ['Camille Retard', email, 'Lundi matin', 'Lundi après-midi', 'Je peux aussi le mardi.']) {
    assert.ok(contenu.includes(attendu), `${attendu} dans « ${contenu} »`);
  }
  assert.equal(await compteurFile(page), 0, 'plus rien à envoyer');
  assert.equal(reponsesPour(email).length, 0, 'rien d’enregistré');
  await attendreVisible(page, '#phase');
  assert.equal(await texte(page, '#titre-phase'), 'Cette campagne est close');
  assert.equal(await page.locator('#formulaire').isVisible(), false);

  await item.locator('button[data-action="copier"]').click();
  await attendreTexte(page, '#statut', 'est copié');
  const copie = await page.evaluate(() => navigator.clipboard.readText());
  assert.match(copie, /^Nom : Camille Retard\nE-mail : \S+\nCréneaux :\n- .*Lundi matin\n- .*Lundi après-midi\nCommentaire : Je peux aussi le mardi\.$/);
  await capture(page, 'campagne-refusee-bureau', { taille: BUREAU });
  await capture(page, 'campagne-refusee-telephone', { taille: TELEPHONE });

  // Presse-papiers refusé : le contenu est sélectionné dans une zone de texte.
  await page.evaluate(() => { navigator.clipboard.writeText = () => Promise.reject(new DOMException('refusé', 'NotAllowedError')); });
  await item.locator('button[data-action="copier"]').click();
  await attendreVisible(page, '#file-liste textarea.copie');
  const selection = await page.evaluate(() => {
    const z = document.activeElement;
    return z?.tagName === 'TEXTAREA' ? [z.selectionStart, z.selectionEnd, z.value.length, z.value] : null;
  });
  assert.ok(selection, 'la zone de texte a le focus');
  assert.equal(selection[0], 0);
  assert.equal(selection[1], selection[2], 'tout le contenu est sélectionné');
  assert.equal(selection[3], copie);

  // Gardé au rechargement, et pas renvoyé.
  const envoisAvant = vues.filter((v) => v.url === '/api/submit').length;
  await page.reload();
  await pret(page);
  await item.waitFor();
  await page.waitForFunction(() => !document.querySelector('#file-liste li[data-etat="envoi"]'));
  assert.equal(vues.filter((v) => v.url === '/api/submit').length, envoisAvant, 'un envoi refusé ne repart pas');

  // Retiré de la file par la personne, après confirmation.
  await item.locator('button[data-action="supprimer"]').click();
  await item.locator('button[data-action="supprimer-oui"]').click();
  await page.waitForFunction(() => !document.querySelector('#file-liste li'));
  assert.equal(await page.locator('#file').isVisible(), false);
  assert.equal(await page.evaluate(() => new Promise((ok) => {
    const r = indexedDB.open('fiable');
    r.onsuccess = () => { r.result.transaction('envois').objectStore('envois').count().onsuccess = (e) => ok(e.target.result); };
  })), 0);
  assert.deepEqual(contexte.erreurs, []);
});

test('anciennes clés (page d’avant les campagnes) : reprises par la première campagne', { timeout: plafond(60000) }, async () => {
  const premiere = sql('SELECT slug FROM campagnes WHERE id = campagne_par_defaut()');
  const contexte = await navigateur();
  const page = await ouvrir(contexte, `/c/${B}/`);
  await page.evaluate(() => {
    localStorage.clear();
    localStorage.setItem('fiable.brouillon', JSON.stringify({ format: 1, le: Date.now(), base: null, champs: { nom: 'Ancien brouillon', email: '', creneaux: [], commentaire: '' } }));
  });
  // Ouverte dans une autre campagne : le brouillon n'y vient pas (mais il est rattaché).
  await page.reload();
  await pret(page);
  assert.equal(await page.inputValue('#nom'), '');
  const cles = await page.evaluate(() => Object.keys(localStorage).sort());
  assert.ok(cles.includes(`fiable.brouillon.${premiere}`), cles.join(' '));
  assert.ok(!cles.includes('fiable.brouillon'), 'l’ancienne clé est effacée');
  await page.goto(`${BASE}/c/${premiere}/`);
  await pret(page);
  assert.equal(await page.inputValue('#nom'), 'Ancien brouillon');
});

test('un créneau coché que l’organisation modifie, puis retire : l’historique de la réponse le dit', { timeout: plafond(60000) }, async () => {
  const c = creerCampagne('histoire', { titre: 'Campagne modifiée' });
  const corps = { email: emailUnique('histoire'), nom: 'Histoire', creneaux: [`${c.slug}-1`, `${c.slug}-2`], commentaire: '', campagne: c.slug };
  const r = await api('POST', '/api/submit', { corps, cle: randomUUID() });
  assert.equal(r.status, 201, JSON.stringify(r.donnees));
  // L'organisation avance le premier créneau d'une heure et le renomme, retire le second
  // (audités par les déclencheurs de sql/0014, comme une écriture de fiable-campaigns).
  sql("UPDATE creneaux SET label = 'Lundi tôt', starts_at = '2030-06-03 08:00+02' WHERE id = :'id'", { id: `${c.slug}-1` });
  sql("UPDATE creneaux SET retire_at = now() WHERE id = :'id'", { id: `${c.slug}-2` });
  const contexte = await navigateur();
  const page = await ouvrir(contexte, `/c/${c.slug}/#edit=${r.donnees.edit_token}`);
  await attendreVisible(page, '#compte');
  await page.click('#bouton-historique');
  await attendreVisible(page, '#historique-creneaux');
  const lignes = await texte(page, '#historique-creneaux');
  assert.match(lignes, /Le créneau « [^»]*09:00 – 12:00, Lundi matin » a été modifié par l’organisation le .+ : [^»]*08:00 – 12:00, Lundi tôt\./, lignes);
  // Le créneau retiré garde son nom (et le dit) dans le contenu des versions.
  assert.match(await texte(page, '#historique-liste'), /Lundi après-midi \(retiré par l’organisation\)/);
  // Et dans le formulaire : encore coché, nommé, sous « Créneaux qui ne sont plus proposés ».
  assert.match(await texte(page, '#creneaux-autres'), /Lundi après-midi \(retiré par l’organisation\)/);
  assert.equal(await page.locator(`#creneau-${c.slug}-2`).isChecked(), true);
  await capture(page, 'campagne-historique-creneaux');
});

test('aucune campagne ouverte : / le dit, sans formulaire', { timeout: plafond(60000) }, async () => {
  const premiere = sql('SELECT id FROM campagnes WHERE id = campagne_par_defaut()');
  const ouvertes = sql("SELECT coalesce(string_agg(id::text, ','), '') FROM campagnes WHERE etat = 'ouverte'");
  try {
    sql("UPDATE campagnes SET etat = 'close' WHERE etat = 'ouverte'");
    const contexte = await navigateur();
    const page = await ouvrir(contexte, '/');
    await attendreVisible(page, '#campagnes');
    assert.equal(await texte(page, 'h1'), 'Aucune campagne ouverte');
    assert.match(await texte(page, '#campagnes'), /^Aucune campagne n’est ouverte pour le moment\./);
    assert.equal(await page.locator('#formulaire').isVisible(), false);
    await capture(page, 'campagnes-aucune-telephone', { taille: TELEPHONE });
  } finally {
    // Les autres tests retrouvent la première campagne ouverte (les essais sont archivés après).
    if (ouvertes) sql(`UPDATE campagnes SET etat = 'ouverte' WHERE id IN (${ouvertes.split(',').map(Number).join(',')})`);
    assert.equal(sql("SELECT etat FROM campagnes WHERE id = :'id'", { id: premiere }), 'ouverte');
  }
});
