// /admin/ : disponibilités par créneau (les meilleurs d'abord), recherche dans les réponses,
// historique d'une réponse, restauration d'une version et annulation d'un retrait,
// téléchargement du tableau CSV ; sans identifiants, nginx refuse (401).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { randomUUID } from 'node:crypto';

import {
  adminJson, arreter, BASE, capture, creneaux, demarrer, modifier, ouvrir, page, retirer,
  soumettre, TELEPHONE,
} from './outils.mjs';

const marque = randomUUID().slice(0, 8);
let ids;
let modifiee;
let retiree;

before(async () => {
  await demarrer();
  ids = await creneaux();
  // Le premier créneau devient le plus demandé : trois personnes de plus que les autres.
  for (let i = 0; i < 3; i += 1) {
    await soumettre({ nom: `Renfort ${marque} ${i}`, creneaux: [ids[0]] });
  }
  const r = await soumettre({ nom: `Camille ${marque}`, creneaux: [ids[0], ids[1]], commentaire: 'Le matin.' });
  const v2 = await modifier(r, { creneaux: [ids[2]], commentaire: 'Finalement l\'après-midi.' }, 1);
  modifiee = await modifier({ ...v2, edit_token: r.edit_token }, { nom: `Camille Durand ${marque}` }, 2);
  const s = await soumettre({ nom: `Sacha ${marque}`, creneaux: [ids[1]] });
  retiree = await retirer(s, 1);
});

after(arreter);

test('sans identifiants, nginx refuse la page et l\'API', async () => {
  for (const chemin of ['/admin/', '/admin/admin.js', '/api/admin/submissions', '/api/admin/submissions.csv']) {
    const reponse = await fetch(BASE + chemin);
    assert.equal(reponse.status, 401, chemin);
    assert.match(reponse.headers.get('www-authenticate') || '', /^Basic realm=/, chemin);
  }
});

test('disponibilités par créneau, les meilleures d\'abord', async () => {
  const p = await page();
  await ouvrir(p, '/admin/');
  const donnees = await adminJson('/api/admin/submissions');
  const attendu = [...donnees.creneaux]
    .sort((a, b) => b.disponibles - a.disponibles || a.debut.localeCompare(b.debut));
  const affiche = await p.$$eval('#creneaux li', (lis) => lis.map((li) => ({
    id: li.dataset.creneau, compte: li.querySelector('.compte').textContent,
  })));
  assert.deepEqual(affiche.map((c) => c.id), attendu.map((c) => c.id));
  assert.match(affiche[0].compte, new RegExp(`^${attendu[0].disponibles} / ${donnees.actives}`));
  assert.equal(await p.getAttribute('#creneaux li:first-child', 'class'), 'meilleur');
  await capture(p, 'apercu');

  await p.click('#tri-chronologique');
  const chronologique = await p.$$eval('#creneaux li', (lis) => lis.map((li) => li.dataset.creneau));
  assert.deepEqual(chronologique, donnees.creneaux.map((c) => c.id));
  assert.equal(await p.getAttribute('#tri-chronologique', 'aria-pressed'), 'true');
  assert.deepEqual(p.erreurs, []);
  await p.context().close();
});

test('recherche, historique et restauration d\'une version', async () => {
  const p = await page();
  await ouvrir(p, '/admin/');
  await p.fill('#recherche', `durand ${marque}`);
  const lignes = p.locator('#reponses tbody tr[data-id]');
  await assert.doesNotReject(() => lignes.first().waitFor());
  assert.equal(await lignes.count(), 1);
  assert.equal(await lignes.first().getAttribute('data-id'), String(modifiee.id));
  assert.match(await p.textContent('#compte-resultats'), /^1 réponse\(s\) sur \d+ correspondent/);

  // Sans accents ni majuscules : « CAMILLE » trouve aussi la réponse.
  await p.fill('#recherche', `CAMILLE DURAND ${marque}`);
  assert.equal(await lignes.count(), 1);

  await lignes.first().locator('button.historique').click();
  const detail = p.locator(`tr[data-detail="${modifiee.id}"]`);
  await detail.locator('.versions li[data-version="1"]').waitFor();
  assert.equal(await detail.locator('.versions > li').count(), 3);
  assert.match(await detail.locator('li[data-version="3"]').textContent(), /Actuelle/);
  assert.match(await detail.locator('li[data-version="3"]').textContent(), /Nom : Camille .* → Camille Durand/);
  assert.match(await detail.locator('li[data-version="2"]').textContent(), /Créneaux : \+ .*− /);
  assert.doesNotMatch(await detail.locator('li[data-version="3"]').textContent(), /Créneaux/);
  await capture(p, 'historique');

  await detail.locator('li[data-version="1"] button.restaurer').click();
  await p.waitForFunction(() => document.querySelector('#message').dataset.type === 'succes');
  assert.match(await p.textContent('#message'), /version 4/);
  const apres = await adminJson(`/api/admin/submissions/${modifiee.id}`);
  assert.equal(apres.version, 4);
  assert.deepEqual(apres.creneaux, [ids[0], ids[1]]);
  assert.equal(apres.commentaire, 'Le matin.');
  // La version 1 reprend l'ancien nom : la recherche sur « Durand » ne la trouve plus ; sur
  // la marque du test, l'historique (resté déplié) montre la nouvelle version.
  await p.fill('#recherche', marque);
  await detail.locator('li[data-version="4"]').waitFor();
  assert.match(await detail.locator('li[data-version="4"]').textContent(), /Actuelle/);
  assert.deepEqual(p.erreurs, []);
  await p.context().close();
});

test('annuler le retrait d\'une réponse retirée', async () => {
  const p = await page();
  await ouvrir(p, '/admin/');
  await p.fill('#recherche', `sacha ${marque}`);
  assert.equal(await p.locator('#reponses tbody tr[data-id]').count(), 0, 'une réponse retirée est cachée');
  await p.check('#voir-retirees');
  const ligne = p.locator(`#reponses tbody tr[data-id="${retiree.id}"]`);
  assert.match(await ligne.textContent(), /Retirée/);
  await ligne.locator('button.historique').click();
  await p.locator(`tr[data-detail="${retiree.id}"] button.annuler-retrait`).click();
  await p.waitForFunction(() => document.querySelector('#message').dataset.type === 'succes');
  const apres = await adminJson(`/api/admin/submissions/${retiree.id}`);
  assert.equal(apres.deleted_at, null);
  await ligne.locator('text=Active').waitFor();
  assert.deepEqual(p.erreurs, []);
  await p.context().close();
});

test('téléchargement du tableau CSV', async () => {
  const p = await page();
  await ouvrir(p, '/admin/');
  const [telechargement] = await Promise.all([p.waitForEvent('download'), p.click('#csv')]);
  assert.match(telechargement.suggestedFilename(), /^disponibilites-\d{4}-\d{2}-\d{2}\.csv$/);
  const chemin = await telechargement.path();
  const { readFile } = await import('node:fs/promises');
  const octets = await readFile(chemin);
  assert.deepEqual([...octets.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
  const texte = octets.subarray(3).toString('utf8');
  assert.match(texte, /^"Nom";"E-mail";/);
  assert.ok(texte.includes(`"Renfort ${marque} 0"`));
  await p.context().close();
});

test('sur un téléphone', async () => {
  const p = await page({ taille: TELEPHONE });
  await ouvrir(p, '/admin/');
  const debordement = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(debordement <= 1, `la page déborde de ${debordement} px`);
  await capture(p, 'apercu-telephone');
  await p.context().close();
});
