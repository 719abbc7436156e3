// /admin/, section « Fonctionnalités » (scénario 2 du retour arrière de docs/plan-de-deploiement.md) : un
// interrupteur par fonctionnalité, avec son libellé, son explication et son dernier
// changement ; la confirmation refusée ne change rien, acceptée elle désactive puis réactive,
// et le formulaire (/api/form) le voit aussitôt. Toutes les fonctionnalités sont remises en
// marche à la fin (la base est partagée par les suites).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { adminJson, arreter, AUTORISATION, BASE, capture, demarrer, ouvrir, page } from './outils.mjs';

const NOMS = ['autosave', 'email_links', 'modification', 'offline_queue'];

async function fonctionnalitesDuFormulaire() {
  const r = await fetch(`${BASE}/api/form`);
  assert.equal(r.status, 200);
  return (await r.json()).fonctionnalites;
}

async function toutRemettre() {
  for (const nom of NOMS) {
    const r = await fetch(`${BASE}/api/admin/fonctionnalites`, {
      method: 'PUT',
      headers: { Authorization: AUTORISATION, 'Content-Type': 'application/json' },
      body: JSON.stringify({ nom, active: true }),
    });
    assert.equal(r.status, 200, `remise en marche de ${nom}`);
  }
}

before(async () => {
  await demarrer();
  await toutRemettre();
});

after(async () => {
  await toutRemettre();
  await arreter();
});

test('un interrupteur par fonctionnalité, avec libellé, explication et dernier changement', async () => {
  const p = await page();
  await ouvrir(p, '/admin/');
  const lignes = await p.$$eval('#fonctionnalites li[data-fonctionnalite]', (lis) => lis.map((li) => ({
    nom: li.dataset.fonctionnalite,
    coche: li.querySelector('button[role="switch"]').getAttribute('aria-checked'),
    nomAccessible: document.getElementById(li.querySelector('button[role="switch"]')
      .getAttribute('aria-labelledby')).textContent,
    texte: li.textContent,
  })));
  assert.deepEqual(lignes.map((l) => l.nom), NOMS);
  for (const l of lignes) {
    assert.equal(l.coche, 'true', l.nom);
    assert.ok(l.nomAccessible.length > 5, l.nom);
    assert.match(l.texte, /Activée/, l.nom);
    assert.match(l.texte, /Désactivée :/, `${l.nom} : l'explication dit ce que fait la désactivation`);
    assert.match(l.texte, /(Dernier changement le|Jamais changée)/, l.nom);
  }
  assert.deepEqual(p.erreurs, []);
  await p.context().close();
});

test('confirmation refusée : rien ne change', async () => {
  const p = await page();
  p.removeAllListeners('dialog');
  p.on('dialog', (d) => d.dismiss());
  await ouvrir(p, '/admin/');
  await p.click('li[data-fonctionnalite="modification"] button[role="switch"]');
  assert.equal(await p.getAttribute('li[data-fonctionnalite="modification"] button[role="switch"]',
    'aria-checked'), 'true');
  assert.equal((await fonctionnalitesDuFormulaire()).modification, true);
  await p.context().close();
});

test('désactiver puis réactiver les liens par e-mail depuis la page', async () => {
  const p = await page();
  const questions = [];
  p.on('dialog', (d) => questions.push(d.message()));
  await ouvrir(p, '/admin/');
  const ligne = p.locator('li[data-fonctionnalite="email_links"]');
  const interrupteur = ligne.locator('button[role="switch"]');

  await interrupteur.click();
  await p.waitForFunction(() => document.querySelector('#message-fonctionnalites').dataset.type === 'succes');
  assert.match(questions[0], /^Désactiver « .+ » \?/);
  assert.match(await p.textContent('#message-fonctionnalites'), /désactivée \(inscrit au journal d'audit\)/);
  assert.equal(await interrupteur.getAttribute('aria-checked'), 'false');
  assert.match(await ligne.textContent(), /Désactivée/);
  assert.match(await ligne.textContent(), /par admin:admin/);
  assert.equal((await fonctionnalitesDuFormulaire()).email_links, false);
  const liste = await adminJson('/api/admin/fonctionnalites');
  assert.equal(liste.fonctionnalites.find((f) => f.nom === 'email_links').active, false);
  await capture(p, 'fonctionnalites');
  // La section seule, lisible (la page entière est très haute avec toutes les réponses).
  const dossier = path.join(process.env.FIABLE_BUILD || os.tmpdir(), 'screenshots');
  fs.mkdirSync(dossier, { recursive: true });
  await p.locator('section[aria-labelledby="titre-fonctionnalites"]')
    .screenshot({ path: path.join(dossier, 'admin-fonctionnalites-section.png') });

  await interrupteur.click();
  await p.waitForFunction(() => document.querySelector('#fonctionnalites li[data-fonctionnalite="email_links"] '
    + 'button[role="switch"]').getAttribute('aria-checked') === 'true');
  assert.match(questions[1], /^Activer « .+ » \?/);
  assert.equal((await fonctionnalitesDuFormulaire()).email_links, true);
  assert.deepEqual(p.erreurs, []);
  await p.context().close();
});
