// Le lien personnel d'une invitation, PUBLIC_URL/c/<slug>/#invitation=JETON (issue 16) : le
// jeton est lu dans le fragment (jamais envoyé dans une adresse), retiré de la barre d'adresse
// (ni favori ni partage par mégarde) et gardé pour cet onglet (sessionStorage) jusqu'à l'envoi.
// POST /api/invitation dit qui est invité : le nom et l'e-mail de la liste sont écrits dans le
// formulaire et verrouillés, et l'envoi porte le membre « invitation ». Une fois la réponse
// enregistrée, le même jeton ouvre la réponse (il vaut lien de modification : le serveur
// l'accepte dans Authorization, pour la réponse de cette personne dans cette campagne).
// Le reste du formulaire n'en sait que trois choses : ouvrirInvitation() au démarrage,
// verrouiller() après chaque écriture des champs, corpsInvitation() dans un envoi.
import * as file from '../file.js';
import { el } from '../commun/dom.js';
import { $, etat, SLUG_PAGE } from './etat.js';
import { garderCompte } from './modification.js';

const CLE = `fiable.invitation.${SLUG_PAGE ?? ''}`;
const FRAGMENT = /^#invitation=([A-Za-z0-9_-]{43})$/;
const CHAMPS_VERROUILLES = ['nom', 'email'];

// { jeton, nom, email, titre, acces, repondu } : l'invitation de cette page, ou null.
let invitation = null;

function garder(valeur) {
  try {
    if (valeur) sessionStorage.setItem(CLE, JSON.stringify(valeur));
    else sessionStorage.removeItem(CLE);
  } catch { /* stockage refusé : l'invitation vaut pour cette page seulement */ }
}

function gardee() {
  try {
    const v = JSON.parse(sessionStorage.getItem(CLE));
    return typeof v?.jeton === 'string' ? v : null;
  } catch {
    return null;
  }
}

// Le jeton du fragment (retiré aussitôt de l'adresse), sinon celui gardé pour cet onglet.
function lireFragment() {
  if (!location.hash.startsWith('#invitation=')) return null;
  const jeton = FRAGMENT.exec(location.hash)?.[1] ?? '';
  history.replaceState(null, '', location.pathname + location.search);
  return jeton;
}

// Le message de l'invitation, au-dessus des champs (créé à la première utilisation).
function note(texte, type, enfants = []) {
  let p = $('invitation');
  if (!p) {
    p = el('div', { id: 'invitation', className: 'invitation', role: 'note' });
    $('champs').prepend(p);
  }
  p.dataset.type = type;
  p.replaceChildren(el('p', { texte }), ...enfants);
  p.hidden = !texte;
}

// Les champs venant de la liste : valeurs de l'invitation (sauf sur une réponse déjà
// enregistrée, qui a les siennes), lecture seule, et l'aspect verrouillé.
export function verrouiller() {
  for (const id of CHAMPS_VERROUILLES) {
    const champ = $(id);
    if (invitation && !etat.base) champ.value = invitation[id];
    champ.readOnly = Boolean(invitation);
    champ.closest('.champ').classList.toggle('verrouille', Boolean(invitation));
    if (invitation) champ.setAttribute('aria-describedby', `invitation erreur-${id}`);
    else champ.setAttribute('aria-describedby', `erreur-${id}`);
  }
}

// Ce qu'une nouvelle réponse ajoute à son corps : le jeton de l'invitation de cette campagne.
export const corpsInvitation = () => (invitation && !etat.base ? { invitation: invitation.jeton } : {});

function accepter(d, jeton) {
  invitation = { jeton, nom: d.nom, email: d.email, titre: d.titre, acces: d.acces, repondu: d.repondu };
  garder(invitation);
  // Déjà répondu : le jeton ouvre la réponse (il reste valable quand un nouveau lien de
  // modification remplace l'ancien) ; la version gardée dans ce navigateur, si c'est celle de
  // cette personne, s'affiche en attendant.
  if (d.repondu) {
    const connue = etat.compte?.reponse;
    etat.compte = { jeton, reponse: connue?.email?.toLowerCase() === d.email.toLowerCase() ? connue : null };
    garderCompte();
  }
  note(`Invitation personnelle de ${d.nom} (${d.email}). Le nom et l’adresse e-mail viennent de la liste des personnes invitées : ils ne peuvent pas être modifiés ici.${d.repondu ? ' Ce lien ouvre aussi votre réponse, pour la modifier.' : ''}`, 'info');
  verrouiller();
}

function refuser() {
  invitation = null;
  garder(null);
  verrouiller();
  note(etat.campagne?.acces === 'invites'
    ? 'Ce lien d’invitation n’est pas valable (mal copié, ou remplacé par un plus récent). Cette campagne est réservée aux personnes invitées : ouvrez le lien tel qu’il figure dans le courriel reçu, ou demandez un nouveau lien à l’organisateur.'
    : 'Ce lien d’invitation n’est pas valable (mal copié, ou remplacé par un plus récent). Vous pouvez tout de même répondre ci-dessous, avec votre nom et votre adresse e-mail.', 'erreur');
}

// Au démarrage, le catalogue affiché (etat.campagne connu) et avant la lecture de la réponse.
export async function ouvrirInvitation() {
  const lu = lireFragment();
  const avant = gardee();
  const jeton = lu ?? avant?.jeton;
  if (!jeton) {
    if (etat.campagne?.acces === 'invites' && !etat.compte) note('Cette campagne est réservée aux personnes invitées : ouvrez le lien personnel reçu dans votre invitation par e-mail.', 'info');
    return;
  }
  if (!FRAGMENT.test(`#invitation=${jeton}`)) return refuser();
  const r = await file.requete('POST', '/api/invitation', { corps: { jeton } });
  const d = r.donnees;
  if (r.issue === 'succes' && d?.campagne === SLUG_PAGE) return accepter(d, jeton);
  if (r.issue === 'succes') {
    // Le lien d'une autre campagne : y mener, le jeton dans le fragment.
    note(`Ce lien d’invitation est celui de la campagne « ${d?.titre ?? ''} ».`, 'erreur',
      [el('p', {}, el('a', { href: `/c/${d?.campagne}/#invitation=${jeton}`, texte: 'Ouvrir cette campagne' }))]);
    return;
  }
  if (r.issue === 'refus') return refuser();
  // Hors ligne ou serveur indisponible : l'invitation déjà vérifiée dans cet onglet.
  if (avant?.jeton === jeton && avant.nom) return accepter(avant, jeton);
  note(`L’invitation n’a pas pu être vérifiée : ${r.message} Rechargez la page quand la connexion sera revenue.`, 'attente');
}
