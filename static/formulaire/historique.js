// L'historique des versions de la réponse de ce navigateur, avec « Restaurer ».
import { dateLongue } from '../commun/dates.js';
import { el } from '../commun/dom.js';
import { contenu } from './affichage.js';
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
}
