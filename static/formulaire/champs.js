// Les champs du formulaire : lecture, écriture, vérification avant l'envoi et messages
// d'erreur sous chaque champ (ceux du serveur, servis dans les règles de GET /api/form).
import { cocher } from './catalogue.js';
import { $, CHAMPS, emailValide, etat, formulaire } from './etat.js';
import { verrouiller } from './invitation.js';

export function lireChamps() {
  return {
    nom: $('nom').value,
    email: $('email').value,
    creneaux: [...formulaire.querySelectorAll('input[name="creneaux"]:checked')].map((c) => c.value),
    commentaire: $('commentaire').value,
  };
}

export function ecrireChamps(c) {
  $('nom').value = c.nom ?? '';
  $('email').value = c.email ?? '';
  $('commentaire').value = c.commentaire ?? '';
  cocher(c.creneaux || []);
  verrouiller(); // le nom et l'e-mail d'une invitation restent ceux de la liste
}

export const corpsDe = (c) => ({ email: c.email.trim(), nom: c.nom.trim(), creneaux: c.creneaux, commentaire: c.commentaire ?? '' });

export function effacerErreur(champ) {
  $(`erreur-${champ}`).textContent = '';
  $(champ).removeAttribute('aria-invalid');
}

// Affiche erreurs[champ] sous chaque champ ; rend le premier champ en erreur.
export function afficherErreurs(erreurs) {
  let premier = null;
  for (const [cle, message] of Object.entries(erreurs || {})) {
    const champ = CHAMPS.find((c) => cle === c || cle.startsWith(`${c}[`) || cle.startsWith(`${c}.`));
    if (!champ) continue;
    const zone = $(`erreur-${champ}`);
    zone.textContent = `${zone.textContent} ${message}`.trim();
    $(champ).setAttribute('aria-invalid', 'true');
    premier ??= champ;
  }
  return premier;
}

export function focaliser(champ) {
  if (champ) (champ === 'creneaux' ? formulaire.querySelector('input[name="creneaux"]') : $(champ))?.focus();
}

// Le message du serveur pour cette faute de ce champ (« manquant », « invalide »…). Sans
// règles (catalogue gardé par une version précédente de la page, hors ligne), un texte
// général : le champ est tout de même signalé, et le serveur dira le détail.
export const message = (champ, faute) => etat.regles[champ]?.messages?.[faute] ?? 'Ce champ est à compléter ou à corriger.';

// Ce que le navigateur vérifie seul : les champs obligatoires, la forme d'une adresse.
export function verifier(c) {
  const e = {};
  if (!c.nom.trim()) e.nom = message('nom', 'manquant');
  if (!c.email.trim()) e.email = message('email', 'manquant');
  else if (!emailValide(c.email.trim())) e.email = message('email', 'invalide');
  if (!c.creneaux.length) e.creneaux = message('creneaux', 'manquant');
  return e;
}
