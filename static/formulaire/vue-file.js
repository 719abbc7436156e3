// La vue de la file d'attente (file.js) et de l'état du réseau, dans la barre et la carte « Envois
// en file d'attente ».
import * as file from '../file.js';
import { heure } from '../commun/dates.js';
import { el } from '../commun/dom.js';
import { afficher, contenu } from './affichage.js';
import { nomCreneau } from './catalogue.js';
import { $, deLaCampagne, etat } from './etat.js';

// La pastille : le réseau de l'appareil (hors ligne), sinon le serveur tel que la page l'a vu
// à sa dernière requête ou sonde (file.serveur : injoignable, ou base indisponible).
export function afficherReseau() {
  const etatPastille = navigator.onLine === false ? 'hors-ligne' : file.serveur === false ? 'injoignable' : 'en-ligne';
  $('reseau').textContent = { 'hors-ligne': 'Hors ligne', injoignable: 'Serveur injoignable', 'en-ligne': 'En ligne' }[etatPastille];
  $('reseau').dataset.etat = etatPastille;
}

function decrireEnvoi(e) {
  if (e.etat === 'envoi') return 'Envoi en cours…';
  if (!e.essais) return 'En attente d’envoi.';
  return `Essai n° ${e.essais} échoué : ${e.derniere_erreur} Nouvel essai automatique vers ${heure(e.prochain_essai, true)}.`;
}

// Le contenu d'un envoi en texte, pour le copier : les créneaux par leur libellé.
export function texteEnvoi(e) {
  const c = e.corps;
  return [`Nom : ${c.nom}`, `E-mail : ${c.email}`, 'Créneaux :', ...(c.creneaux || []).map((id) => `- ${nomCreneau(id)}`),
    `Commentaire : ${c.commentaire || '—'}`].join('\n');
}

// Un envoi refusé pour de bon (campagne close) : montré avec son contenu, à copier, à
// supprimer par la personne elle-même (jamais en silence).
function envoiRefuse(e) {
  const confirmer = etat.aSupprimer === e.cle;
  return el('li', { className: 'envoi refuse', 'data-cle': e.cle, 'data-etat': 'refuse' },
    el('p', {}, el('strong', { className: 'etat-refus', texte: 'Refusée : la campagne est close' }),
      ` — votre réponse (${e.corps.nom}, ${e.corps.email}) mise en file à ${heure(e.cree_le)}`),
    el('p', { className: 'aide', texte: `${e.refus?.detail || ''} Copiez son contenu si vous voulez le garder ou le transmettre autrement.`.trim() }),
    contenu(e.corps),
    etat.copie.has(e.cle) ? el('textarea', { className: 'copie', readOnly: true, rows: 6, 'aria-label': 'Contenu de la réponse refusée', value: texteEnvoi(e) }) : null,
    confirmer
      ? el('div', { className: 'confirmation' },
        el('p', { texte: 'Supprimer cette réponse de ce navigateur ? Son contenu sera perdu s’il n’est pas copié.' }),
        el('p', { className: 'actions' },
          el('button', { type: 'button', className: 'danger', 'data-action': 'supprimer-oui', texte: 'Oui, supprimer' }),
          el('button', { type: 'button', className: 'secondaire', 'data-action': 'supprimer-non', texte: 'Non, la garder' })))
      : el('p', { className: 'actions' },
        el('button', { type: 'button', 'data-action': 'copier', texte: 'Copier le contenu' }),
        el('button', { type: 'button', className: 'lien', 'data-action': 'supprimer', texte: 'Supprimer de la file' })));
}

export function afficherFile() {
  const n = etat.envois.length;
  $('compteur-file').textContent = `File d’attente : ${n}`;
  $('compteur-file').dataset.nombre = n;
  $('file').hidden = !n && !etat.refuses.length;
  $('aide-file').textContent = n ? 'Ils sont gardés dans ce navigateur, même s’il est fermé, et envoyés automatiquement dès que le serveur répond.'
    : 'Le serveur a refusé cette réponse : elle reste gardée dans ce navigateur jusqu’à ce que vous la supprimiez.';
  $('file-liste').replaceChildren(...etat.refuses.map(envoiRefuse), ...etat.envois.map((e) => el('li', { className: 'envoi', 'data-cle': e.cle },
    el('p', {}, el('strong', { texte: e.type === 'modification' ? 'Modification de votre réponse' : 'Votre réponse' }),
      ` (${e.corps.nom}, ${e.corps.email}), mise en file à ${heure(e.cree_le)}`),
    el('p', { className: 'aide', texte: decrireEnvoi(e) }),
    el('details', {}, el('summary', { texte: 'Voir le contenu' }), contenu(e.corps)),
    el('p', { className: 'actions' },
      el('button', { type: 'button', className: 'secondaire', 'data-action': 'reessayer', texte: 'Réessayer maintenant' }),
      el('button', { type: 'button', className: 'lien', 'data-action': 'retirer', texte: 'Retirer de la file' })))));
}

// envois : la file telle qu'un message ou un événement la porte (sinon, relue).
export async function rafraichirFile(envois) {
  try {
    repartir(Array.isArray(envois) ? envois : await file.lister());
  } catch {
    etat.envois = [];
  }
  afficher();
}

// Les envois de cette campagne : à envoyer, ou refusés.
export function repartir(tous) {
  const siens = tous.filter(deLaCampagne);
  etat.envois = siens.filter((e) => e.etat !== 'refuse');
  etat.refuses = siens.filter((e) => e.etat === 'refuse');
}
