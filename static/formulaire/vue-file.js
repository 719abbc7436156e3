// La vue de la file d'attente (file.js) et de l'état du réseau, dans la barre et la carte « Envois
// en file d'attente ».
import * as file from '../file.js';
import { heure } from '../commun/dates.js';
import { el } from '../commun/dom.js';
import { afficher, contenu } from './affichage.js';
import { $, etat } from './etat.js';

export function afficherReseau() {
  const enLigne = navigator.onLine !== false;
  $('reseau').textContent = enLigne ? 'En ligne' : 'Hors ligne';
  $('reseau').dataset.etat = enLigne ? 'en-ligne' : 'hors-ligne';
}

function decrireEnvoi(e) {
  if (e.etat === 'envoi') return 'Envoi en cours…';
  if (!e.essais) return 'En attente d’envoi.';
  return `Essai n° ${e.essais} échoué : ${e.derniere_erreur} Nouvel essai automatique vers ${heure(e.prochain_essai, true)}.`;
}

export function afficherFile() {
  const n = etat.envois.length;
  $('compteur-file').textContent = `File d’attente : ${n}`;
  $('compteur-file').dataset.nombre = n;
  $('file').hidden = !n;
  $('file-liste').replaceChildren(...etat.envois.map((e) => el('li', { className: 'envoi', 'data-cle': e.cle },
    el('p', {}, el('strong', { texte: e.type === 'modification' ? 'Modification de votre réponse' : 'Votre réponse' }),
      ` (${e.corps.nom}, ${e.corps.email}), mise en file à ${heure(e.cree_le)}`),
    el('p', { className: 'aide', texte: decrireEnvoi(e) }),
    el('details', {}, el('summary', { texte: 'Voir le contenu' }), contenu(e.corps)),
    el('p', { className: 'actions' },
      el('button', { type: 'button', className: 'secondaire', 'data-action': 'reessayer', texte: 'Réessayer maintenant' }),
      el('button', { type: 'button', className: 'lien', 'data-action': 'retirer', texte: 'Retirer de la file' })))));
}

export async function rafraichirFile() {
  try {
    etat.envois = await file.lister();
  } catch {
    etat.envois = [];
  }
  afficher();
}
