// Une campagne (/admin/campagne.html?id=N) : ses réglages (PUT avec If-Match ; sur 412 le
// message français et un rechargement qui garde les saisies), ouverture, fermeture,
// archivage (lecture seule ensuite), duplication ; l'éditeur de créneaux (un créneau, une
// série, un fichier .ics ou .csv, ordre, retrait) ; la matrice personnes × créneaux par
// pages, avec les créneaux non couverts signalés, et l'export CSV. Un créneau se modifie
// sur sa ligne (« Modifier » : début, fin, libellé, besoin). Toutes les heures sont
// celles du fuseau de la campagne, montrées avec Intl et saisies en heure locale
// « AAAA-MM-JJTHH:MM » que le serveur convertit (contrat des campagnes).
import { el } from '../commun/dom.js';
import { format, heureMinute, saisieLocale } from '../commun/dates.js';
import { verifierService } from './commun.js';
import {
  ADRESSE_API, annoncerDans, etiquettePhase, fuseauxConnus, lignesErreurs, lireChamps, pret,
  remplirChamps, requete, slugDepuis, verifierChamps,
} from './campagnes-outils.js';

const id = new URLSearchParams(window.location.search).get('id');
const base = `${ADRESSE_API}/${encodeURIComponent(id || '')}`;
const $ = (x) => document.getElementById(x);
const message = $('message');
const form = $('form-reglages');

let campagne = null; // la dernière version lue du serveur
let etag = null;     // son ETag, envoyé en If-Match
let sale = false;    // des saisies non enregistrées dans les réglages

// --- Affichage des heures dans le fuseau de la campagne ------------------------------------

const fuseau = () => (campagne && campagne.fuseau) || undefined;
function jourCourt(iso) {
  const t = format(fuseau(), { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' }).format(new Date(iso));
  return t.charAt(0).toUpperCase() + t.slice(1);
}
const plage = (c) => `${jourCourt(c.debut)}, ${heureMinute(new Date(c.debut), fuseau())}–${heureMinute(new Date(c.fin), fuseau())}`;

// --- La campagne --------------------------------------------------------------------------

const ETATS_BOUTONS = ['ouvrir', 'fermer', 'archiver'];

function afficherCampagne() {
  const c = campagne;
  document.title = `${c.titre} — Campagnes — Administration Fiable`;
  $('titre-page').textContent = c.titre;
  $('phase').replaceChildren(etiquettePhase(c.phase));
  $('lien-formulaire').href = c.adresse || `/c/${c.slug}/`;
  $('csv').href = `${base}/reponses.csv`;
  $('lien-participants').href = `/admin/participants.html?id=${encodeURIComponent(id)}`;
  $('version').textContent = `Version ${c.version} ; fuseau ${c.fuseau}.`;
  $('resume').textContent = `Adresse du formulaire : ${window.location.origin}${c.adresse || `/c/${c.slug}/`}`;
  $('ouvrir').hidden = c.etat === 'ouverte' || c.etat === 'archivee';
  $('fermer').hidden = c.etat !== 'ouverte';
  $('archiver').hidden = c.etat === 'archivee';
  if (!sale) remplirChamps(form, c);
  if (!$('d-slug').value) {
    $('d-titre').value = `${c.titre} (copie)`;
    $('d-slug').value = slugDepuis(`${c.slug}-copie`);
  }
  const archivee = c.etat === 'archivee';
  $('lecture-seule').hidden = !archivee;
  // Archivée : lecture seule ; la duplication, la matrice et l'export restent permis.
  for (const champ of document.querySelectorAll('#form-reglages :is(input,textarea,button), .ajouts :is(input,button), #creneaux button')) {
    champ.disabled = archivee;
  }
  afficherCreneaux();
}

async function chargerCampagne() {
  const r = await requete(base);
  campagne = r.donnees;
  etag = r.etag || `"v${campagne.version}"`;
  afficherCampagne();
}

// Un changement d'état (ouvrir, fermer, archiver) : les valeurs enregistrées, l'état nouveau.
function corpsEnregistre(c, changements = {}) {
  return {
    slug: c.slug, titre: c.titre, introduction: c.introduction, fuseau: c.fuseau,
    ouverture: c.ouverture ?? null, fermeture: c.fermeture ?? null,
    delai_grace_minutes: c.delai_grace_minutes ?? 0, modification_jusqu_a: c.modification_jusqu_a ?? null,
    etat: c.etat, ...changements,
  };
}

// PUT de la campagne avec If-Match ; la version nouvelle devient la référence.
async function ecrire(corps) {
  const r = await requete(base, { methode: 'PUT', corps, siVersion: etag });
  if (r.donnees && r.donnees.id) {
    campagne = { ...campagne, ...r.donnees };
    etag = r.etag || `"v${campagne.version}"`;
  } else {
    await chargerCampagne();
    return;
  }
  afficherCampagne();
}

const NOMS_CHAMPS = {
  titre: 'Titre', slug: 'Adresse', introduction: 'Introduction', fuseau: 'Fuseau horaire',
  ouverture: 'Ouverture', fermeture: 'Fermeture', delai_grace_minutes: 'Délai de grâce',
  modification_jusqu_a: 'Modification après la fermeture',
};

// Après un 412 : la version enregistrée est relue, les saisies restent dans les champs, et
// les différences sont listées ; « Enregistrer » écrit alors par-dessus la version relue.
async function rechargerApresConflit() {
  const saisies = lireChamps(form);
  try {
    await requete(base).then((r) => { campagne = r.donnees; etag = r.etag || `"v${campagne.version}"`; });
  } catch (e) {
    $('conflit-texte').textContent = e.message;
    return;
  }
  sale = true;
  afficherCampagne();
  const enregistre = lireChampsDe(campagne);
  const differences = Object.keys(NOMS_CHAMPS).filter((k) => String(saisies[k] ?? '') !== String(enregistre[k] ?? ''));
  $('conflit-texte').textContent = differences.length
    ? `Version ${campagne.version} rechargée. Vos saisies sont gardées dans les champs ; voici ce que l'autre administrateur a enregistré. Enregistrez pour remplacer sa version par la vôtre.`
    : `Version ${campagne.version} rechargée : elle ne diffère pas de vos saisies. Enregistrez pour confirmer.`;
  $('conflit-differences').replaceChildren(...differences.map((k) => el('li', {},
    `${NOMS_CHAMPS[k]} — enregistré : « ${enregistre[k] ?? '(vide)'} » ; votre saisie : « ${saisies[k] ?? '(vide)'} »`)));
  $('recharger').hidden = true;
  $('abandonner').hidden = false;
}

// Les valeurs d'une campagne telles que lireChamps() les rendrait.
function lireChampsDe(c) {
  const fantome = form.cloneNode(true);
  remplirChamps(fantome, c);
  return lireChamps(fantome);
}

form.addEventListener('input', () => { sale = true; });
form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const saisies = lireChamps(form);
  const fautes = verifierChamps(saisies);
  if (fautes.length) {
    annoncerDans($('message-reglages'), 'Rien n\'est enregistré :', 'erreur', fautes);
    return;
  }
  $('enregistrer').disabled = true;
  try {
    await ecrire({ ...saisies, etat: campagne.etat });
    sale = false;
    remplirChamps(form, campagne);
    $('conflit').hidden = true;
    annoncerDans($('message-reglages'), `Réglages enregistrés (version ${campagne.version}).`, 'succes');
  } catch (e) {
    if (e.statut === 412) {
      annoncerDans($('message-reglages'), '');
      $('conflit').hidden = false;
      $('conflit-texte').textContent = `${e.message} Vos saisies n'ont pas été enregistrées ; elles restent affichées ci-dessous.`;
      $('conflit-differences').replaceChildren();
      $('recharger').hidden = false;
      $('abandonner').hidden = true;
      $('recharger').focus();
    } else {
      annoncerDans($('message-reglages'), e.message, 'erreur', lignesErreurs(e.probleme));
    }
  } finally {
    $('enregistrer').disabled = campagne.etat === 'archivee';
  }
});
$('recharger').addEventListener('click', rechargerApresConflit);
$('abandonner').addEventListener('click', () => {
  sale = false;
  remplirChamps(form, campagne);
  $('conflit').hidden = true;
  annoncerDans($('message-reglages'), `Valeurs de la version ${campagne.version} reprises.`, 'succes');
});

const MESSAGES_ETAT = {
  ouverte: 'Campagne ouverte : le formulaire accepte les réponses (dès son ouverture si elle a une date).',
  close: 'Campagne fermée : le formulaire n\'accepte plus de réponses.',
  archivee: 'Campagne archivée : elle se lit seulement.',
};

for (const nom of ETATS_BOUTONS) {
  $(nom).addEventListener('click', async (ev) => {
    const nouvel = ev.currentTarget.dataset.etat;
    if (nouvel === 'archivee' && !window.confirm(`Archiver « ${campagne.titre} » ? Elle ne pourra plus être modifiée ni recevoir de réponses ; elle reste lisible et sauvegardée.`)) return;
    try {
      await ecrire(corpsEnregistre(campagne, { etat: nouvel }));
      await chargerMatrice(pageMatrice.at(-1) ?? null);
      annoncerDans(message, MESSAGES_ETAT[nouvel], 'succes');
    } catch (e) {
      annoncerDans(message, e.message, 'erreur', lignesErreurs(e.probleme));
      if (e.statut === 412) await chargerCampagne().catch(() => {});
    }
  });
}

// --- Créneaux ------------------------------------------------------------------------------

const actifs = () => (campagne.creneaux || []).filter((c) => !c.retire)
  .sort((a, b) => a.position - b.position || a.debut.localeCompare(b.debut) || a.id - b.id);

function afficherCreneaux() {
  const liste = actifs();
  const retires = (campagne.creneaux || []).filter((c) => c.retire);
  const corps = document.querySelector('#creneaux tbody');
  const archivee = campagne.etat === 'archivee';
  corps.replaceChildren(...liste.map((c, i) => [el('tr', { 'data-creneau': c.id },
    el('td', { class: 'nombre' }, String(i + 1)),
    el('td', { class: 'date' }, plage(c)),
    el('td', {}, c.libelle),
    el('td', { class: 'nombre', 'data-titre': 'Besoin' }, c.besoin ? String(c.besoin) : '—'),
    el('td', { class: 'nombre', 'data-titre': 'Réponses' }, String(c.disponibles ?? 0)),
    el('td', { class: 'actions-creneau' },
      el('button', { type: 'button', class: 'secondaire modifier', disabled: archivee,
        'aria-label': `Modifier « ${c.libelle} »`, 'aria-expanded': String(enEdition === c.id),
        onclick: () => basculerEdition(c.id) }, 'Modifier'),
      el('button', { type: 'button', class: 'secondaire monter', disabled: archivee || i === 0,
        'aria-label': `Monter « ${c.libelle} »`, onclick: () => deplacer(c.id, -1) }, '↑'),
      el('button', { type: 'button', class: 'secondaire descendre', disabled: archivee || i === liste.length - 1,
        'aria-label': `Descendre « ${c.libelle} »`, onclick: () => deplacer(c.id, 1) }, '↓'),
      el('button', { type: 'button', class: 'secondaire retirer', disabled: archivee,
        'aria-label': `Retirer « ${c.libelle} »`, onclick: () => retirer(c) }, 'Retirer'))),
    enEdition === c.id && !archivee ? ligneEdition(c) : null]).flat().filter(Boolean));
  if (enEdition !== null && !liste.some((c) => c.id === enEdition)) enEdition = null;
  if (liste.length === 0) {
    corps.append(el('tr', {}, el('td', { colspan: 6, class: 'vide' }, 'Aucun créneau : ajoutez-en un, générez une série ou importez un fichier.')));
  }
  $('compte-creneaux').textContent = `${liste.length} créneau${liste.length > 1 ? 'x' : ''} sur le formulaire`
    + (retires.length ? `, ${retires.length} retiré${retires.length > 1 ? 's' : ''}` : '');
  $('bloc-retires').hidden = retires.length === 0;
  $('compte-retires').textContent = String(retires.length);
  $('retires').replaceChildren(...retires.map((c) => el('li', { class: 'retiree', 'data-creneau': c.id },
    el('span', { class: 'etiquette retiree' }, 'retiré'), ' ', plage(c), ' — ', c.libelle,
    ` (${c.disponibles ?? 0} réponse${(c.disponibles ?? 0) > 1 ? 's' : ''})`)));
}

const messageCreneaux = $('message-creneaux');

// --- Modifier un créneau, sur sa ligne ------------------------------------------------------

let enEdition = null; // l'id du créneau dont le formulaire de modification est ouvert

function basculerEdition(sid) {
  enEdition = enEdition === sid ? null : sid;
  afficherCreneaux();
  const cible = enEdition === null
    ? document.querySelector(`#creneaux tr[data-creneau="${sid}"] .modifier`)
    : document.querySelector('#creneaux tr.edition input');
  cible?.focus();
}

// La ligne de modification : les heures en heure locale du fuseau de la campagne (le serveur
// les relit dans ce fuseau), comme à l'ajout d'un créneau.
function ligneEdition(c) {
  const champ = (nom, texte, attributs) => {
    const identifiant = `e-${nom}`;
    return el('p', { class: 'champ' }, el('label', { for: identifiant }, texte),
      el('input', { id: identifiant, name: nom, ...attributs }));
  };
  const form = el('form', { class: 'formulaire-campagne form-edition', novalidate: true, 'aria-label': `Modifier le créneau « ${c.libelle} »`,
    onsubmit: (ev) => { ev.preventDefault(); enregistrerCreneau(c, ev.currentTarget); } },
  champ('debut', 'Début', { type: 'datetime-local', required: true, value: saisieLocale(c.debut, fuseau()) }),
  champ('fin', 'Fin', { type: 'datetime-local', required: true, value: saisieLocale(c.fin, fuseau()) }),
  champ('libelle', 'Libellé', { maxlength: 200, value: c.libelle || '' }),
  champ('besoin', 'Personnes nécessaires (facultatif)', { type: 'number', min: 1, max: 10000, value: c.besoin ? String(c.besoin) : '' }),
  el('p', { class: 'actions' },
    el('button', { type: 'submit', class: 'enregistrer-creneau' }, 'Enregistrer le créneau'), ' ',
    el('button', { type: 'button', class: 'secondaire annuler-creneau', onclick: () => basculerEdition(c.id) }, 'Annuler')),
  c.disponibles ? el('p', { class: 'aide large' }, `${c.disponibles} réponse${c.disponibles > 1 ? 's ont' : ' a'} coché ce créneau : la modification est inscrite au journal d'audit.`) : null);
  return el('tr', { class: 'edition', 'data-edition': c.id }, el('td', { colspan: 6 }, form));
}

async function enregistrerCreneau(c, form) {
  const f = form.elements;
  const corps = { debut: f.debut.value, fin: f.fin.value, libelle: f.libelle.value.trim() };
  if (f.besoin.value) corps.besoin = Number(f.besoin.value);
  if (!corps.debut || !corps.fin || corps.fin <= corps.debut) {
    annoncerDans(messageCreneaux, 'Indiquez un début et une fin, la fin après le début.', 'erreur');
    return;
  }
  try {
    const { donnees } = await requete(`${base}/creneaux/${encodeURIComponent(c.id)}`, { methode: 'PUT', corps });
    enEdition = null;
    await rafraichir();
    document.querySelector(`#creneaux tr[data-creneau="${c.id}"] .modifier`)?.focus();
    const modifie = (campagne.creneaux || []).find((x) => x.id === c.id) || donnees || c;
    annoncerDans(messageCreneaux, `Créneau modifié : ${plage(modifie)}, « ${modifie.libelle} ».`, 'succes');
  } catch (e) {
    annoncerDans(messageCreneaux, e.message, 'erreur', lignesErreurs(e.probleme));
  }
}

async function deplacer(sid, sens) {
  const ordre = actifs().map((c) => c.id);
  const i = ordre.indexOf(sid);
  const j = i + sens;
  if (j < 0 || j >= ordre.length) return;
  [ordre[i], ordre[j]] = [ordre[j], ordre[i]];
  try {
    await requete(`${base}/creneaux/ordre`, { methode: 'PUT', corps: { ordre } });
    await chargerCampagne();
    const ligne = document.querySelector(`#creneaux tr[data-creneau="${sid}"]`);
    const bouton = ligne && ligne.querySelector(sens < 0 ? '.monter' : '.descendre');
    // Le focus suit le créneau déplacé (au clavier, on enchaîne les déplacements).
    (bouton && !bouton.disabled ? bouton : ligne && ligne.querySelector(sens < 0 ? '.descendre' : '.monter'))?.focus();
    annoncerDans(messageCreneaux, `Créneau déplacé en position ${j + 1}.`, 'succes');
    await chargerMatrice(pageMatrice.at(-1) ?? null);
  } catch (e) {
    annoncerDans(messageCreneaux, e.message, 'erreur');
  }
}

async function retirer(c) {
  try {
    const { donnees } = await requete(`${base}/creneaux/${encodeURIComponent(c.id)}`, { methode: 'DELETE' });
    await rafraichir();
    if (donnees && donnees.retire) $('bloc-retires').open = true;
    annoncerDans(messageCreneaux, donnees && donnees.retire
      ? `« ${c.libelle} » est retiré du formulaire ; gardé avec les réponses qui l'avaient coché (liste des créneaux retirés).`
      : `« ${c.libelle} » est supprimé : aucune réponse ne l'avait coché.`, 'succes');
  } catch (e) {
    annoncerDans(messageCreneaux, e.message, 'erreur');
  }
}

// Après un changement des créneaux : la campagne et la page de matrice en cours, relues.
async function rafraichir() {
  await chargerCampagne();
  await chargerMatrice(pageMatrice.at(-1) ?? null);
}

// Ajouter un créneau.
$('form-un').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = ev.currentTarget.elements;
  const corps = { debut: f.debut.value, fin: f.fin.value, libelle: f.libelle.value.trim() };
  if (f.besoin.value) corps.besoin = Number(f.besoin.value);
  if (!corps.debut || !corps.fin || corps.fin <= corps.debut) {
    annoncerDans(messageCreneaux, 'Indiquez un début et une fin, la fin après le début.', 'erreur');
    return;
  }
  try {
    await requete(`${base}/creneaux`, { methode: 'POST', corps });
    ev.target.reset();
    await rafraichir();
    annoncerDans(messageCreneaux, 'Créneau ajouté.', 'succes');
  } catch (e) {
    annoncerDans(messageCreneaux, e.message, 'erreur', lignesErreurs(e.probleme));
  }
});

// --- Série ---------------------------------------------------------------------------------

const listePlages = $('plages');
const listeSauf = $('sauf');

function ajouterPlage(debut = '09:00', fin = '12:00') {
  const n = listePlages.children.length + 1;
  const li = el('li', { class: 'plage' });
  const renumeroter = () => {
    const seule = listePlages.children.length === 1;
    [...listePlages.children].forEach((x, i) => {
      x.querySelector('.retirer-plage').hidden = seule;
      x.querySelectorAll('label').forEach((l) => { l.textContent = l.dataset.nom + (listePlages.children.length > 1 ? ` (plage ${i + 1})` : ''); });
    });
    apercuSerie();
  };
  const champ = (nom, valeur, texte) => {
    const identifiant = `plage-${nom}-${Date.now().toString(36)}-${n}`;
    return [el('label', { for: identifiant, 'data-nom': texte, class: 'evitement' }, texte),
      el('input', { id: identifiant, type: 'time', class: `plage-${nom}`, value: valeur, required: true, oninput: apercuSerie })];
  };
  li.append(...champ('debut', debut, 'Début'), el('span', { 'aria-hidden': 'true' }, '–'), ...champ('fin', fin, 'Fin'),
    el('button', { type: 'button', class: 'secondaire petit retirer-plage', 'aria-label': 'Retirer cette plage',
      onclick: () => { li.remove(); renumeroter(); $('ajouter-plage').focus(); } }, 'Retirer'));
  listePlages.append(li);
  renumeroter();
  return li;
}

function ajouterSauf(valeur) {
  if (!valeur || [...listeSauf.children].some((li) => li.dataset.date === valeur)) return;
  const [a, m, j] = valeur.split('-').map(Number);
  const texte = format('UTC', { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }).format(new Date(Date.UTC(a, m - 1, j)));
  const li = el('li', { 'data-date': valeur }, texte, ' ',
    el('button', { type: 'button', class: 'secondaire petit', 'aria-label': `Ne plus sauter le ${texte}`,
      onclick: () => { li.remove(); apercuSerie(); } }, '×'));
  listeSauf.append(li);
  apercuSerie();
}

function requeteSerie() {
  const f = $('form-serie').elements;
  const corps = {
    du: f.du.value,
    au: f.au.value,
    jours: [...document.querySelectorAll('#form-serie input[name="jour"]:checked')].map((x) => Number(x.value)),
    plages: [...listePlages.children].map((li) => ({ debut: li.querySelector('.plage-debut').value, fin: li.querySelector('.plage-fin').value })),
    sauf: [...listeSauf.children].map((li) => li.dataset.date),
  };
  if (f.besoin.value) corps.besoin = Number(f.besoin.value);
  return corps;
}

// Le nombre de créneaux que la série donnera (le calendrier seul ; le serveur fait foi).
function compterSerie(s) {
  if (!s.du || !s.au || s.au < s.du || !s.jours.length || !s.plages.length) return 0;
  const sauf = new Set(s.sauf);
  let n = 0;
  for (let t = Date.parse(`${s.du}T00:00:00Z`), fin = Date.parse(`${s.au}T00:00:00Z`); t <= fin; t += 86400000) {
    const d = new Date(t);
    const iso = d.toISOString().slice(0, 10);
    if (s.jours.includes(((d.getUTCDay() + 6) % 7) + 1) && !sauf.has(iso)) n += s.plages.length;
  }
  return n;
}

function apercuSerie() {
  const n = compterSerie(requeteSerie());
  $('apercu-serie').textContent = n ? `Cette série donnera ${n} créneau${n > 1 ? 'x' : ''}.` : 'Choisissez les dates, au moins un jour et une plage.';
}

$('ajouter-plage').addEventListener('click', () => { ajouterPlage('14:00', '17:00').querySelector('input').focus(); });
$('ajouter-sauf').addEventListener('click', () => { ajouterSauf($('s-sauf').value); $('s-sauf').value = ''; $('s-sauf').focus(); });
$('form-serie').addEventListener('input', apercuSerie);
$('form-serie').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const corps = requeteSerie();
  const bloc = $('message-serie');
  if (!compterSerie(corps)) {
    annoncerDans(bloc, 'Cette série ne donne aucun créneau : choisissez les dates (du … au), au moins un jour et une plage.', 'erreur');
    return;
  }
  $('generer').disabled = true;
  try {
    const { donnees } = await requete(`${base}/creneaux/serie`, { methode: 'POST', corps });
    await rafraichir();
    annoncerDans(bloc, `${donnees.crees} créneau${donnees.crees > 1 ? 'x' : ''} créé${donnees.crees > 1 ? 's' : ''}.`, 'succes');
  } catch (e) {
    annoncerDans(bloc, e.message, 'erreur', lignesErreurs(e.probleme));
  } finally {
    $('generer').disabled = campagne.etat === 'archivee';
  }
});

// --- Import --------------------------------------------------------------------------------

$('form-import').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const bloc = $('message-import');
  const fichier = $('i-fichier').files[0];
  if (!fichier) {
    annoncerDans(bloc, 'Choisissez un fichier .ics ou .csv.', 'erreur');
    return;
  }
  const ics = /\.ics$/i.test(fichier.name) || fichier.type === 'text/calendar';
  if (!ics && !/\.csv$/i.test(fichier.name) && fichier.type !== 'text/csv') {
    annoncerDans(bloc, 'Ce fichier n\'est ni un calendrier (.ics) ni un tableau (.csv).', 'erreur');
    return;
  }
  if (fichier.size > 1024 * 1024) {
    annoncerDans(bloc, 'Ce fichier dépasse 1 Mio : découpez-le.', 'erreur');
    return;
  }
  try {
    const { donnees } = await requete(`${base}/creneaux/import`, { methode: 'POST', corps: fichier,
      type: ics ? 'text/calendar' : 'text/csv' });
    await rafraichir();
    annoncerDans(bloc, `${donnees.crees} créneau${donnees.crees > 1 ? 'x' : ''} importé${donnees.crees > 1 ? 's' : ''} de « ${fichier.name} ».`, 'succes');
    ev.target.reset();
  } catch (e) {
    annoncerDans(bloc, `${e.message} Aucun créneau n'a été ajouté.`, 'erreur', lignesErreurs(e.probleme));
  }
});

// --- Matrice -------------------------------------------------------------------------------

const PAR_PAGE = 50;
const pageMatrice = [null]; // le curseur « apres » de chaque page vue (keyset)
// Les comptes par créneau de la première page : les pages suivantes sont lues sans eux
// (comptes=non), leur calcul parcourant toutes les réponses.
let comptesMatrice = new Map();
const messageMatrice = $('message-matrice');

function enteteMatrice(creneaux) {
  const thead = document.querySelector('#matrice thead');
  const ligneTitres = el('tr', {}, el('th', { scope: 'col', class: 'personne' }, 'Personne'),
    creneaux.map((c) => el('th', { scope: 'col', class: c.retire ? 'retire' : null, 'data-creneau': c.id },
      el('span', { class: 'jour' }, jourCourt(c.debut)), el('br'),
      `${heureMinute(new Date(c.debut), fuseau())}–${heureMinute(new Date(c.fin), fuseau())}`,
      c.retire ? el('span', { class: 'etiquette retiree' }, 'retiré') : '')));
  const ligneComptes = el('tr', { class: 'comptes' }, el('th', { scope: 'row', class: 'personne' }, 'Disponibles / besoin'),
    creneaux.map((c) => {
      // Sans besoin indiqué, un créneau est non couvert tant que personne n'est disponible.
      const dispo = c.disponibles ?? comptesMatrice.get(c.id) ?? 0;
      const manque = c.besoin ? Math.max(0, c.besoin - dispo) : (dispo === 0 && !c.retire ? 1 : 0);
      return el('td', { class: `nombre${manque ? ' non-couvert' : ''}`, 'data-creneau': c.id },
        c.besoin ? `${dispo} / ${c.besoin}` : String(dispo),
        manque ? el('span', { class: 'manque' }, c.besoin ? `manque ${manque}` : 'personne') : '');
    }));
  thead.replaceChildren(ligneTitres, ligneComptes);
}

async function chargerMatrice(apres) {
  const q = new URLSearchParams({ limite: String(PAR_PAGE) });
  const suite = apres !== null && apres !== undefined && comptesMatrice.size > 0;
  if (apres !== null && apres !== undefined) q.set('apres', String(apres));
  if (suite) q.set('comptes', 'non');
  try {
    const { donnees } = await requete(`${base}/matrice?${q}`);
    const creneaux = donnees.creneaux || [];
    if (!suite) comptesMatrice = new Map(creneaux.map((c) => [c.id, c.disponibles ?? 0]));
    enteteMatrice(creneaux);
    const corps = document.querySelector('#matrice tbody');
    corps.replaceChildren(...(donnees.personnes || []).map((p) => {
      const coches = new Set(p.creneaux || []);
      return el('tr', { class: p.en_retard ? 'en-retard' : null, 'data-personne': p.id },
        el('th', { scope: 'row', class: 'personne' }, p.nom, el('br'), el('span', { class: 'aide' }, p.email),
          p.en_retard ? el('span', { class: 'etiquette attente' }, 'en retard') : ''),
        creneaux.map((c) => el('td', { class: coches.has(c.id) ? 'coche' : null },
          coches.has(c.id) ? [el('span', { 'aria-hidden': 'true' }, '✓'), el('span', { class: 'evitement' }, 'disponible')] : '')));
    }));
    if (!(donnees.personnes || []).length) {
      corps.append(el('tr', {}, el('td', { colspan: creneaux.length + 1, class: 'vide' }, 'Aucune réponse pour l\'instant.')));
    }
    const numero = pageMatrice.length;
    $('page-matrice').textContent = `Page ${numero}`;
    $('precedents').disabled = numero <= 1;
    $('suivants').disabled = donnees.suivant === null || donnees.suivant === undefined;
    $('suivants').dataset.apres = donnees.suivant ?? '';
    annoncerDans(messageMatrice, '');
  } catch (e) {
    annoncerDans(messageMatrice, e.message, 'erreur');
  }
}

$('suivants').addEventListener('click', () => {
  const apres = $('suivants').dataset.apres;
  pageMatrice.push(apres);
  chargerMatrice(apres);
});
$('precedents').addEventListener('click', () => {
  if (pageMatrice.length > 1) pageMatrice.pop();
  chargerMatrice(pageMatrice.at(-1));
});

// --- Dupliquer -----------------------------------------------------------------------------

$('form-dupliquer').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = ev.currentTarget.elements;
  const bloc = $('message-dupliquer');
  const corps = { slug: f.slug.value.trim(), titre: f.titre.value.trim() || undefined,
    decalage_semaines: Number(f.decalage_semaines.value) };
  if (!Number.isInteger(corps.decalage_semaines) || corps.decalage_semaines < 0 || corps.decalage_semaines > 104) {
    annoncerDans(bloc, 'Le décalage est un nombre entier de semaines, de 0 à 104.', 'erreur');
    return;
  }
  try {
    const { donnees, adresse } = await requete(`${base}/dupliquer`, { methode: 'POST', corps });
    const nouvel = donnees && donnees.id ? donnees.id : String(adresse || '').split('/').pop();
    annoncerDans(bloc, '', 'succes');
    bloc.replaceChildren('Copie créée en brouillon : ',
      el('a', { href: `/admin/campagne.html?id=${encodeURIComponent(nouvel)}` }, `ouvrir « ${corps.titre || corps.slug} »`), '.');
  } catch (e) {
    annoncerDans(bloc, e.code === 'slug_pris' ? `${e.message} Choisissez une autre adresse.` : e.message, 'erreur', lignesErreurs(e.probleme));
  }
});

// --- Démarrage -----------------------------------------------------------------------------

$('fuseaux').append(...fuseauxConnus().map((z) => el('option', { value: z })));
ajouterPlage();
verifierService($('etat'));
if (!id) {
  annoncerDans(message, 'Aucune campagne n\'est indiquée dans l\'adresse : revenez à la liste des campagnes.', 'erreur');
} else {
  try {
    await chargerCampagne();
    if (new URLSearchParams(window.location.search).has('creee')) {
      annoncerDans(message, 'Campagne créée en brouillon. Ajoutez ses créneaux, puis ouvrez-la.', 'succes');
      window.history.replaceState(null, '', `?id=${encodeURIComponent(id)}`);
    }
    await chargerMatrice(null);
  } catch (e) {
    annoncerDans(message, e.message, 'erreur');
  }
}
apercuSerie();
pret();
