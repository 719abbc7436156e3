// L'état du formulaire, que ses modules partagent, et ce qu'il garde dans localStorage.
// Les règles des champs (limites, messages) et le fuseau de l'institution viennent de
// GET /api/form (« regles », « fuseau ») ; hors ligne, du dernier catalogue gardé.

export const $ = (id) => document.getElementById(id);
export const CHAMPS = ['nom', 'email', 'creneaux', 'commentaire'];
// La campagne de la page, lue dans son adresse /c/<slug>/ (null sur /, qui mène à une
// campagne, et avec un serveur d'avant les campagnes).
export const SLUG_PAGE = /^\/c\/([a-z0-9-]{1,64})\/$/.exec(location.pathname)?.[1] ?? null;
// localStorage, format versionné, une clé par campagne (fiable.brouillon.<slug>) : le
// brouillon (synchrone, donc écrit même quand la page se ferme), le lien de modification avec
// la dernière réponse connue, le dernier catalogue. Sans campagne, les clés d'avant.
export const ANCIENNES_CLES = ['fiable.brouillon', 'fiable.compte', 'fiable.formulaire'];
export const [CLE_BROUILLON, CLE_COMPTE, CLE_FORM] = ANCIENNES_CLES.map((c) => (SLUG_PAGE ? `${c}.${SLUG_PAGE}` : c));
// Le slug de la première campagne (celle des clés d'avant), appris par la migration.
export const CLE_PREMIERE = 'fiable.premiere-campagne';
const FORMAT = 1;

export const formulaire = $('formulaire');
export const bouton = $('envoyer');
export const etat = {
  flags: { autosave: true, offline_queue: true, modification: true, email_links: true },
  slug: SLUG_PAGE, // la campagne de la page (null : serveur sans campagnes)
  campagne: null, // « campagne » de GET /api/form : titre, introduction, phase, dates
  fuseau: null, // celui de la campagne (« fuseau » de /api/form)
  regles: {}, // par champ : { obligatoire, longueur_max | nombre_max, messages } (« regles »)
  creneaux: new Map(),
  catalogue: false,
  compte: null, // { jeton, reponse } : la réponse de ce navigateur
  base: null, // { id, version } sur laquelle porte le formulaire (null : nouvelle réponse)
  modifie: false, // le formulaire diffère de la version de base
  envois: [], // les envois de cette campagne à envoyer
  refuses: [], // ceux que le serveur a refusés pour de bon (campagne close) : gardés, montrés
  aSupprimer: null, // clé de l'envoi refusé dont la suppression attend confirmation
  copie: new Set(), // clés des envois refusés dont le contenu est montré à copier à la main
  liensDemandes: new Map(), // clé d'un envoi refusé (adresse déjà utilisée) -> résultat de la demande de lien
  merci: false,
  accuse: false, // un accusé de réception part par e-mail (« accuse_reception » de /api/form)
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

// Un envoi est de cette campagne : celui d'une page d'avant les campagnes (sans « campagne »)
// va à la première, que la migration des clés a apprise (voir campagne.js).
export const deLaCampagne = (e) => (e.campagne ?? lireLocal(CLE_PREMIERE)?.slug ?? null) === etat.slug;

let persistance = false;
export function demanderPersistance() {
  if (!persistance) navigator.storage?.persist?.().catch(() => {});
  persistance = true;
}

export const modeModification = () => Boolean(etat.flags.modification && etat.compte && etat.base);
// Une modification attend dans la file : le formulaire (qui la montre) reste verrouillé
// jusqu'à son envoi ; une nouvelle réponse en file, elle, le laisse libre pour une autre.
export const modificationEnFile = () => etat.envois.some((e) => e.type === 'modification');
export const client = () => ({ longueur: etat.envois.length, autosaveMs: etat.dureeBrouillon });
