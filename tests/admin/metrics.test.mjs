// /admin/metrics (test 5 de docs/plan-de-deploiement.md) : les tuiles des objectifs contre leurs cibles, les
// graphiques SVG, les alertes et les sauvegardes ; le choix de la période ; l'actualisation
// qui montre les nouvelles soumissions ; sans identifiants, nginx refuse (401).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  adminJson, arreter, BASE, capture, creneaux, demarrer, ouvrir, page, plafond, soumettre, TELEPHONE,
} from './outils.mjs';

let ids;

before(async () => {
  await demarrer();
  ids = await creneaux();
  await soumettre({ nom: 'Métriques Test', creneaux: [ids[0]] });
});

after(arreter);

test('sans identifiants, nginx refuse la page et l\'API', async () => {
  for (const chemin of ['/admin/metrics', '/admin/metrics.js', '/api/admin/metrics', '/api/admin/metrics/prometheus']) {
    const reponse = await fetch(BASE + chemin);
    assert.equal(reponse.status, 401, chemin);
  }
});

test('tuiles des objectifs, graphiques, alertes et sauvegardes', async () => {
  const p = await page();
  await ouvrir(p, '/admin/metrics');
  const donnees = await adminJson('/api/admin/metrics?window=24h');

  const tuiles = await p.$$eval('.tuile', (ts) => ts.map((t) => ({
    kpi: t.dataset.kpi, etat: t.dataset.etat, texte: t.textContent,
  })));
  assert.deepEqual(tuiles.map((t) => t.kpi), donnees.objectifs.map((o) => o.id));
  for (const [i, o] of donnees.objectifs.entries()) {
    const attendu = o.atteint === true ? 'atteint' : o.atteint === false ? 'manque' : 'inconnu';
    assert.equal(tuiles[i].etat, attendu, o.id);
    assert.match(tuiles[i].texte, /Objectif : /);
    assert.match(tuiles[i].texte, /Objectif atteint|Objectif non atteint|Pas de données/);
  }
  // La couleur suit le verdict (vert atteint, rouge manqué).
  const couleurs = await p.$$eval('.tuile[data-etat="atteint"], .tuile[data-etat="manque"]', (ts) =>
    ts.map((t) => [t.dataset.etat, getComputedStyle(t).borderLeftColor]));
  for (const [etat, couleur] of couleurs) {
    assert.equal(couleur, etat === 'atteint' ? 'rgb(23, 107, 44)' : 'rgb(176, 0, 32)');
  }

  for (const id of ['g-requetes', 'g-temps', 'g-file', 'g-jours']) {
    const svg = p.locator(`#${id} svg`);
    assert.equal(await svg.count(), 1, id);
    assert.ok((await svg.getAttribute('aria-label')).length > 5);
  }
  // Une barre par période où il y a eu des requêtes.
  const periodes = donnees.indicateurs.serie.filter((s) => s.requetes > 0).length;
  const barres = await p.locator('#g-requetes svg rect[fill="#0b5cad"]').count();
  assert.ok(Math.abs(barres - periodes) <= 1, `${barres} barres pour ${periodes} périodes`);
  assert.equal(await p.locator('#g-temps .cible-ligne').count(), 1);

  assert.ok(await p.locator('#alertes').textContent());
  assert.ok(await p.locator('#derniere-sauvegarde').textContent());
  // Les mots de passe d'administration refusés, tels que l'API les compte.
  const refus = await p.$$eval('#chiffres div', (ds) => ds.map((d) => [d.querySelector('dt').textContent, d.querySelector('dd').textContent])
    .find(([nom]) => nom === 'Mots de passe d\'administration refusés'));
  assert.ok(refus, 'la ligne des mots de passe refusés manque');
  assert.equal(Number(refus[1].replace(/\D/g, '')), donnees.indicateurs.echecs_authentification_admin);
  assert.match(await p.textContent('#actualise'), /^Actualisé à \d{2}:\d{2}:\d{2}/);
  assert.equal(await p.textContent('#message'), '');
  await capture(p, 'metrics');
  assert.deepEqual(p.erreurs, []);
  await p.context().close();
});

test('période et actualisation', async () => {
  const p = await page();
  await ouvrir(p, '/admin/metrics');
  const soumissions = async () => Number((await p.textContent('#chiffres div:nth-child(4) dd')).replace(/\D/g, ''));
  const avant = await soumissions();
  await soumettre({ nom: 'Actualisation Test', creneaux: [ids[1]] });
  await p.click('#actualiser');
  await p.waitForFunction((n) => Number(document.querySelector('#chiffres div:nth-child(4) dd')
    .textContent.replace(/\D/g, '')) > n, avant);
  assert.ok(await soumissions() >= avant + 1);

  const [reponse] = await Promise.all([
    p.waitForResponse((r) => r.url().includes('/api/admin/metrics?window=7d')),
    p.click('#fenetres button[data-fenetre="7d"]'),
  ]);
  assert.equal(reponse.status(), 200);
  assert.equal(await p.getAttribute('#fenetres button[data-fenetre="7d"]', 'aria-pressed'), 'true');
  assert.match(p.url(), /fenetre=7d/);
  await p.waitForFunction(() => document.querySelector('#actualise').textContent.startsWith('Actualisé'));
  await capture(p, 'metrics-7-jours');
  assert.deepEqual(p.erreurs, []);
  await p.context().close();
});

test('actualisation automatique', async () => {
  const p = await page();
  // Une minute, c'est long pour un test : l'horloge de la page avance plus vite.
  await p.addInitScript(() => {
    const origine = window.setInterval;
    window.setInterval = (f, ms, ...args) => origine(f, Math.min(ms, 500), ...args);
  });
  await ouvrir(p, '/admin/metrics');
  // Deux actualisations automatiques (toutes les 500 ms ici) : attendues, avec un plafond.
  let appels = 0;
  await new Promise((ok, ko) => {
    const fin = setTimeout(() => ko(new Error(`${appels} actualisation(s) automatique(s) en ${plafond(15000)} ms`)), plafond(15000));
    p.on('request', (r) => {
      if (r.url().includes('/api/admin/metrics?window=') && ++appels >= 2) {
        clearTimeout(fin);
        ok();
      }
    });
  });
  assert.ok(appels >= 2, `${appels} actualisation(s) automatique(s)`);
  await p.context().close();
});

test('sur un téléphone', async () => {
  const p = await page({ taille: TELEPHONE });
  await ouvrir(p, '/admin/metrics');
  const debordement = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(debordement <= 1, `la page déborde de ${debordement} px`);
  await capture(p, 'metrics-telephone');
  assert.deepEqual(p.erreurs, []);
  await p.context().close();
});
