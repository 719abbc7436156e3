// Ce que les pages des campagnes (liste et campagne) partagent : les appels à l'API des
// campagnes avec leur ETag, les noms français des états, l'adresse suggérée d'après le titre,
// la saisie des dates dans le fuseau de la campagne.
import { el } from '../commun/dom.js';
import { saisieLocale } from '../commun/dates.js';

export const ADRESSE_API = '/api/admin/campagnes';

// Ce que la personne voit de chaque phase (campagne_phase(), sql/0014) ; la classe de
// l'étiquette ne fait que doubler le mot.
export const PHASES = {
  brouillon: { texte: 'brouillon', classe: 'retiree' },
  a_venir: { texte: 'à venir', classe: 'attente' },
  ouverte: { texte: 'ouverte', classe: '' },
  retard: { texte: 'en délai de grâce', classe: 'attente' },
  close: { texte: 'close', classe: 'alerte' },
  archivee: { texte: 'archivée', classe: 'retiree' },
};

export function etiquettePhase(phase) {
  const p = PHASES[phase] || { texte: phase || 'inconnue', classe: 'retiree' };
  return el('span', { class: `etiquette ${p.classe}`.trim(), 'data-phase': phase }, p.texte);
}

// Une erreur d'API : le « detail » français, le statut, le code stable et les erreurs par
// ligne ou par champ quand le serveur en donne.
export class ErreurCampagne extends Error {
  constructor(message, statut, probleme) {
    super(message);
    this.statut = statut;
    this.code = probleme && probleme.code;
    this.probleme = probleme || {};
  }
}

// Un appel à l'API : { donnees, etag, statut } ou ErreurCampagne. corps : un objet (envoyé en
// JSON) ou une chaîne avec son type (options.type).
export async function requete(adresse, { methode = 'GET', corps, type, siVersion } = {}) {
  const entetes = {};
  let body;
  if (corps !== undefined) {
    if (typeof corps === 'string' || corps instanceof Blob) {
      body = corps;
      entetes['Content-Type'] = type || 'text/plain';
    } else {
      body = JSON.stringify(corps);
      entetes['Content-Type'] = 'application/json';
    }
  }
  if (siVersion) entetes['If-Match'] = siVersion;
  let reponse;
  try {
    reponse = await fetch(adresse, { method: methode, headers: entetes, body, cache: 'no-store' });
  } catch {
    throw new ErreurCampagne('Le serveur ne répond pas. Vérifiez la connexion puis réessayez.', 0);
  }
  const donnees = await reponse.json().catch(() => null);
  if (!reponse.ok) {
    const detail = donnees && typeof donnees.detail === 'string' ? donnees.detail : null;
    throw new ErreurCampagne(detail || `Le serveur a répondu par une erreur (HTTP ${reponse.status}).`,
      reponse.status, donnees);
  }
  return { donnees, etag: reponse.headers.get('ETag'), statut: reponse.status, adresse: reponse.headers.get('Location') };
}

// Les erreurs détaillées d'un problème, en lignes lisibles : [{ligne, message}] (import) ou
// {champ: message} (série, champs de la campagne).
export function lignesErreurs(probleme) {
  const e = probleme && probleme.erreurs;
  if (Array.isArray(e)) {
    return e.map((x) => (x && x.ligne ? `Ligne ${x.ligne} : ${x.message}` : String(x && x.message ? x.message : x)));
  }
  if (e && typeof e === 'object') return Object.entries(e).map(([champ, m]) => `${champ} : ${m}`);
  return [];
}

// Une adresse (slug) d'après un titre : minuscules sans accents, chiffres et tirets, au plus
// 64 caractères, sans tiret au bord (la règle de sql/0014).
export function slugDepuis(titre) {
  return String(titre).normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/[^a-z0-9]+/g, '-').replace(/^-+/, '').slice(0, 64).replace(/-+$/, '');
}

export const MOTIF_SLUG = '[a-z0-9]([a-z0-9\\-]{0,62}[a-z0-9])?';

// La valeur d'un champ datetime-local pour un instant de l'API, dans le fuseau ; '' sans date.
export const versSaisie = (iso, fuseau) => (iso ? saisieLocale(iso, fuseau) : '');

// Le fuseau de l'appareil, proposé pour une nouvelle campagne.
export function fuseauAppareil() {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || 'Europe/Brussels'; } catch { return 'Europe/Brussels'; }
}

// Les fuseaux que le navigateur connaît (Intl.supportedValuesOf), pour la liste de choix.
export function fuseauxConnus() {
  try { return Intl.supportedValuesOf('timeZone'); } catch { return ['Europe/Brussels', 'Europe/Paris', 'UTC']; }
}

// Marque la page prête (les tests l'attendent) une fois.
export function pret() { document.documentElement.dataset.pret = '1'; }

// Un seul envoi à la fois pour un formulaire : ses boutons d’envoi sont désactivés pendant
// l’action (un double clic n’ajoute pas deux fois les mêmes créneaux), puis rendus à l’état
// d’avant. Un envoi arrivé pendant l’action est ignoré.
export async function unSeulEnvoi(form, action) {
  if (form.dataset.envoi) return undefined;
  form.dataset.envoi = '1';
  const boutons = [...form.querySelectorAll('button[type="submit"]')].map((b) => [b, b.disabled]);
  for (const [b] of boutons) b.disabled = true;
  try {
    return await action();
  } finally {
    for (const [b, avant] of boutons) b.disabled = avant;
    delete form.dataset.envoi;
  }
}

// --- Les champs d'une campagne, communs au formulaire de création et à celui d'édition -----
// (mêmes attributs name : titre, slug, introduction, fuseau, ouverture, fermeture,
// delai_grace_minutes, modification, modification_date).

// « Toujours » : modification_jusqu_a = 'infinity' (sql/0014).
const TOUJOURS = 'infinity';
const estToujours = (v) => typeof v === 'string' && (/infinity/i.test(v) || /^\+?\d{5,}|^9999-/.test(v));

// Le corps de la requête d'après le formulaire : heures locales « AAAA-MM-JJTHH:MM » que le
// serveur lit dans le fuseau de la campagne ; null pour une date vide.
export function lireChamps(form) {
  const v = (nom) => form.elements[nom].value.trim();
  const choix = form.querySelector('input[name="modification"]:checked');
  let modification = null;
  if (choix && choix.value === 'toujours') modification = TOUJOURS;
  else if (choix && choix.value === 'jusqu') modification = v('modification_date') || null;
  return {
    slug: v('slug'),
    titre: v('titre'),
    introduction: form.elements.introduction.value,
    fuseau: v('fuseau'),
    ouverture: v('ouverture') || null,
    fermeture: v('fermeture') || null,
    delai_grace_minutes: Number(v('delai_grace_minutes') || 0),
    modification_jusqu_a: modification,
  };
}

// Remplit le formulaire avec une campagne de l'API (ses dates dans son fuseau).
export function remplirChamps(form, c) {
  const f = form.elements;
  f.slug.value = c.slug || '';
  f.titre.value = c.titre || '';
  f.introduction.value = c.introduction || '';
  f.fuseau.value = c.fuseau || '';
  f.ouverture.value = versSaisie(c.ouverture, c.fuseau);
  f.fermeture.value = versSaisie(c.fermeture, c.fuseau);
  f.delai_grace_minutes.value = String(c.delai_grace_minutes ?? 0);
  const m = c.modification_jusqu_a;
  const choix = !m ? 'non' : estToujours(m) ? 'toujours' : 'jusqu';
  form.querySelector(`input[name="modification"][value="${choix}"]`).checked = true;
  f.modification_date.value = choix === 'jusqu' ? versSaisie(m, c.fuseau) : '';
}

// Ce que le formulaire vérifie avant d'envoyer (le serveur vérifie tout de même) : un
// message français par champ fautif, [] si tout va bien.
export function verifierChamps(corps) {
  const fautes = [];
  if (!corps.titre) fautes.push('Indiquez un titre.');
  if (!new RegExp(`^${MOTIF_SLUG}$`).test(corps.slug)) {
    fautes.push('L\'adresse ne peut contenir que des minuscules sans accents, des chiffres et des tirets (pas au début ni à la fin), 64 caractères au plus.');
  }
  if (!corps.fuseau) fautes.push('Indiquez un fuseau horaire (par exemple Europe/Brussels).');
  if (corps.ouverture && corps.fermeture && corps.fermeture <= corps.ouverture) {
    fautes.push('La fermeture doit venir après l\'ouverture.');
  }
  if (!Number.isInteger(corps.delai_grace_minutes) || corps.delai_grace_minutes < 0 || corps.delai_grace_minutes > 43200) {
    fautes.push('Le délai de grâce est un nombre entier de minutes, de 0 à 43200 (30 jours).');
  }
  const choixJusqu = corps.modification_jusqu_a && corps.modification_jusqu_a !== TOUJOURS;
  if (choixJusqu && corps.fermeture && corps.modification_jusqu_a < corps.fermeture) {
    fautes.push('La date limite de modification doit venir après la fermeture.');
  }
  return fautes;
}

// Un message dans un bloc .statut : type 'succes', 'erreur' ou rien ; lignes : détails.
export function annoncerDans(bloc, texte, type, lignes = []) {
  bloc.replaceChildren(texte, lignes.length ? el('ul', {}, lignes.map((l) => el('li', {}, l))) : '');
  if (type) bloc.dataset.type = type;
  else delete bloc.dataset.type;
}
