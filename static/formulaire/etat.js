// L'état du formulaire, que ses modules partagent, et ce qu'il garde dans localStorage.
// Les règles des champs (limites, messages) et le fuseau de l'institution viennent de
// GET /api/form (« regles », « fuseau ») ; hors ligne, du dernier catalogue gardé.

export const $ = (id) => document.getElementById(id);
export const CHAMPS = ['nom', 'email', 'creneaux', 'commentaire'];
// localStorage, format versionné : le brouillon (synchrone, donc écrit même quand la page se
// ferme), le lien de modification avec la dernière réponse connue, le dernier catalogue.
export const CLE_BROUILLON = 'fiable.brouillon';
export const CLE_COMPTE = 'fiable.compte';
export const CLE_FORM = 'fiable.formulaire';
const FORMAT = 1;

export const formulaire = $('formulaire');
export const bouton = $('envoyer');
export const etat = {
  flags: { autosave: true, offline_queue: true, modification: true, email_links: true },
  fuseau: null, // celui de l'institution (« fuseau » de /api/form)
  regles: {}, // par champ : { obligatoire, longueur_max | nombre_max, messages } (« regles »)
  creneaux: new Map(),
  catalogue: false,
  compte: null, // { jeton, reponse } : la réponse de ce navigateur
  base: null, // { id, version } sur laquelle porte le formulaire (null : nouvelle réponse)
  modifie: false, // le formulaire diffère de la version de base
  envois: [],
  merci: false,
  attente: false, // réponse pas encore chargée (lien #edit= ouvert hors ligne)
  dureeBrouillon: 0,
  conflit: null,
};

export function annoncer(texte, type = 'info', discret = false) {
  const s = $('statut');
  s.textContent = texte;
  s.dataset.type = type;
  s.toggleAttribute('data-discret', discret);
}

export const etiquette = (v) => `"v${v}"`;
export const versionDe = (ifMatch) => Number(String(ifMatch).replace(/\D/g, ''));
export const emailValide = (m) => /^[^\s@]+@[^\s@]+$/.test(m);

export function lireLocal(cle) {
  try {
    const v = JSON.parse(localStorage.getItem(cle));
    return v?.format === FORMAT ? v : null;
  } catch {
    return null;
  }
}

// Rend false (et le dit) si le navigateur refuse d'écrire : quota plein, stockage interdit.
export function ecrireLocal(cle, valeur) {
  try {
    localStorage.setItem(cle, JSON.stringify({ format: FORMAT, ...valeur }));
    return true;
  } catch (e) {
    annoncer(e?.name === 'QuotaExceededError'
      ? 'L’espace de stockage de ce navigateur est plein : votre saisie n’y est plus enregistrée. Envoyez votre réponse, ou libérez de l’espace puis continuez.'
      : 'Ce navigateur refuse d’enregistrer des données : votre saisie ne sera pas gardée si la page se ferme.', 'erreur');
    return false;
  }
}

export function effacerLocal(cle) {
  try {
    localStorage.removeItem(cle);
  } catch { /* rien à effacer */ }
}

let persistance = false;
export function demanderPersistance() {
  if (!persistance) navigator.storage?.persist?.().catch(() => {});
  persistance = true;
}

export const modeModification = () => Boolean(etat.flags.modification && etat.compte && etat.base);
export const client = () => ({ longueur: etat.envois.length, autosaveMs: etat.dureeBrouillon });
