// Vue d'ensemble : disponibilités par créneau (les meilleurs d'abord), réponses avec recherche,
// historique de chaque réponse, restauration d'une version (POST /api/admin/restore),
// téléchargement du tableau (CSV) et fonctionnalités activables (PUT /api/admin/fonctionnalites).
// Les adresses sont derrière l'authentification de nginx. Les dates sont à l'heure de
// l'institution, lue dans GET /api/form (« fuseau »).
import { el } from '../commun/dom.js';
import { dateHeure as dateHeureDans } from '../commun/dates.js';
import { api, verifierService } from './commun.js';

const etat = document.getElementById('etat');
const message = document.getElementById('message');
const resume = document.getElementById('resume-reponses');
const listeCreneaux = document.getElementById('creneaux');
const triDisponibles = document.getElementById('tri-disponibles');
const triChronologique = document.getElementById('tri-chronologique');
const recherche = document.getElementById('recherche');
const voirRetirees = document.getElementById('voir-retirees');
const corpsTable = document.querySelector('#reponses tbody');
const compteResultats = document.getElementById('compte-resultats');

let donnees = { creneaux: [], soumissions: [], actives: 0, retirees: 0 };
// Sans réponse de /api/form, les dates sont à l'heure de l'appareil.
let fuseau;
const fuseauLu = api('/api/form').then((f) => { fuseau = f.fuseau; }, () => {});
const dateHeure = (iso) => dateHeureDans(iso, fuseau);
let tri = 'disponibles';
const ouverts = new Set(); // réponses dont l'historique est déplié

function annoncer(texte, type) {
  message.textContent = texte;
  if (type) message.dataset.type = type;
  else delete message.dataset.type;
}

// Sans accents ni majuscules, pour une recherche tolérante.
function plie(texte) {
  return String(texte).normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
}

function titreCreneau(id) {
  const c = donnees.creneaux.find((x) => x.id === id);
  return c ? c.titre : id;
}

// --- Disponibilités par créneau ------------------------------------------------------------

function afficherCreneaux() {
  const liste = [...donnees.creneaux];
  if (tri === 'disponibles') {
    liste.sort((a, b) => b.disponibles - a.disponibles || a.debut.localeCompare(b.debut));
  }
  const maximum = Math.max(1, ...liste.map((c) => c.disponibles));
  const meilleur = Math.max(0, ...liste.map((c) => c.disponibles));
  listeCreneaux.replaceChildren();
  if (liste.length === 0) {
    listeCreneaux.append(el('li', { class: 'vide' }, 'Aucun créneau dans le catalogue.'));
    return;
  }
  liste.forEach((c, i) => {
    const largeur = `${Math.round((100 * c.disponibles) / maximum)}%`;
    const barre = el('span');
    barre.style.width = largeur;
    const estMeilleur = meilleur > 0 && c.disponibles === meilleur;
    listeCreneaux.append(el('li', { class: estMeilleur ? 'meilleur' : null, 'data-creneau': c.id },
      el('span', { class: 'rang' }, tri === 'disponibles' ? `${i + 1}` : ''),
      el('span', { class: 'titre' }, c.titre),
      el('span', { class: 'jauge', 'aria-hidden': 'true' }, barre),
      el('span', { class: 'compte' },
        `${c.disponibles} / ${donnees.actives}`,
        el('span', { class: 'evitement' }, ' personnes disponibles'))));
  });
}

function choisirTri(nouveau) {
  tri = nouveau;
  triDisponibles.setAttribute('aria-pressed', String(tri === 'disponibles'));
  triChronologique.setAttribute('aria-pressed', String(tri === 'chronologique'));
  afficherCreneaux();
}

// --- Réponses -------------------------------------------------------------------------------

function reponsesVisibles() {
  const q = plie(recherche.value.trim());
  return donnees.soumissions.filter((s) => (voirRetirees.checked || !s.deleted_at)
    && (q === '' || plie(s.nom).includes(q) || plie(s.email).includes(q)));
}

function ligneReponse(s) {
  const ouvert = ouverts.has(s.id);
  return el('tr', { class: s.deleted_at ? 'retiree' : null, 'data-id': s.id },
    el('td', { class: 'nombre' }, s.id),
    el('td', {}, s.nom),
    el('td', {}, s.email),
    el('td', { class: 'nombre' }, Array.isArray(s.creneaux) ? s.creneaux.length : 0),
    el('td', { class: 'nombre' }, s.version),
    el('td', {}, dateHeure(s.updated_at)),
    el('td', {}, s.deleted_at
      ? el('span', { class: 'etiquette retiree' }, 'Retirée')
      : el('span', { class: 'etiquette' }, 'Active')),
    el('td', {}, el('button', {
      type: 'button', class: 'secondaire historique', 'aria-expanded': String(ouvert),
      onclick: () => basculerHistorique(s.id),
    }, ouvert ? 'Masquer' : 'Historique')));
}

function afficherReponses() {
  const visibles = reponsesVisibles();
  corpsTable.replaceChildren();
  for (const s of visibles) {
    corpsTable.append(ligneReponse(s));
    if (ouverts.has(s.id)) {
      const cellule = el('td', { colspan: 8 }, el('p', { class: 'aide' }, 'Chargement de l\'historique…'));
      corpsTable.append(el('tr', { class: 'detail', 'data-detail': s.id }, cellule));
      chargerHistorique(s.id, cellule);
    }
  }
  if (visibles.length === 0) {
    corpsTable.append(el('tr', {}, el('td', { colspan: 8, class: 'vide' },
      recherche.value.trim() ? 'Aucune réponse ne correspond à cette recherche.' : 'Aucune réponse pour l\'instant.')));
  }
  const total = donnees.soumissions.filter((s) => voirRetirees.checked || !s.deleted_at).length;
  compteResultats.textContent = recherche.value.trim()
    ? `${visibles.length} réponse(s) sur ${total} correspondent à la recherche.`
    : `${total} réponse(s) affichée(s).`;
}

function basculerHistorique(id) {
  if (ouverts.has(id)) ouverts.delete(id);
  else ouverts.add(id);
  afficherReponses();
}

// --- Historique et restauration -------------------------------------------------------------

const NOMS_CHAMPS = { nom: 'Nom', email: 'E-mail', creneaux: 'Créneaux', commentaire: 'Commentaire' };

function texteValeur(champ, valeur) {
  if (valeur === null || valeur === undefined || valeur === '') return '(vide)';
  if (champ === 'creneaux' && Array.isArray(valeur)) {
    return valeur.length ? valeur.map(titreCreneau).join(' ; ') : '(aucun)';
  }
  return String(valeur);
}

// La liste des changements d'une entrée de l'historique.
function changements(entree) {
  const items = [];
  for (const [champ, c] of Object.entries(entree.champs || {})) {
    if (champ === 'deleted_at') {
      items.push(el('li', {}, c.apres ? 'Réponse retirée.' : 'Retrait annulé : la réponse est de nouveau active.'));
    } else if (champ === 'creneaux' && Array.isArray(c.avant) && Array.isArray(c.apres)) {
      const ajoutes = c.apres.filter((x) => !c.avant.includes(x));
      const retires = c.avant.filter((x) => !c.apres.includes(x));
      const li = el('li', {}, 'Créneaux : ');
      if (ajoutes.length) li.append(el('span', { class: 'apres' }, `+ ${ajoutes.map(titreCreneau).join(' ; ')}`));
      if (ajoutes.length && retires.length) li.append(' ');
      if (retires.length) li.append(el('span', { class: 'avant' }, `− ${retires.map(titreCreneau).join(' ; ')}`));
      if (!ajoutes.length && !retires.length) li.append('ordre modifié');
      items.push(li);
    } else {
      items.push(el('li', {}, `${NOMS_CHAMPS[champ] || champ} : `,
        el('span', { class: 'avant' }, texteValeur(champ, c.avant)), ' → ',
        el('span', { class: 'apres' }, texteValeur(champ, c.apres))));
    }
  }
  return items;
}

function boutonRestaurer(rep, version) {
  return el('button', {
    type: 'button', class: 'secondaire restaurer', 'data-version': version,
    onclick: () => restaurer(rep, { id: rep.id, version },
      `Restaurer la version ${version} de la réponse de ${rep.nom} ? Elle deviendra la version ${rep.version + 1}.`),
  }, `Restaurer la version ${version}`);
}

function afficherHistorique(rep, cellule) {
  const versions = el('ol', { class: 'versions', reversed: true });
  const historique = Array.isArray(rep.historique) ? rep.historique : [];
  const retiree = Boolean(rep.deleted_at);
  for (let i = historique.length - 1; i >= -1; i -= 1) {
    const entree = i >= 0 ? historique[i] : null;
    const version = entree ? entree.nouvelle_version : 1;
    const quand = entree ? entree.modifie_le : rep.created_at;
    const actuelle = version === rep.version;
    const li = el('li', { class: actuelle ? 'actuelle' : null, 'data-version': version },
      el('div', { class: 'entete-version' },
        el('strong', {}, `Version ${version}`),
        actuelle ? el('span', { class: 'etiquette' }, 'Actuelle') : null,
        el('span', { class: 'aide' }, dateHeure(quand)),
        !actuelle && !retiree ? boutonRestaurer(rep, version) : null));
    if (entree) li.append(el('ul', { class: 'changements' }, changements(entree)));
    else li.append(el('p', { class: 'aide' }, 'Première réponse.'));
    versions.append(li);
  }
  const contenu = el('div', {},
    el('p', {}, el('strong', {}, 'Créneaux actuels : '),
      Array.isArray(rep.creneaux) && rep.creneaux.length ? rep.creneaux.map(titreCreneau).join(' ; ') : '(aucun)'),
    rep.commentaire ? el('p', {}, el('strong', {}, 'Commentaire : '), rep.commentaire) : null);
  if (retiree) {
    contenu.append(el('p', {}, `Réponse retirée le ${dateHeure(rep.deleted_at)}. `,
      el('button', {
        type: 'button', class: 'annuler-retrait',
        onclick: () => restaurer(rep, { id: rep.id, undelete: true },
          `Annuler le retrait de la réponse de ${rep.nom} ?`),
      }, 'Annuler le retrait')));
  }
  cellule.replaceChildren(contenu, el('h3', {}, 'Historique'), versions);
}

async function chargerHistorique(id, cellule) {
  try {
    const rep = await api(`/api/admin/submissions/${encodeURIComponent(id)}`);
    afficherHistorique(rep, cellule);
  } catch (e) {
    cellule.replaceChildren(el('p', { class: 'statut', 'data-type': 'erreur' }, e.message));
  }
}

async function restaurer(rep, corps, question) {
  // eslint-disable-next-line no-alert
  if (!window.confirm(question)) return;
  annoncer('Restauration en cours…');
  try {
    const nouvelle = await api('/api/admin/restore', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'If-Match': `"v${rep.version}"` },
      body: JSON.stringify(corps),
    });
    annoncer(`Réponse n° ${nouvelle.id} (${nouvelle.nom}) restaurée : elle est maintenant à la version ${nouvelle.version}.`, 'succes');
  } catch (e) {
    annoncer(e.message, 'erreur');
  }
  await charger();
}

// --- Fonctionnalités (scénario 2 du plan de retour arrière) ------------------------------------

const listeFonctionnalites = document.getElementById('fonctionnalites');
const messageFonctionnalites = document.getElementById('message-fonctionnalites');

function annoncerFonctionnalite(texte, type) {
  messageFonctionnalites.textContent = texte;
  if (type) messageFonctionnalites.dataset.type = type;
  else delete messageFonctionnalites.dataset.type;
}

function afficherFonctionnalites(liste) {
  listeFonctionnalites.replaceChildren();
  for (const f of liste) {
    const idTitre = `fonctionnalite-${f.nom}`;
    const dernier = f.modifie_par
      ? `Dernier changement le ${dateHeure(f.modifie_le)}, par ${f.modifie_par}.`
      : `Jamais changée depuis l'installation (${dateHeure(f.modifie_le)}).`;
    listeFonctionnalites.append(el('li', { 'data-fonctionnalite': f.nom, class: f.active ? null : 'desactivee' },
      el('button', {
        type: 'button', role: 'switch', class: 'interrupteur', 'aria-checked': String(f.active),
        'aria-labelledby': idTitre, onclick: () => basculerFonctionnalite(f),
      }, el('span', { class: 'evitement' }, f.active ? 'Désactiver' : 'Activer')),
      el('div', { class: 'texte' },
        el('div', {},
          el('strong', { id: idTitre }, f.libelle), ' ',
          el('span', { class: f.active ? 'etiquette' : 'etiquette alerte' }, f.active ? 'Activée' : 'Désactivée'),
          ' ', el('code', { class: 'aide' }, f.nom)),
        el('p', { class: 'aide' }, f.description),
        el('p', { class: 'aide quand' }, dernier))));
  }
  if (liste.length === 0) {
    listeFonctionnalites.append(el('li', { class: 'vide' }, 'Aucune fonctionnalité dans la base.'));
  }
}

async function chargerFonctionnalites() {
  try {
    const [donneesFonctionnalites] = await Promise.all([api('/api/admin/fonctionnalites'), fuseauLu]);
    afficherFonctionnalites(donneesFonctionnalites.fonctionnalites);
  } catch (e) {
    annoncerFonctionnalite(e.message, 'erreur');
  }
}

async function basculerFonctionnalite(f) {
  const active = !f.active;
  const question = active
    ? `Activer « ${f.libelle} » ? Elle sera de nouveau proposée dès la requête suivante.`
    : `Désactiver « ${f.libelle} » ? ${f.description}`;
  // eslint-disable-next-line no-alert
  if (!window.confirm(question)) return;
  annoncerFonctionnalite(`${active ? 'Activation' : 'Désactivation'} en cours…`);
  try {
    const r = await api('/api/admin/fonctionnalites', {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ nom: f.nom, active }),
    });
    annoncerFonctionnalite(r.modifiee
      ? `« ${f.libelle} » est maintenant ${active ? 'activée' : 'désactivée'} (inscrit au journal d'audit).`
      : `« ${f.libelle} » était déjà ${active ? 'activée' : 'désactivée'} : rien n'a changé.`, 'succes');
    if (Array.isArray(r.fonctionnalites)) {
      afficherFonctionnalites(r.fonctionnalites);
      return;
    }
  } catch (e) {
    annoncerFonctionnalite(e.message, 'erreur');
  }
  await chargerFonctionnalites();
}

// --- Chargement -------------------------------------------------------------------------------

async function charger() {
  try {
    [donnees] = await Promise.all([api('/api/admin/submissions'), fuseauLu]);
    resume.textContent = `${donnees.actives} réponse(s) active(s), ${donnees.retirees} retirée(s), `
      + `${donnees.creneaux.length} créneau(x) au catalogue.`;
  } catch (e) {
    resume.textContent = '';
    annoncer(e.message, 'erreur');
  }
  afficherCreneaux();
  afficherReponses();
}

triDisponibles.addEventListener('click', () => choisirTri('disponibles'));
triChronologique.addEventListener('click', () => choisirTri('chronologique'));
recherche.addEventListener('input', afficherReponses);
voirRetirees.addEventListener('change', afficherReponses);

await Promise.all([verifierService(etat), charger(), chargerFonctionnalites()]);
document.documentElement.dataset.pret = '1';
