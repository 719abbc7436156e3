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

// L'état d'un envoi en français simple : ce qui se passe et ce qui va se passer ; le détail
// technique (statut, message du serveur) est sous « Détails », pour l'assistance.
const statutDe = (e) => e.dernier_status ?? Number(/\(erreur (\d+)\)/.exec(e.derniere_erreur || '')?.[1] || 0);

function decrireEnvoi(e) {
  if (e.etat === 'envoi') return 'Envoi en cours…';
  if (!e.essais) return 'En attente d’envoi.';
  const s = statutDe(e);
  const pourquoi = navigator.onLine === false ? 'Pas de connexion à Internet pour le moment.'
    : s === 429 ? 'Le serveur reçoit beaucoup de demandes en ce moment.'
      : !s || (s >= 502 && s <= 504) ? 'Le serveur ne répond pas pour le moment.'
        : 'Le serveur a rencontré un problème.';
  return `${pourquoi} Nouvel essai automatique vers ${heure(e.prochain_essai, true)}.`;
}

function details(e) {
  return el('details', { 'data-partie': 'details' }, el('summary', { texte: 'Détails' }),
    el('p', { className: 'aide', texte: `Essais : ${e.essais}.${e.derniere_erreur ? ` Dernière réponse : ${e.derniere_erreur}` : ''}` }),
    el('p', { className: 'aide', texte: `Référence de l’envoi : ${e.cle}` }));
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
  const deja = e.refus?.code === 'already_submitted';
  return el('li', { className: 'envoi refuse', 'data-cle': e.cle, 'data-etat': 'refuse' },
    el('p', {}, el('strong', { className: 'etat-refus', texte: deja ? 'Une réponse existe déjà pour cette adresse' : 'Refusée : la campagne est close' }),
      ` — la réponse de ${e.corps.nom} (${e.corps.email}) gardée à ${heure(e.cree_le)}`),
    el('p', { className: 'aide', texte: deja
      ? 'Le serveur garde une seule réponse par adresse e-mail. Pour changer la réponse enregistrée, ouvrez le lien de modification reçu par e-mail, ou recevez-en un nouveau ; copiez ce contenu pour le reprendre.'
      : `${e.refus?.detail || ''} Copiez son contenu si vous voulez le garder ou le transmettre autrement.`.trim() }),
    deja && etat.flags.email_links ? el('p', { className: 'actions' },
      el('button', { type: 'button', className: 'secondaire', 'data-action': 'lien', texte: 'Recevoir un lien de modification par e-mail' }),
      el('span', { className: 'aide', role: 'status', texte: etat.liensDemandes.get(e.cle) || '' })) : null,
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

// Un envoi en attente : à qui il est, son état, son prochain essai ; « Retirer » demande
// confirmation et montre le contenu à copier.
function envoiEnAttente(e, doublons) {
  const c = e.corps;
  const retirer = etat.aSupprimer === e.cle;
  return el('li', { className: 'envoi', 'data-cle': e.cle, 'data-etat': e.etat },
    el('p', {}, el('strong', { texte: e.type === 'modification' ? 'Modification de votre réponse' : `Réponse de ${c.nom}` }),
      ` (${c.email}), gardée à ${heure(e.cree_le)}`),
    el('p', { className: 'etat-envoi', texte: decrireEnvoi(e) }),
    doublons.has(c.email.toLowerCase()) ? el('p', { className: 'doublon', texte: 'Une autre réponse de cette liste porte la même adresse e-mail : le serveur n’en garde qu’une par adresse ; pour l’autre, il proposera de modifier la réponse enregistrée.' }) : null,
    el('details', { 'data-partie': 'contenu' }, el('summary', { texte: 'Voir le contenu' }), contenu(c)),
    details(e),
    retirer
      ? el('div', { className: 'confirmation' },
        el('p', { texte: `Retirer la réponse de ${c.nom} de la file ? Elle ne sera pas envoyée. Copiez son contenu si vous voulez le garder :` }),
        el('textarea', { className: 'copie', readOnly: true, rows: 6, 'aria-label': `Contenu de la réponse de ${c.nom}`, value: texteEnvoi(e) }),
        el('p', { className: 'actions' },
          el('button', { type: 'button', className: 'danger', 'data-action': 'retirer-oui', texte: 'Oui, la retirer' }),
          el('button', { type: 'button', className: 'secondaire', 'data-action': 'supprimer-non', texte: 'Non, la garder' })))
      : el('p', { className: 'actions' },
        el('button', { type: 'button', className: 'secondaire', 'data-action': 'reessayer', texte: 'Réessayer maintenant' }),
        el('button', { type: 'button', className: 'lien', 'data-action': 'retirer', texte: 'Retirer de la file' })));
}

// La liste est refaite à chaque changement (nouvel essai automatique compris) : le focus et
// les « Détails » ouverts sont repris sur le même élément du même envoi.
export function afficherFile() {
  const n = etat.envois.length;
  $('compteur-file').textContent = `File d’attente : ${n}`;
  $('compteur-file').dataset.nombre = n;
  $('file').hidden = !n && !etat.refuses.length;
  $('aide-file').textContent = n ? 'Elles sont gardées dans ce navigateur, même s’il est fermé, et envoyées automatiquement dès que le serveur répond.'
    : 'Le serveur a refusé cette réponse : elle reste gardée dans ce navigateur jusqu’à ce que vous la supprimiez.';
  const liste = $('file-liste');
  const actif = document.activeElement;
  const focus = liste.contains(actif) ? { cle: actif.closest('li')?.dataset.cle, action: actif.dataset.action, partie: actif.closest('details')?.dataset.partie } : null;
  const ouverts = new Set([...liste.querySelectorAll('details[open]')].map((d) => `${d.closest('li').dataset.cle} ${d.dataset.partie}`));
  const adresses = etat.envois.filter((e) => e.type === 'creation').map((e) => e.corps.email.toLowerCase());
  const doublons = new Set(adresses.filter((a, i) => adresses.indexOf(a) !== i));
  liste.replaceChildren(...etat.refuses.map(envoiRefuse), ...etat.envois.map((e) => envoiEnAttente(e, doublons)));
  for (const d of liste.querySelectorAll('details[data-partie]')) d.open = ouverts.has(`${d.closest('li').dataset.cle} ${d.dataset.partie}`);
  if (!focus?.cle) return;
  const li = liste.querySelector(`li[data-cle="${CSS.escape(focus.cle)}"]`);
  const cible = focus.action ? li?.querySelector(`[data-action="${focus.action}"]`)
    : focus.partie ? li?.querySelector(`details[data-partie="${focus.partie}"] > summary`) : null;
  (cible || li?.querySelector('button'))?.focus();
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
