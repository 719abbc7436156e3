// L'historique des versions de la réponse de ce navigateur, avec « Restaurer ».
import { dateLongue } from '../commun/dates.js';
import { el } from '../commun/dom.js';
import { contenu } from './affichage.js';
import { decrireCreneau } from './catalogue.js';
import { $ } from './etat.js';

// Le contenu de chaque version, reconstruit depuis la version actuelle en remontant
// l'historique (chaque entrée donne, par champ modifié, la valeur avant et après).
function versions(rep) {
  const c = { ...rep };
  const h = rep.historique || [];
  const liste = [];
  for (let i = h.length; i >= 0; i--) {
    liste.push({ version: i ? h[i - 1].nouvelle_version : 1, contenu: { ...c }, le: i ? h[i - 1].modifie_le : rep.created_at, champs: h[i - 1]?.champs });
    for (const [champ, v] of Object.entries(h[i - 1]?.champs || {})) c[champ] = v.avant;
  }
  return liste;
}

const NOMS = { email: 'adresse e-mail', nom: 'nom', creneaux: 'créneaux', commentaire: 'commentaire' };

function resume(champs) {
  if (!champs) return 'réponse envoyée';
  if (champs.deleted_at) return champs.deleted_at.apres ? 'réponse retirée' : 'retrait annulé';
  return `modifié : ${Object.keys(champs).map((c) => NOMS[c] || c).join(', ')}`;
}

export function afficherHistorique(rep) {
  $('historique-liste').replaceChildren(...versions(rep).map((v) => {
    const actuelle = v.version === rep.version;
    return el('li', {},
      el('p', {}, el('strong', { texte: `Version ${v.version}${actuelle ? ' (actuelle)' : ''}` }), ` — ${dateLongue(v.le)} — ${resume(v.champs)}`),
      el('details', {}, el('summary', { texte: 'Voir le contenu' }), contenu(v.contenu)),
      actuelle || v.contenu.deleted_at ? null
        : el('button', { type: 'button', className: 'secondaire', 'data-restaurer': v.version, texte: `Restaurer la version ${v.version}` }));
  }));
  afficherModificationsCreneaux(rep);
}

// Les changements d'un créneau coché (maintenant ou dans une version) faits par
// l'organisation : chaque modification donne les champs avant et après ; l'état d'avant se
// reconstruit depuis l'état actuel, de la plus récente à la plus ancienne.
function modificationsCreneaux(rep) {
  const lignes = [];
  for (const k of rep.creneaux_connus || []) {
    let apres = { libelle: k.libelle, debut: k.debut, fin: k.fin };
    for (const m of [...(k.modifications || [])].reverse()) {
      const avant = { ...apres, ...m.avant };
      lignes.push({ le: m.le, texte: `Le créneau « ${decrireCreneau(avant)} » a été modifié par l’organisation le ${dateLongue(m.le)} : ${decrireCreneau(apres)}${k.retire ? ' (retiré depuis par l’organisation)' : ''}.` });
      apres = avant;
    }
  }
  return lignes.sort((a, b) => (a.le < b.le ? -1 : a.le > b.le ? 1 : 0));
}

// Sous l'historique des versions : créée ici la première fois (index.html n'en a pas).
function listeCreneaux() {
  let ul = document.getElementById('historique-creneaux');
  if (!ul) {
    ul = el('ul', { id: 'historique-creneaux', className: 'historique' });
    $('historique-liste').after(ul);
  }
  return ul;
}

function afficherModificationsCreneaux(rep) {
  const lignes = modificationsCreneaux(rep);
  const ul = listeCreneaux();
  ul.hidden = lignes.length === 0;
  ul.replaceChildren(...lignes.map((l) => el('li', { texte: l.texte })));
}
