// Formulaire de disponibilités : créneaux (GET /api/form), brouillon enregistré à chaque
// changement, envoi par la file d'attente (file.js), modification, historique, retrait.
// Sans dépendance ni étape de construction ; aucun script ni style en ligne (CSP 'self').
import * as file from './file.js';

const $ = (id) => document.getElementById(id);
const CHAMPS = ['nom', 'email', 'creneaux', 'commentaire'];
// localStorage, format versionné : le brouillon (synchrone, donc écrit même quand la page se
// ferme), le lien de modification avec la dernière réponse connue, le dernier catalogue.
const CLE_BROUILLON = 'fiable.brouillon';
const CLE_COMPTE = 'fiable.compte';
const CLE_FORM = 'fiable.formulaire';
const FORMAT = 1;

const formulaire = $('formulaire');
const bouton = $('envoyer');
const etat = {
  flags: { autosave: true, offline_queue: true, modification: true, email_links: true },
  fuseau: 'Europe/Brussels',
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

// --- Outils -------------------------------------------------------------------------------

function el(nom, attributs = {}, ...enfants) {
  const e = document.createElement(nom);
  for (const [k, v] of Object.entries(attributs)) {
    if (k === 'texte') e.textContent = v;
    else if (k in e) e[k] = v;
    else e.setAttribute(k, v);
  }
  e.append(...enfants.filter((x) => x != null));
  return e;
}

function annoncer(texte, type = 'info', discret = false) {
  const s = $('statut');
  s.textContent = texte;
  s.dataset.type = type;
  s.toggleAttribute('data-discret', discret);
}

// Dates en français sans Intl sur le chemin du démarrage : le premier Intl.DateTimeFormat
// d'une page charge les données ICU (40 à 50 ms mesurés dans Chromium).
const JOURS = ['dimanche', 'lundi', 'mardi', 'mercredi', 'jeudi', 'vendredi', 'samedi'];
const MOIS = ['janvier', 'février', 'mars', 'avril', 'mai', 'juin', 'juillet', 'août', 'septembre', 'octobre', 'novembre', 'décembre'];
const deux = (n) => String(n).padStart(2, '0');
const heure = (t, s) => {
  const d = new Date(t);
  return `${deux(d.getHours())}:${deux(d.getMinutes())}${s ? `:${deux(d.getSeconds())}` : ''}`;
};
const date = (j, m, a) => `${j === 1 ? '1er' : j} ${MOIS[m]} ${a}`;
const dateHeure = (t) => {
  const d = new Date(t);
  return `${date(d.getDate(), d.getMonth(), d.getFullYear())} à ${heure(t)}`;
};
const etiquette = (v) => `"v${v}"`;
const versionDe = (ifMatch) => Number(String(ifMatch).replace(/\D/g, ''));
const emailValide = (m) => /^[^\s@]+@[^\s@]+$/.test(m);

function lireLocal(cle) {
  try {
    const v = JSON.parse(localStorage.getItem(cle));
    return v?.format === FORMAT ? v : null;
  } catch {
    return null;
  }
}

// Rend false (et le dit) si le navigateur refuse d'écrire : quota plein, stockage interdit.
function ecrireLocal(cle, valeur) {
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

function effacerLocal(cle) {
  try {
    localStorage.removeItem(cle);
  } catch { /* rien à effacer */ }
}

let persistance = false;
function demanderPersistance() {
  if (!persistance) navigator.storage?.persist?.().catch(() => {});
  persistance = true;
}

const modeModification = () => Boolean(etat.flags.modification && etat.compte && etat.base);
const client = () => ({ longueur: etat.envois.length, autosaveMs: etat.dureeBrouillon });

// --- Créneaux -----------------------------------------------------------------------------

// Le jour d'un créneau dans le fuseau de l'institution : le champ « jour » du serveur.
function jourDe(c) {
  const [a, m, j] = c.jour.split('-').map(Number);
  const t = `${JOURS[new Date(Date.UTC(a, m - 1, j)).getUTCDay()]} ${date(j, m - 1, a)}`;
  return t.charAt(0).toUpperCase() + t.slice(1);
}

// Un libellé sans heure reçoit les heures du créneau, dans le fuseau de l'institution.
let formatHeures = null;
function heuresDe(c) {
  if (/\d/.test(c.libelle)) return '';
  try {
    if (formatHeures?.resolvedOptions().timeZone !== etat.fuseau) {
      formatHeures = new Intl.DateTimeFormat('fr-BE', { hour: '2-digit', minute: '2-digit', timeZone: etat.fuseau });
    }
    const f = formatHeures;
    return ` (${f.format(new Date(c.debut))} – ${f.format(new Date(c.fin))})`;
  } catch {
    return '';
  }
}

function nomCreneau(id) {
  const c = etat.creneaux.get(id);
  return c ? `${jourDe(c)}, ${c.libelle}` : `${id} (plus proposé)`;
}

function caseCreneau(id, texte) {
  return el('div', { className: 'case' },
    el('input', { type: 'checkbox', name: 'creneaux', value: id, id: `creneau-${id}` }),
    el('label', { htmlFor: `creneau-${id}`, texte }));
}

function appliquerFormulaire(donnees) {
  const choix = lireChamps().creneaux;
  etat.fuseau = donnees.fuseau || 'Europe/Brussels';
  Object.assign(etat.flags, donnees.fonctionnalites);
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
function cocher(ids) {
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
    const ligne = caseCreneau(id, id);
    ligne.firstChild.checked = true;
    autres.append(ligne);
  }
}

async function chargerFormulaire() {
  const r = await file.requete('GET', '/api/form');
  if (r.issue === 'succes' && r.donnees) {
    appliquerFormulaire(r.donnees);
    ecrireLocal(CLE_FORM, { donnees: r.donnees });
    afficher();
  } else if (!etat.catalogue) {
    annoncer(`Les créneaux n’ont pas pu être chargés : ${r.message} Ils s’afficheront dès que la connexion reviendra.`, 'erreur');
  }
}

// --- Champs, erreurs, brouillon -----------------------------------------------------------

function lireChamps() {
  return {
    nom: $('nom').value,
    email: $('email').value,
    creneaux: [...formulaire.querySelectorAll('input[name="creneaux"]:checked')].map((c) => c.value),
    commentaire: $('commentaire').value,
  };
}

function ecrireChamps(c) {
  $('nom').value = c.nom ?? '';
  $('email').value = c.email ?? '';
  $('commentaire').value = c.commentaire ?? '';
  cocher(c.creneaux || []);
}

const corpsDe = (c) => ({ email: c.email.trim(), nom: c.nom.trim(), creneaux: c.creneaux, commentaire: c.commentaire ?? '' });

function effacerErreur(champ) {
  $(`erreur-${champ}`).textContent = '';
  $(champ).removeAttribute('aria-invalid');
}

// Affiche erreurs[champ] sous chaque champ ; rend le premier champ en erreur.
function afficherErreurs(erreurs) {
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

function focaliser(champ) {
  if (champ) (champ === 'creneaux' ? formulaire.querySelector('input[name="creneaux"]') : $(champ))?.focus();
}

function verifier(c) {
  const e = {};
  if (!c.nom.trim()) e.nom = 'Indiquez votre nom.';
  if (!c.email.trim()) e.email = 'Indiquez votre adresse e-mail.';
  else if (!emailValide(c.email.trim())) e.email = 'Cette adresse e-mail n’est pas valide (exemple : prenom.nom@exemple.be).';
  if (!c.creneaux.length) e.creneaux = 'Cochez au moins un créneau.';
  return e;
}

// Appelé à chaque changement, sans délai : une écriture coûte moins d'une milliseconde (voir
// tests/bench/form_bench.mjs), et un navigateur fermé juste après la frappe ne perd rien
// (à la fermeture, « pagehide » n'est pas garanti).
function sauverBrouillon() {
  if (!etat.flags.autosave || etat.attente) return;
  const t0 = performance.now();
  const champs = lireChamps();
  if (!etat.base && !champs.nom.trim() && !champs.email.trim() && !champs.creneaux.length && !champs.commentaire.trim()) {
    effacerBrouillon();
    return;
  }
  if (!ecrireLocal(CLE_BROUILLON, { le: Date.now(), base: etat.base, champs })) {
    $('etat-brouillon').textContent = 'Brouillon non enregistré';
    $('etat-brouillon').dataset.erreur = '';
    return;
  }
  delete $('etat-brouillon').dataset.erreur;
  const t1 = performance.now();
  etat.dureeBrouillon = t1 - t0;
  performance.measure('fiable-brouillon', { start: t0, end: t1 });
  if (performance.getEntriesByName('fiable-brouillon').length > 500) performance.clearMeasures('fiable-brouillon');
  $('etat-brouillon').textContent = `Brouillon enregistré à ${heure(Date.now())}`;
  demanderPersistance();
}

function effacerBrouillon() {
  effacerLocal(CLE_BROUILLON);
  etat.modifie = false;
  $('etat-brouillon').textContent = '';
}

// Après un envoi confirmé : le brouillon est effacé s'il contient ce qui est parti (un autre
// onglet a pu en écrire un autre entre-temps).
function effacerBrouillonEnvoye(corps) {
  const b = lireLocal(CLE_BROUILLON);
  if (!b?.champs || JSON.stringify(corpsDe(b.champs)) === JSON.stringify(corps)) effacerBrouillon();
}

// Reprend le brouillon s'il porte sur ce qui est affiché (nouvelle réponse, ou la même).
function reprendreBrouillon() {
  const b = etat.flags.autosave && lireLocal(CLE_BROUILLON);
  if (!b?.champs || (b.base?.id ?? null) !== (etat.base?.id ?? null)) return;
  ecrireChamps(b.champs);
  if (b.base) etat.base = b.base;
  etat.modifie = true;
  $('etat-brouillon').textContent = `Brouillon enregistré à ${heure(b.le)}`;
  annoncer(`Votre brouillon du ${dateHeure(b.le)} a été restauré${b.base ? ' (modifications pas encore envoyées)' : ''}.`);
}

// --- Affichage ----------------------------------------------------------------------------

function afficherReseau() {
  const enLigne = navigator.onLine !== false;
  $('reseau').textContent = enLigne ? 'En ligne' : 'Hors ligne';
  $('reseau').dataset.etat = enLigne ? 'en-ligne' : 'hors-ligne';
}

function decrireEnvoi(e) {
  if (e.etat === 'envoi') return 'Envoi en cours…';
  if (!e.essais) return 'En attente d’envoi.';
  return `Essai n° ${e.essais} échoué : ${e.derniere_erreur} Nouvel essai automatique vers ${heure(e.prochain_essai, true)}.`;
}

function afficherFile() {
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

function afficher() {
  const f = etat.flags;
  const rep = modeModification() ? etat.compte.reponse : null;
  const retiree = Boolean(rep?.deleted_at);
  const enFile = etat.envois.length > 0;
  const merci = etat.merci || Boolean(etat.compte && !f.modification && !enFile);
  $('merci').hidden = !merci;
  $('bloc-lien').hidden = $('voir-reponse').hidden = !f.modification;
  $('compte').hidden = merci || !rep || retiree;
  $('retiree').hidden = merci || !retiree;
  formulaire.hidden = merci || retiree || etat.attente;
  $('champs').disabled = enFile;
  bouton.disabled = enFile || !etat.catalogue;
  bouton.textContent = rep ? 'Enregistrer les modifications' : 'Envoyer';
  $('aide-envoi').textContent = enFile ? 'Le formulaire redeviendra modifiable après l’envoi (ou si vous retirez l’envoi de la file).' : '';
  $('etat-brouillon').hidden = !f.autosave;
  $('compteur-file').hidden = !f.offline_queue && !enFile;
  $('bloc-demande-lien').hidden = !f.email_links;
  $('intro').hidden = Boolean(rep) || merci;
  if (rep) {
    $('compte-texte').textContent = `Envoyée le ${dateHeure(rep.created_at)}${rep.version > 1 ? `, modifiée le ${dateHeure(rep.updated_at)}` : ''} (version ${rep.version}). Vous pouvez la modifier ci-dessous.`;
    $('retiree-texte').textContent = retiree ? `Vous avez retiré votre réponse le ${dateHeure(rep.deleted_at)} : elle n’est plus prise en compte.` : '';
    afficherHistorique(rep);
  }
  afficherFile();
}

// Le contenu de chaque version, reconstruit depuis la version actuelle en remontant
// l'historique (chaque entrée donne, par champ modifié, la valeur avant et après).
function versions(rep) {
  const c = { ...rep };
  const h = rep.historique || [];
  const liste = [];
  for (let i = h.length; i >= 0; i--) {
    liste.push({ version: i ? h[i - 1].nouvelle_version : 1, contenu: { ...c }, le: i ? h[i - 1].modifie_le : rep.created_at, champs: h[i - 1]?.champs });
    for (const [champ, v] of Object.entries(h[i - 1]?.champs || {})) c[champ] = v.avant;
  }
  return liste;
}

const NOMS = { email: 'adresse e-mail', nom: 'nom', creneaux: 'créneaux', commentaire: 'commentaire' };
function resume(champs) {
  if (!champs) return 'réponse envoyée';
  if (champs.deleted_at) return champs.deleted_at.apres ? 'réponse retirée' : 'retrait annulé';
  return `modifié : ${Object.keys(champs).map((c) => NOMS[c] || c).join(', ')}`;
}

function contenu(c) {
  const dl = el('dl', { className: 'contenu' });
  const creneaux = c.creneaux?.length ? el('ul', {}, ...c.creneaux.map((id) => el('li', { texte: nomCreneau(id) }))) : '—';
  for (const [titre, valeur] of [['Nom', c.nom], ['E-mail', c.email], ['Créneaux', creneaux], ['Commentaire', c.commentaire]]) {
    dl.append(el('dt', { texte: titre }), el('dd', {}, valeur || '—'));
  }
  return dl;
}

function afficherHistorique(rep) {
  $('historique-liste').replaceChildren(...versions(rep).map((v) => {
    const actuelle = v.version === rep.version;
    return el('li', {},
      el('p', {}, el('strong', { texte: `Version ${v.version}${actuelle ? ' (actuelle)' : ''}` }), ` — ${dateHeure(v.le)} — ${resume(v.champs)}`),
      el('details', {}, el('summary', { texte: 'Voir le contenu' }), contenu(v.contenu)),
      actuelle || v.contenu.deleted_at ? null
        : el('button', { type: 'button', className: 'secondaire', 'data-restaurer': v.version, texte: `Restaurer la version ${v.version}` }));
  }));
}

function montrerMerci() {
  etat.merci = true;
  $('lien-modification').value = etat.compte ? `${location.origin}/#edit=${etat.compte.jeton}` : '';
  afficher();
  $('merci').focus();
}

function montrerDeja(titre, texte, email) {
  $('titre-deja').textContent = titre;
  $('deja-texte').textContent = texte + (etat.flags.email_links ? ' Vous ne l’avez plus ? Recevez-en un nouveau par e-mail :' : '');
  $('email-lien').value = email || '';
  $('deja-resultat').textContent = '';
  $('deja').hidden = false;
}

function montrerConflit(mienne, serveur) {
  etat.conflit = serveur;
  const a = contenu(mienne);
  const b = contenu(serveur);
  CHAMPS.forEach((champ, i) => {
    if (JSON.stringify(mienne[champ] || '') === JSON.stringify(serveur[champ] || '')) return;
    for (const dl of [a, b]) for (const n of [2 * i, 2 * i + 1]) dl.children[n].classList.add('different');
  });
  a.id = 'conflit-mienne';
  b.id = 'conflit-serveur';
  $('conflit-mienne').replaceWith(a);
  $('conflit-serveur').replaceWith(b);
  $('titre-conflit-serveur').textContent = `Version enregistrée (version ${serveur.version}, ${dateHeure(serveur.updated_at)})`;
  $('conflit').hidden = false;
  $('conflit').focus();
}

function masquerAlertes() {
  $('deja').hidden = $('conflit').hidden = true;
  etat.conflit = null;
}

// --- Réponse enregistrée ------------------------------------------------------------------

function garderCompte() {
  if (etat.compte) ecrireLocal(CLE_COMPTE, etat.compte);
  else effacerLocal(CLE_COMPTE);
}

// Une version connue du serveur. remplir : le formulaire la reprend ; sinon il garde la
// saisie en cours (qui porte sur etat.base : un envoi donnera un conflit à montrer).
function majReponse(rep, remplir) {
  if (!rep || !etat.compte) return;
  etat.compte.reponse = rep;
  garderCompte();
  etat.attente = false;
  if (remplir || !etat.modifie || etat.base?.id !== rep.id) {
    etat.base = { id: rep.id, version: rep.version };
    if (!etat.envois.length) ecrireChamps(rep);
    etat.modifie = false;
  }
  afficher();
}

function jetonInvalide(message) {
  const email = etat.compte?.reponse?.email || lireChamps().email;
  etat.compte = etat.base = null;
  etat.attente = false;
  garderCompte();
  afficher();
  montrerDeja('Votre lien de modification n’est plus valable', message || 'Un lien plus récent a peut-être été demandé.', email);
}

async function chargerReponse() {
  if (!etat.compte || !etat.flags.modification) return;
  const r = await file.requete('GET', '/api/modify', { jeton: etat.compte.jeton });
  if (r.issue === 'succes') majReponse(r.donnees, false);
  else if (r.status === 401) jetonInvalide(r.donnees?.detail);
  else if (etat.compte.reponse) annoncer(`Votre réponse est affichée telle que gardée dans ce navigateur : ${r.message}`, 'attente');
  else annoncer(`Votre réponse n’a pas pu être chargée : ${r.message} Elle s’affichera dès que la connexion reviendra.`, 'erreur');
}

// Retrait, annulation du retrait, restauration : des actions directes, sans file.
async function action(methode, url, corps, texteSucces) {
  annoncer('Enregistrement en cours…');
  const r = await file.requete(methode, url, {
    corps, jeton: etat.compte.jeton, ifMatch: etiquette(etat.compte.reponse.version), cle: file.nouvelleCle(), client: client(),
  });
  if (r.issue === 'succes') {
    effacerBrouillon();
    majReponse(r.donnees, true);
    annoncer(texteSucces(r.donnees), 'succes');
  } else if (r.status === 401) {
    jetonInvalide(r.donnees?.detail);
  } else if (r.status === 412 && r.donnees?.current) {
    majReponse(r.donnees.current, false);
    annoncer(`${r.donnees.detail} Vérifiez-la puis recommencez.`, 'erreur');
  } else {
    annoncer(r.issue === 'reseau' ? `Action impossible : ${r.message} Réessayez quand la connexion sera revenue.` : r.message, 'erreur');
  }
}

// --- Envoi --------------------------------------------------------------------------------

async function envoyerSansFile(envoi) {
  bouton.disabled = true;
  const r = await file.envoyerSansFile(envoi);
  if (r.issue === 'reseau' || r.issue === 'reessai') {
    annoncer(`Votre réponse n’a pas été envoyée : ${r.message} Elle reste dans le formulaire : réessayez dans un instant.`, 'erreur');
  }
  afficher();
}

async function envoyer(evenement) {
  evenement.preventDefault();
  if (etat.envois.length || bouton.disabled) return;
  for (const c of CHAMPS) effacerErreur(c);
  masquerAlertes();
  const saisie = lireChamps();
  const erreurs = verifier(saisie);
  if (Object.keys(erreurs).length) {
    focaliser(afficherErreurs(erreurs));
    annoncer('Certains champs sont à compléter : voyez les messages sous les champs.', 'erreur');
    return;
  }
  sauverBrouillon();
  const corps = corpsDe(saisie);
  const rep = modeModification() && etat.compte.reponse;
  if (rep && etat.base.version === rep.version && JSON.stringify(corpsDe(rep)) === JSON.stringify(corps)) {
    annoncer('Aucune modification à enregistrer.');
    return;
  }
  const envoi = file.nouvelEnvoi(rep
    ? { type: 'modification', methode: 'PUT', url: '/api/modify', corps, jeton: etat.compte.jeton, ifMatch: etiquette(etat.base.version), autosaveMs: etat.dureeBrouillon }
    : { type: 'creation', methode: 'POST', url: '/api/submit', corps, autosaveMs: etat.dureeBrouillon });
  demanderPersistance();
  annoncer('Envoi en cours…');
  if (!etat.flags.offline_queue) return envoyerSansFile(envoi);
  try {
    await file.ajouter(envoi);
  } catch (e) {
    annoncer(`Votre envoi n’a pas pu être gardé dans ce navigateur (${e?.name === 'QuotaExceededError' ? 'espace de stockage plein' : 'stockage indisponible'}) : il part directement ; gardez cette page ouverte.`, 'erreur');
    return envoyerSansFile(envoi);
  }
  await file.traiter({ cle: envoi.cle, force: true, direct: true }).catch(() => {});
  await rafraichirFile();
  const reste = etat.envois.find((e) => e.cle === envoi.cle);
  if (reste) annoncer(`Mise en file d’attente : votre réponse est gardée dans ce navigateur et sera envoyée automatiquement dès que possible.${reste.derniere_erreur ? ` Raison : ${reste.derniere_erreur}` : ''}`, 'attente');
}

// Réponse 2xx, appelée avant que l'envoi ne quitte la file.
async function succes(envoi, r) {
  const d = r.donnees || {};
  effacerBrouillonEnvoye(envoi.corps);
  if (envoi.type === 'creation') {
    etat.compte = { jeton: d.edit_token, reponse: { ...corpsDe({ ...envoi.corps, ...d }), id: d.id, version: d.version, created_at: d.created_at, updated_at: d.created_at, deleted_at: null, historique: [] } };
    garderCompte();
    etat.base = { id: d.id, version: d.version };
    montrerMerci();
    annoncer('Merci, votre réponse est enregistrée.', 'succes', true);
  } else {
    majReponse(d, true);
    annoncer(`Vos modifications sont enregistrées (version ${d.version}).`, 'succes');
  }
  // Le compte voyage dans le message : l'autre onglet qui relirait localStorage à l'arrivée
  // du message peut encore y trouver l'ancienne valeur (écriture propagée plus tard).
  file.diffuser({ type: 'compte', compte: etat.compte });
}

// Refus 4xx qui demande la personne : la saisie reste dans le formulaire, modifiable.
async function refus(envoi, r) {
  const d = r.donnees || {};
  ecrireChamps(envoi.corps);
  const rep = envoi.type === 'modification' && etat.compte?.reponse;
  if (rep) {
    etat.base = { id: rep.id, version: versionDe(envoi.if_match) };
    etat.modifie = true;
  }
  if (r.status === 412 && d.current && rep) {
    // La personne voit la version du serveur : enregistrer le formulaire la remplacera.
    etat.compte.reponse = d.current;
    garderCompte();
    etat.base = { id: d.current.id, version: d.current.version };
    sauverBrouillon();
    afficher();
    annoncer(d.detail, 'erreur', true);
    montrerConflit(envoi.corps, d.current);
    return;
  }
  sauverBrouillon();
  if (r.status === 401) return jetonInvalide(d.detail);
  annoncer(r.message, 'erreur');
  if (d.code === 'submission_withdrawn') return chargerReponse();
  if (d.code === 'already_submitted') {
    afficherErreurs({ email: 'Une réponse existe déjà pour cette adresse e-mail.' });
    if (!rep) montrerDeja('Vous avez déjà répondu avec cette adresse', 'Pour modifier votre réponse, utilisez le lien personnel de modification reçu par e-mail.', envoi.corps.email);
    return;
  }
  focaliser(afficherErreurs(d.errors));
}

async function rafraichirFile() {
  try {
    etat.envois = await file.lister();
  } catch {
    etat.envois = [];
  }
  afficher();
}

// --- Événements ---------------------------------------------------------------------------

const clic = (id, fn) => $(id).addEventListener('click', fn);

function brancher() {
  formulaire.addEventListener('submit', envoyer);
  formulaire.addEventListener('input', (e) => {
    etat.modifie = true;
    if (CHAMPS.includes(e.target.name)) effacerErreur(e.target.name);
    sauverBrouillon();
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) file.traiter().catch(() => {});
  });
  const reseau = () => {
    afficherReseau();
    if (!navigator.onLine) {
      annoncer('Hors ligne : vous pouvez continuer ; votre réponse sera gardée dans ce navigateur et envoyée au retour de la connexion.', 'attente');
      return;
    }
    annoncer(etat.envois.length ? 'Connexion rétablie : envoi de la file d’attente…' : 'Connexion rétablie.');
    if (!etat.catalogue) chargerFormulaire();
    chargerReponse();
  };
  addEventListener('online', reseau);
  addEventListener('offline', reseau);

  // Les autres onglets : la file a changé, ou une réponse vient d'être enregistrée.
  file.evenements.addEventListener('change', rafraichirFile);
  file.evenements.addEventListener('message', ({ detail }) => {
    if (detail?.type === 'file') rafraichirFile();
    if (detail?.type !== 'compte') return;
    const avant = etat.compte?.reponse?.id;
    etat.compte = detail.compte !== undefined ? detail.compte : lireLocal(CLE_COMPTE);
    if (!etat.compte?.reponse) return;
    if (avant === etat.compte.reponse.id) return majReponse(etat.compte.reponse, false);
    if (etat.modifie && !etat.envois.length) {
      annoncer('Une réponse vient d’être enregistrée depuis un autre onglet de ce navigateur.');
      return;
    }
    ecrireChamps({});
    etat.base = { id: etat.compte.reponse.id, version: etat.compte.reponse.version };
    montrerMerci();
  });

  $('file-liste').addEventListener('click', async (e) => {
    const b = e.target.closest('button[data-action]');
    const cle = b?.closest('li').dataset.cle;
    if (!cle) return;
    if (b.dataset.action === 'reessayer') {
      annoncer('Nouvel essai en cours…');
      await file.traiter({ cle, force: true }).catch(() => {});
      await rafraichirFile();
      if (etat.envois.some((x) => x.cle === cle)) annoncer('L’envoi a de nouveau échoué ; il reste dans la file d’attente et sera réessayé automatiquement.', 'attente');
      return;
    }
    const envoi = etat.envois.find((x) => x.cle === cle);
    await file.retirer(cle);
    if (envoi) ecrireChamps(envoi.corps);
    await rafraichirFile();
    annoncer('Envoi retiré de la file d’attente. Votre saisie reste dans le formulaire : vous pouvez la modifier et l’envoyer de nouveau.');
    $('nom').focus();
  });

  clic('copier', async () => {
    try {
      await navigator.clipboard.writeText($('lien-modification').value);
      annoncer('Lien copié.', 'succes');
    } catch {
      $('lien-modification').select();
      annoncer('Le lien est sélectionné : copiez-le (Ctrl+C, ou appui long sur téléphone).');
    }
  });
  clic('voir-reponse', () => {
    etat.merci = false;
    annoncer('');
    if (etat.compte?.reponse) ecrireChamps(etat.compte.reponse);
    afficher();
    $('nom').focus();
    chargerReponse();
  });
  clic('demander-lien', async () => {
    const email = $('email-lien').value.trim();
    const sortie = $('deja-resultat');
    if (!emailValide(email)) {
      sortie.textContent = 'Indiquez une adresse e-mail valide.';
      return;
    }
    sortie.textContent = 'Demande en cours…';
    const r = await file.requete('POST', '/api/modify/link', { corps: { email }, client: client() });
    sortie.textContent = r.issue === 'succes' ? r.donnees?.detail || 'Demande enregistrée.'
      : r.issue === 'reseau' ? `Demande impossible : ${r.message} Réessayez quand la connexion sera revenue.`
        : r.donnees?.errors?.email || r.message;
  });
  // Le formulaire contient la version de la personne (peut-être retouchée) : l'envoyer.
  clic('garder-mienne', () => formulaire.requestSubmit());
  clic('prendre-serveur', () => {
    const serveur = etat.conflit;
    if (!serveur) return;
    masquerAlertes();
    effacerBrouillon();
    majReponse(serveur, true);
    annoncer(`La version enregistrée (version ${serveur.version}) est reprise dans le formulaire.`, 'succes');
    $('nom').focus();
  });
  clic('bouton-historique', () => {
    const h = $('historique');
    h.hidden = !h.hidden;
    $('bouton-historique').setAttribute('aria-expanded', String(!h.hidden));
    if (!h.hidden) chargerReponse();
  });
  $('historique-liste').addEventListener('click', (e) => {
    const v = Number(e.target.closest('button[data-restaurer]')?.dataset.restaurer);
    if (v) action('POST', '/api/restore', { version: v }, (d) => `La version ${v} est restaurée : elle devient la version ${d.version}.`);
  });
  clic('bouton-retirer', () => {
    $('confirmer-retrait').hidden = false;
    $('retrait-non').focus();
  });
  clic('retrait-non', () => {
    $('confirmer-retrait').hidden = true;
    $('bouton-retirer').focus();
  });
  clic('retrait-oui', () => {
    $('confirmer-retrait').hidden = true;
    action('DELETE', '/api/modify', undefined, () => 'Votre réponse est retirée.');
  });
  clic('annuler-retrait', () => action('POST', '/api/restore', { undelete: true }, (d) => `Le retrait est annulé : votre réponse compte de nouveau (version ${d.version}).`));
  clic('bouton-oublier', () => {
    // eslint-disable-next-line no-alert
    if (!confirm('Oublier votre réponse dans ce navigateur ? Elle reste enregistrée ; pour la modifier ensuite, il faudra votre lien de modification.')) return;
    etat.compte = etat.base = null;
    garderCompte();
    effacerBrouillon();
    ecrireChamps({});
    afficher();
    annoncer('Ce navigateur ne garde plus votre réponse ni votre lien de modification.');
  });
}

// --- Démarrage ----------------------------------------------------------------------------

// Le lien reçu par e-mail, PUBLIC_URL/#edit=JETON : le jeton est gardé puis retiré de la barre
// d'adresse (historique, partage d'écran).
function lireLienModification() {
  if (!location.hash.startsWith('#edit=')) return;
  const jeton = /^#edit=([A-Za-z0-9_-]{16,})$/.exec(location.hash)?.[1];
  history.replaceState(null, '', location.pathname + location.search);
  if (jeton && etat.compte?.jeton !== jeton) etat.compte = { jeton, reponse: null };
  garderCompte();
}

async function demarrer() {
  afficherReseau();
  etat.compte = lireLocal(CLE_COMPTE);
  lireLienModification();
  const cache = lireLocal(CLE_FORM);
  if (cache) appliquerFormulaire(cache.donnees);
  brancher();
  file.configurer({ succes, refus });
  const frais = chargerFormulaire();
  if (!cache) await frais;

  // Interactif dès que le catalogue et le contenu connus sont affichés (localStorage) ; la
  // file (IndexedDB) est lue ensuite.
  const modif = etat.compte && etat.flags.modification;
  if (modif && etat.compte.reponse) {
    const rep = etat.compte.reponse;
    etat.base = { id: rep.id, version: rep.version };
    ecrireChamps(rep);
    reprendreBrouillon();
  } else if (modif) {
    etat.attente = true;
    annoncer('Chargement de votre réponse…');
  } else {
    reprendreBrouillon();
    if (etat.compte) annoncer('La modification des réponses est momentanément désactivée.');
  }
  afficher();
  document.documentElement.dataset.pret = '1';
  performance.mark('fiable-pret');

  try {
    etat.envois = await file.lister();
  } catch {
    etat.flags.offline_queue = false;
    annoncer('Ce navigateur ne permet pas de garder les envois (stockage indisponible) : gardez la page ouverte jusqu’à la confirmation.', 'erreur');
  }
  const e = etat.envois[0];
  if (e) {
    ecrireChamps(e.corps);
    if (e.type === 'modification' && etat.compte?.reponse) etat.base = { id: etat.compte.reponse.id, version: versionDe(e.if_match) };
    annoncer('Mise en file d’attente : votre réponse attend d’être envoyée ; nouvel essai en cours…', 'attente');
  }
  afficher();
  if (modif) {
    chargerReponse().then(() => {
      if (!etat.envois.length && !etat.modifie && etat.compte?.reponse) reprendreBrouillon();
      if ($('statut').textContent === 'Chargement de votre réponse…') annoncer('');
    });
  }
  // Même si la file vient d'être désactivée : ce qui y est déjà part quand même.
  file.demarrer().catch(() => {});
  await frais;
  navigator.serviceWorker?.register('/sw.js').catch(() => {});
}

demarrer();
