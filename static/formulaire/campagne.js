// La campagne de la page : son titre, son introduction (texte brut : paragraphes, liens), sa
// phase (pas encore ouverte, ouverte, délai de grâce, close) ; l'accueil (/) qui mène à la
// seule campagne ouverte ou les liste ; la reprise des clés d'avant les campagnes.
import * as file from '../file.js';
import { date, JOURS } from '../commun/dates.js';
import { el } from '../commun/dom.js';
import { $, ANCIENNES_CLES, CLE_PREMIERE, ecrireLocal, effacerLocal, etat, lireLocal } from './etat.js';

const SLUG = /^[a-z0-9-]{1,64}$/;
const CLE_LISTE = 'fiable.campagnes';
const adresse = (slug) => `/c/${slug}/`;

// « lundi 30 mars 2026 à 09:00 » : l'heure telle que le serveur l'écrit, dans le fuseau de la
// campagne (« 2026-03-30T09:00:00+02:00 »), sans conversion vers celui de l'appareil.
export function quand(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(iso || '');
  if (!m) return '';
  const [a, mo, j] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return `${JOURS[new Date(Date.UTC(a, mo - 1, j)).getUTCDay()]} ${date(j, mo - 1, a)} à ${m[4]}:${m[5]}`;
}

// Une URL écrite en clair dans l'introduction ; la ponctuation qui la suit n'en fait pas partie.
const URL_TEXTE = /https?:\/\/[^\s<>"]+/g;

function lien(brut) {
  const u = brut.replace(/[.,;:!?)\]»']+$/, '');
  try {
    const p = new URL(u).protocol;
    if (p === 'http:' || p === 'https:') return [el('a', { href: u, rel: 'noopener noreferrer', texte: u }), brut.slice(u.length)];
  } catch { /* pas une URL : reste du texte */ }
  return [brut];
}

// Une ligne de texte, ses URL devenues des liens (éléments construits, jamais du HTML).
function ligne(texte) {
  const morceaux = [];
  let i = 0;
  for (const m of texte.matchAll(URL_TEXTE)) {
    morceaux.push(texte.slice(i, m.index), ...lien(m[0]));
    i = m.index + m[0].length;
  }
  morceaux.push(texte.slice(i));
  return morceaux.filter((x) => x !== '');
}

// L'introduction : paragraphes séparés par une ligne vide, retours à la ligne gardés.
export function paragraphes(texte) {
  return String(texte || '').replace(/\r\n?/g, '\n').split(/\n[ \t]*\n/).map((p) => p.trim()).filter(Boolean)
    .map((p) => el('p', {}, p.split('\n').flatMap((l, n) => (n ? [el('br'), ...ligne(l)] : ligne(l)))));
}

// Le prochain changement de phase (ouverture, fermeture, fin du délai de grâce) : la page
// redemande alors la campagne au serveur, qui tranche avec l'horloge de la base.
let minuteurPhase = 0;
function suivrePhase(c, recharger) {
  clearTimeout(minuteurPhase);
  const prochain = { a_venir: c.ouverture, ouverte: c.fermeture, retard: c.fin_delai_grace }[c.phase];
  const delai = Date.parse(prochain || '') - Date.now();
  // Au-delà d'un jour, la page aura été rechargée ; setTimeout ne dépasse pas 2^31 ms.
  if (recharger && delai > -60000 && delai < 86400000) minuteurPhase = setTimeout(recharger, Math.max(0, delai) + 1000);
}

// Le titre et l'introduction de la campagne remplacent ceux de index.html.
export function appliquerCampagne(c, recharger) {
  if (!c || typeof c !== 'object') return;
  etat.campagne = c;
  suivrePhase(c, recharger);
  if (c.titre) {
    $('titre').textContent = c.titre;
    document.title = c.titre;
  }
  const intro = paragraphes(c.introduction);
  if (intro.length) $('intro').replaceChildren(...intro);
}

// Ce que la phase permet. ferme : le formulaire n'est pas proposé (une réponse enregistrée
// reste modifiable si la campagne le permet) ; texte : ce que la page en dit.
export function situation() {
  const c = etat.campagne;
  if (!c) return { ferme: false, texte: '' };
  const modifiable = Boolean(etat.compte && c.modification_jusqu_a
    && (c.modification_jusqu_a === 'infinity' || Date.parse(c.modification_jusqu_a) > Date.now()));
  switch (c.phase) {
    case 'a_venir':
      return { ferme: true, titre: 'Ce formulaire n’est pas encore ouvert', texte: c.ouverture ? `Il ouvrira le ${quand(c.ouverture)} (heure de ${etat.fuseau}).` : 'Il ouvrira bientôt.' };
    case 'retard':
      return { ferme: false, titre: 'Le délai est dépassé', texte: `La campagne est close depuis le ${quand(c.fermeture)}, mais les réponses sont encore acceptées${c.fin_delai_grace ? ` jusqu’au ${quand(c.fin_delai_grace)}` : ''} (elles sont signalées en retard).` };
    case 'close':
    case 'archivee':
      return {
        ferme: !modifiable, titre: 'Cette campagne est close',
        texte: `${c.fermeture ? `Elle est close depuis le ${quand(c.fermeture)} : ` : ''}les nouvelles réponses ne sont plus acceptées.${modifiable ? ' Vous pouvez encore modifier votre réponse.' : ''}`,
      };
    case 'inconnue':
      return { ferme: true, texte: '' };
    case 'brouillon':
      return { ferme: true, titre: 'Cette campagne n’est pas encore publiée', texte: '' };
    default:
      return { ferme: false, texte: c.fermeture ? `Réponses acceptées jusqu’au ${quand(c.fermeture)} (heure de ${etat.fuseau}).` : '' };
  }
}

// La première campagne : celle de GET /api/form sans ?campagne= (gardée une fois apprise).
async function premiereCampagne() {
  const connue = lireLocal(CLE_PREMIERE)?.slug;
  if (connue) return connue;
  const r = await file.requete('GET', '/api/form');
  const slug = r.issue === 'succes' ? r.donnees?.campagne?.slug : null;
  if (!SLUG.test(slug || '')) return null;
  ecrireLocal(CLE_PREMIERE, { slug });
  return slug;
}

// La première campagne (celle de GET /api/form sans ?campagne=) reçoit ce qu'une page d'avant
// les campagnes a gardé : les clés sans slug sont relues une fois, réécrites sous le sien,
// effacées ; les envois en file sans campagne lui sont rattachés. Rend son slug (null si le
// serveur ne connaît pas de campagnes ou ne répond pas : ce sera pour la prochaine fois).
function anciennes() {
  try {
    return ANCIENNES_CLES.filter((c) => localStorage.getItem(c) !== null);
  } catch {
    return [];
  }
}
export const anciennesCles = () => anciennes().length > 0;

export async function migrer() {
  const connue = lireLocal(CLE_PREMIERE)?.slug;
  const aReprendre = anciennes();
  let sansCampagne = false;
  try {
    sansCampagne = (await file.lister()).some((e) => !e.campagne);
  } catch { /* pas de file */ }
  if (!aReprendre.length && !sansCampagne) return connue ?? null;
  const premiere = await premiereCampagne();
  if (!premiere) return null;
  for (const c of aReprendre) {
    const nouvelle = `${c}.${premiere}`;
    try {
      if (localStorage.getItem(nouvelle) === null) localStorage.setItem(nouvelle, localStorage.getItem(c));
    } catch { /* quota : l'ancienne reste, retentée la prochaine fois */
      continue;
    }
    effacerLocal(c);
  }
  if (sansCampagne) await file.rattacher(premiere).catch(() => {});
  return premiere;
}

function montrerAccueil(titre, enfants) {
  document.body.classList.add('accueil');
  // Les envois en file se voient par campagne, dans la liste.
  $('compteur-file').hidden = true;
  $('titre').textContent = titre;
  document.title = titre;
  $('intro').hidden = true;
  $('formulaire').hidden = true;
  $('campagnes').replaceChildren(...enfants);
  $('campagnes').hidden = false;
}

// Les envois gardés dans ce navigateur, par campagne : ils partent depuis la page de leur
// campagne, que la liste signale.
async function envoisParCampagne() {
  const n = new Map();
  try {
    for (const e of await file.lister()) {
      const s = e.campagne ?? lireLocal(CLE_PREMIERE)?.slug;
      if (s) n.set(s, (n.get(s) || 0) + 1);
    }
  } catch { /* pas de file */ }
  return n;
}

function carteCampagne(c, enFile = 0) {
  const dates = c.phase === 'a_venir' ? (c.ouverture ? `Ouvre le ${quand(c.ouverture)}` : 'Bientôt ouverte')
    : c.phase === 'retard' ? 'Délai dépassé : réponses encore acceptées, en retard'
      : c.fermeture ? `Réponses jusqu’au ${quand(c.fermeture)}` : 'Sans date de clôture';
  return el('li', { className: 'campagne', 'data-slug': c.slug },
    el('a', { href: adresse(c.slug), texte: c.titre || c.slug }),
    el('p', { className: 'aide', texte: dates }),
    enFile ? el('p', { className: 'en-file', texte: enFile === 1 ? 'Une réponse de ce navigateur y attend : ouvrez le formulaire pour l’envoyer ou la voir.'
      : `${enFile} réponses de ce navigateur y attendent : ouvrez le formulaire pour les envoyer ou les voir.` }) : null);
}

async function listeCampagnes() {
  const r = await file.requete('GET', '/api/campagnes');
  if (r.issue === 'succes' && Array.isArray(r.donnees?.campagnes)) {
    const liste = r.donnees.campagnes.filter((c) => SLUG.test(c?.slug));
    ecrireLocal(CLE_LISTE, { campagnes: liste });
    return { liste };
  }
  // Un serveur d'avant les campagnes : le formulaire unique, comme avant.
  if (r.status === 404 && r.donnees?.code === 'not_found') {
    ecrireLocal(CLE_LISTE, { ancien: true });
    return { ancien: true };
  }
  // Hors ligne : la dernière liste connue (la page d'une campagne s'ouvre par le service worker).
  const connue = lireLocal(CLE_LISTE);
  return { ancien: Boolean(connue?.ancien), liste: connue?.campagnes ?? null, message: r.message };
}

// La campagne d'un lien de modification /#edit=… : celle de la réponse (« campagne » de
// GET /api/modify), sinon la première.
async function campagneDuJeton(jeton) {
  const r = await file.requete('GET', '/api/modify', { jeton });
  const c = r.donnees?.campagne;
  const slug = typeof c === 'string' ? c : c?.slug;
  if (r.issue === 'succes' && SLUG.test(slug || '')) return slug;
  return premiereCampagne();
}

// L'accueil (/). Rend 'formulaire' quand la page doit montrer le formulaire elle-même (serveur
// sans campagnes), 'fin' sinon (page redirigée, ou liste affichée).
export async function accueil() {
  const jeton = /^#edit=([A-Za-z0-9_-]{16,})$/.exec(location.hash)?.[1];
  if (jeton) {
    const slug = await campagneDuJeton(jeton);
    if (slug) {
      location.replace(adresse(slug) + location.hash);
      return 'fin';
    }
  }
  const { liste, ancien, message } = await listeCampagnes();
  if (ancien) return 'formulaire';
  if (jeton && liste?.length) {
    location.replace(adresse(liste[0].slug) + location.hash);
    return 'fin';
  }
  if (liste?.length === 1) {
    location.replace(adresse(liste[0].slug));
    return 'fin';
  }
  if (!liste) {
    montrerAccueil('Disponibilités', [el('p', { className: 'statut', 'data-type': 'erreur', texte: `La liste des campagnes n’a pas pu être chargée : ${message} Réessayez quand la connexion sera revenue.` })]);
  } else if (!liste.length) {
    montrerAccueil('Aucune campagne ouverte', [el('p', { texte: 'Aucune campagne n’est ouverte pour le moment. Si vous avez reçu un lien vers un formulaire, ouvrez-le directement.' })]);
  } else {
    const enFile = await envoisParCampagne();
    montrerAccueil('Campagnes ouvertes', [
      el('p', { texte: 'Choisissez le formulaire auquel vous voulez répondre :' }),
      el('ul', { className: 'campagnes', id: 'campagnes-liste' }, liste.map((c) => carteCampagne(c, enFile.get(c.slug))))]);
  }
  return 'fin';
}
