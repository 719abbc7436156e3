// Deux onglets d'un même navigateur partagent une réponse en file d'attente ; le serveur est
// arrêté (base de données) puis relancé : chaque onglet finit dans l'état final de l'envoi
// (confirmation, lien de modification, file vide, aucun message d'attente, brouillon effacé),
// quel que soit celui qui a envoyé, et la réponse est enregistrée une fois. Dix fois de suite :
// la faute (l'onglet qui n'a pas envoyé garde l'ancien état) ne se voyait pas à chaque fois.
// N'utilise que les méthodes de page que le lanceur commun fournit aussi pour Firefox et WebKit.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { dev, emailUnique, lancer, ouvrir, plafond, reponsesPour } from './aide.mjs';

const ouverts = [];
after(async () => {
  for (const c of ouverts) await c.close().catch(() => {});
});

const TOURS = Number(process.env.TOURS || 10);

// Ce que l'onglet montre, lu dans la page ; attendre : rend null tant que l'état final n'est pas
// atteint (fonction autonome : la CSP de la page interdit d'évaluer une chaîne).
const etatFinal = (attendre) => {
  const $ = (id) => document.getElementById(id);
  const e = {
    merci: !$('merci').hidden,
    lien: $('lien-modification').value,
    file: $('compteur-file').dataset.nombre,
    statut: $('statut').dataset.type || '',
    texteStatut: $('statut').textContent,
    formulaire: !$('formulaire').hidden,
    brouillon: $('etat-brouillon').textContent,
  };
  const fini = e.merci && /#edit=/.test(e.lien) && e.file === '0' && e.statut !== 'attente' && !e.formulaire
    && !/Brouillon enregistré/.test(e.brouillon);
  return !attendre || fini ? e : null;
};

async function attendreFin(page, nom) {
  try {
    await page.waitForFunction(etatFinal, true, { timeout: plafond(30000) });
  } catch (err) {
    throw new Error(`${nom} n'a pas fini dans l'état final : ${JSON.stringify(await page.evaluate(etatFinal, false))} (${err.message})`);
  }
}

async function remplirCreneaux(page, { nom, email }) {
  await page.fill('#nom', nom);
  await page.fill('#email', email);
  await page.locator('#liste-creneaux input[name="creneaux"]').nth(0).click();
  await page.locator('#liste-creneaux input[name="creneaux"]').nth(2).click();
}

test(`deux onglets, une réponse en file, base arrêtée puis relancée : chaque onglet confirme (${TOURS} fois)`, { timeout: plafond(TOURS * 60000) }, async (t) => {
  let arretee = false;
  t.after(() => {
    if (arretee) dev('db-start');
  });
  const contexte = await lancer();
  ouverts.push(contexte);
  const a = await ouvrir(contexte);
  const b = await contexte.newPage();
  for (let tour = 1; tour <= TOURS; tour += 1) {
    // Chaque tour repart d'un navigateur qui ne garde aucune réponse (le lien du tour
    // précédent oublié), ses deux onglets rechargés.
    await a.evaluate(() => localStorage.clear());
    for (const p of [a, b]) {
      await p.goto(a.url());
      await p.waitForFunction(() => document.documentElement.dataset.pret === '1', null, { timeout: plafond(15000) });
    }
    // Un tour sur deux, c'est l'autre onglet qui remplit le formulaire.
    const [saisit, autre] = tour % 2 ? [a, b] : [b, a];
    const email = emailUnique('onglets');
    await remplirCreneaux(saisit, { nom: `Onglets ${tour}`, email });
    dev('db-stop', 'fast');
    arretee = true;
    await saisit.click('#envoyer');
    for (const p of [saisit, autre]) {
      await p.waitForFunction(() => document.getElementById('compteur-file').dataset.nombre === '1', null, { timeout: plafond(20000) });
    }
    dev('db-start');
    arretee = false;
    // L'onglet qui n'a pas saisi envoie lui-même, tout de suite (les deux onglets essaient ;
    // le verrou de la file n'en laisse passer qu'un) : c'est le cas où l'autre, celui qui a
    // saisi, doit tout apprendre par le message.
    await autre.evaluate(() => import('/file.js').then((f) => f.traiter({ force: true })));
    await attendreFin(saisit, `tour ${tour}, onglet qui a saisi`);
    await attendreFin(autre, `tour ${tour}, autre onglet`);
    assert.equal(await a.inputValue('#lien-modification'), await b.inputValue('#lien-modification'), 'le même lien dans les deux onglets');
    // La pile de test a un serveur SMTP : la confirmation dit qu'un accusé de réception part.
    for (const p of [a, b]) assert.match(await p.textContent('#merci-qui'), new RegExp(`^Réponse de Onglets ${tour} \\(${email}\\)\\. Un accusé de réception est envoyé à ${email}\\.$`));
    assert.equal(reponsesPour(email).length, 1, `tour ${tour} : enregistrée une fois`);
  }
});
