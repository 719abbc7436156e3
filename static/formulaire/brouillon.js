// Le brouillon : la saisie écrite dans localStorage à chaque changement, reprise à l'ouverture.
import { dateLongue, heure } from '../commun/dates.js';
import { corpsDe, ecrireChamps, lireChamps } from './champs.js';
import { $, annoncer, CLE_BROUILLON, demanderPersistance, ecrireLocal, effacerLocal, etat, lireLocal } from './etat.js';

// Appelé à chaque changement, sans délai : une écriture coûte moins d'une milliseconde (voir
// tests/bench/form_bench.mjs), et un navigateur fermé juste après la frappe ne perd rien
// (à la fermeture, « pagehide » n'est pas garanti).
export function sauverBrouillon() {
  if (!etat.flags.autosave || etat.attente) return;
  const t0 = performance.now();
  const champs = lireChamps();
  if (!etat.base && !champs.nom.trim() && !champs.email.trim() && !champs.creneaux.length && !champs.commentaire.trim()) {
    effacerBrouillon();
    return;
  }
  if (!ecrireLocal(CLE_BROUILLON, { le: Date.now(), base: etat.base, champs })) {
    $('etat-brouillon').textContent = 'Brouillon non enregistré';
    $('etat-brouillon').dataset.erreur = '';
    return;
  }
  delete $('etat-brouillon').dataset.erreur;
  const t1 = performance.now();
  etat.dureeBrouillon = t1 - t0;
  performance.measure('fiable-brouillon', { start: t0, end: t1 });
  if (performance.getEntriesByName('fiable-brouillon').length > 500) performance.clearMeasures('fiable-brouillon');
  $('etat-brouillon').textContent = `Brouillon enregistré à ${heure(Date.now())}`;
  demanderPersistance();
}

export function effacerBrouillon() {
  effacerLocal(CLE_BROUILLON);
  etat.modifie = false;
  $('etat-brouillon').textContent = '';
}

// Après un envoi confirmé : le brouillon est effacé s'il contient ce qui est parti (un autre
// onglet a pu en écrire un autre entre-temps).
export function effacerBrouillonEnvoye(corps) {
  const b = lireLocal(CLE_BROUILLON);
  if (!b?.champs || JSON.stringify(corpsDe(b.champs)) === JSON.stringify(corpsDe(corps))) effacerBrouillon();
}

// Reprend le brouillon s'il porte sur ce qui est affiché (nouvelle réponse, ou la même).
export function reprendreBrouillon() {
  const b = etat.flags.autosave && lireLocal(CLE_BROUILLON);
  if (!b?.champs || (b.base?.id ?? null) !== (etat.base?.id ?? null)) return;
  ecrireChamps(b.champs);
  if (b.base) etat.base = b.base;
  etat.modifie = true;
  $('etat-brouillon').textContent = `Brouillon enregistré à ${heure(b.le)}`;
  annoncer(`Votre brouillon du ${dateLongue(b.le)} a été restauré${b.base ? ' (modifications pas encore envoyées)' : ''}.`);
}
