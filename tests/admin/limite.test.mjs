// La limite de nginx sur /admin/ et /api/admin/ (une requête par seconde et par adresse, avec
// une rafale) laisse une vraie page d'administration se charger en entier, et un
// administrateur passer d'une page à l'autre sans attendre : le navigateur passe par un
// mandataire qui parle depuis 127.0.0.249 (la configuration de test exempte 127.0.0.1).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { arreter, demarrer, mandataire, ouvrir, page } from './outils.mjs';

const SOURCE = '127.0.0.249';
let m;

// La rafale de la zone administration, telle que nginx la lit.
function rafale() {
  const conf = fs.readFileSync(path.join(process.env.FIABLE_VAR, 'nginx', 'nginx.conf'), 'utf8');
  const valeurs = new Set([...conf.matchAll(/limit_req zone=administration burst=(\d+) nodelay;/g)].map((x) => Number(x[1])));
  assert.equal(valeurs.size, 1, 'une seule rafale pour la zone administration');
  return [...valeurs][0];
}

before(async () => {
  m = await mandataire(SOURCE);
  await demarrer({ mandataire: m });
});

after(async () => {
  await arreter();
  if (m) await m.fermer();
});

test('les deux pages, l\'une après l\'autre, sans aucun refus de la limite', async () => {
  const p = await page();
  for (const chemin of ['/admin/', '/admin/metrics', '/admin/']) {
    await ouvrir(p, chemin);
    // Un appel d'API refusé s'afficherait en message d'erreur.
    assert.equal(await p.locator('[data-type="erreur"]').count(), 0, chemin);
  }
  assert.deepEqual(p.erreurs, []);

  const administration = m.requetes.filter((r) => r.chemin.startsWith('/admin/') || r.chemin.startsWith('/api/admin/'));
  assert.ok(administration.length > 0, 'aucune requête n\'est passée par le mandataire');
  assert.deepEqual(m.requetes.filter((r) => r.statut === 429 || r.statut === 0), [],
    'des requêtes ont été refusées par la limite (ou perdues)');
  // Une page se charge dans la rafale, avec de la marge : une page qui demanderait beaucoup
  // plus de requêtes se heurterait à la limite chez un administrateur pressé.
  const parPage = administration.length / 3;
  const limite = rafale();
  console.log(`requêtes d'administration : ${administration.length} pour 3 pages (rafale : ${limite})`);
  assert.ok(parPage <= limite / 3, `${parPage.toFixed(1)} requêtes par page pour une rafale de ${limite}`);
});
