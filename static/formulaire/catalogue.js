// Le catalogue (GET /api/form) : créneaux groupés par jour, fonctionnalités, fuseau de
// l'institution et règles des champs ; gardé dans localStorage pour s'ouvrir hors ligne.
import * as file from '../file.js';
import { heureMinute, jourCalendrier } from '../commun/dates.js';
import { el } from '../commun/dom.js';
import { afficher } from './affichage.js';
import { appliquerCampagne } from './campagne.js';
import { lireChamps } from './champs.js';
import { $, annoncer, CHAMPS, CLE_FORM, ecrireLocal, etat, formulaire } from './etat.js';

// Le jour d'un créneau dans le fuseau de l'institution : le champ « jour » du serveur.
const jourDe = (c) => jourCalendrier(c.jour);

// Un libellé sans heure reçoit les heures du créneau, dans le fuseau de l'institution.
function heuresDe(c) {
  if (/\d/.test(c.libelle)) return '';
  try {
    return ` (${heureMinute(new Date(c.debut), etat.fuseau)} – ${heureMinute(new Date(c.fin), etat.fuseau)})`;
  } catch {
    return '';
  }
}

// Un créneau absent du formulaire (retiré) est nommé par « creneaux_connus » de la réponse.
export function nomCreneau(id) {
  const c = etat.creneaux.get(id);
  if (c) return `${jourDe(c)}, ${c.libelle}`;
  const connu = (etat.compte?.reponse?.creneaux_connus || []).find((k) => k.id === id);
  if (connu) return `${decrireCreneau(connu)}${connu.retire ? ' (retiré par l’organisation)' : ''}`;
  return `${id} (plus proposé)`;
}

// « Lundi 4 mai 2026, 09:00 – 12:00, Matin » : debut et fin sont écrits à l'heure de
// l'institution (avec leur décalage), comme dans GET /api/form.
export function decrireCreneau(c) {
  const heures = typeof c.debut === 'string' && typeof c.fin === 'string'
    ? `${jourCalendrier(c.debut.slice(0, 10))}, ${c.debut.slice(11, 16)} – ${c.fin.slice(11, 16)}, ` : '';
  return `${heures}${c.libelle}`;
}

function caseCreneau(id, texte) {
  return el('div', { className: 'case' },
    el('input', { type: 'checkbox', name: 'creneaux', value: id, id: `creneau-${id}` }),
    el('label', { htmlFor: `creneau-${id}`, texte }));
}

// Les limites des champs de texte sont celles du serveur (maxlength). Un catalogue gardé par
// une version précédente de la page n'a pas de règles : celles d'avant restent.
function appliquerRegles(regles) {
  if (!regles || typeof regles !== 'object') return;
  etat.regles = regles;
  for (const champ of CHAMPS) {
    const max = regles[champ]?.longueur_max;
    const e = $(champ);
    if (Number.isInteger(max) && 'maxLength' in e) e.maxLength = max;
  }
}

export function appliquerFormulaire(donnees) {
  const choix = lireChamps().creneaux;
  etat.fuseau = donnees.fuseau;
  etat.accuse = donnees.accuse_reception === true;
  appliquerRegles(donnees.regles);
  Object.assign(etat.flags, donnees.fonctionnalites);
  appliquerCampagne(donnees.campagne, () => chargerFormulaire());
  const liste = Array.isArray(donnees.creneaux) ? donnees.creneaux : [];
  etat.creneaux = new Map(liste.map((c) => [c.id, c]));
  $('fuseau').textContent = `Jours et heures à l’heure de l’institution : ${etat.fuseau}.`;
  // Le nom long du fuseau et celui de l'appareil (Intl, plus lent) après le premier affichage.
  setTimeout(() => {
    try {
      const zone = new Intl.DateTimeFormat('fr-BE', { timeZone: etat.fuseau, timeZoneName: 'long' })
        .formatToParts().find((p) => p.type === 'timeZoneName')?.value;
      const local = Intl.DateTimeFormat().resolvedOptions().timeZone;
      $('fuseau').textContent = `Jours et heures à l’heure de l’institution : ${etat.fuseau}${zone ? ` (${zone})` : ''}.`
        + (local && local !== etat.fuseau ? ` Votre appareil est réglé sur ${local}.` : '');
    } catch { /* fuseau inconnu du navigateur */ }
  }, 50);
  const jours = new Map();
  for (const c of liste) {
    if (!jours.has(c.jour)) jours.set(c.jour, el('fieldset', { className: 'jour' }, el('legend', { texte: jourDe(c) })));
    jours.get(c.jour).append(caseCreneau(c.id, c.libelle + heuresDe(c)));
  }
  $('liste-creneaux').replaceChildren(...(liste.length ? jours.values()
    : [el('p', { className: 'aide', texte: 'Aucun créneau n’est proposé pour le moment.' })]));
  etat.catalogue = true;
  cocher(choix);
}

// Coche les créneaux donnés ; ceux que le catalogue ne propose plus restent affichés et cochés
// (une réponse ne perd rien en silence).
export function cocher(ids) {
  const reste = new Set(ids);
  for (const b of formulaire.querySelectorAll('input[name="creneaux"]')) {
    b.checked = reste.delete(b.value);
  }
  if (!reste.size || !etat.catalogue) return;
  let autres = $('creneaux-autres');
  if (!autres) {
    autres = el('fieldset', { className: 'jour', id: 'creneaux-autres' }, el('legend', { texte: 'Créneaux qui ne sont plus proposés' }));
    $('liste-creneaux').append(autres);
  }
  for (const id of reste) {
    const ligne = caseCreneau(id, nomCreneau(id));
    ligne.firstChild.checked = true;
    autres.append(ligne);
  }
}

// Une adresse /c/<slug>/ qui ne mène à aucune campagne publiée.
function campagneInconnue() {
  etat.campagne = { phase: 'inconnue' };
  $('titre').textContent = document.title = 'Formulaire introuvable';
  $('intro').replaceChildren(el('p', { texte: 'Cette adresse ne mène à aucun formulaire ouvert. Vérifiez le lien reçu, ou ' }, el('a', { href: '/', texte: 'voyez les campagnes ouvertes' }), '.'));
  afficher();
}

export async function chargerFormulaire() {
  const r = await file.requete('GET', etat.slug ? `/api/form?campagne=${etat.slug}` : '/api/form');
  if (r.issue === 'succes' && r.donnees) {
    appliquerFormulaire(r.donnees);
    ecrireLocal(CLE_FORM, { donnees: r.donnees });
    afficher();
  } else if (r.status === 404 && etat.slug) {
    campagneInconnue();
  } else if (!etat.catalogue) {
    annoncer(`Les créneaux n’ont pas pu être chargés : ${r.message} Ils s’afficheront dès que la connexion reviendra.`, 'erreur');
  }
}
