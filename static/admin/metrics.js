// /admin/metrics (test 5 du plan) : les objectifs du plan en tuiles (vert atteint, rouge
// manqué), l'activité, trois graphiques SVG dessinés ici (requêtes et échecs, temps de
// réponse, file d'attente), les erreurs, les alertes et les sauvegardes. Données :
// GET /api/admin/metrics?window=24h|7d|30d ; actualisation automatique toutes les 60 s.
// Les objectifs (et leurs lignes sur les graphiques) et le fuseau de l'institution viennent de
// cette réponse (« objectifs », « fuseau »).
import { el } from '../commun/dom.js';
import * as dates from '../commun/dates.js';
import { api, duree, nombre, octets, verifierService } from './commun.js';

const ACTUALISATION_MS = 60000;
const COULEURS = {
  requetes: '#0b5cad', echecs: '#c62828', moyenne: '#0b5cad', p95: '#e07b00', max: '#7b4fa0', soumissions: '#176b2c',
};

const etat = document.getElementById('etat');
const message = document.getElementById('message');
const actualise = document.getElementById('actualise');
const boutonsFenetre = [...document.querySelectorAll('#fenetres button')];

let fenetre = new URLSearchParams(window.location.search).get('fenetre') || '24h';
if (!['24h', '7d', '30d'].includes(fenetre)) fenetre = '24h';
let minuterie = null;
// Celui de la dernière réponse ; avant la première, celui de l'appareil.
let fuseau;
const dateHeure = (iso) => dates.dateHeure(iso, fuseau);
const dateCourte = (iso) => dates.dateCourte(iso, fuseau);

// --- Tuiles des objectifs ---------------------------------------------------------------------

function valeurObjectif(o) {
  if (o.valeur === null) return '—';
  if (o.unite === 'ms') return duree(o.valeur);
  if (o.unite === '%') return `${nombre(o.valeur, 2)} %`;
  return nombre(o.valeur, 2);
}

function cibleObjectif(o) {
  const signe = { '>': 'au-dessus de', '<': 'sous', '=': 'égal à' }[o.comparaison] || o.comparaison;
  let cible = nombre(o.cible, 2);
  if (o.unite === 'ms') cible = duree(o.cible);
  else if (o.unite === '%') cible = `${cible} %`;
  else if (o.unite) cible = `${cible} ${o.unite}`;
  return `Objectif : ${signe} ${cible}`;
}

function afficherObjectifs(objectifs) {
  const conteneur = document.getElementById('objectifs');
  conteneur.replaceChildren(...objectifs.map((o) => {
    let etatTuile = 'inconnu';
    let verdict = 'Pas de données sur la période';
    if (o.atteint === true) { etatTuile = 'atteint'; verdict = 'Objectif atteint'; }
    if (o.atteint === false) { etatTuile = 'manque'; verdict = 'Objectif non atteint'; }
    return el('div', { class: 'tuile', 'data-etat': etatTuile, 'data-kpi': o.id },
      el('div', { class: 'libelle' }, o.libelle),
      el('div', { class: 'valeur' }, valeurObjectif(o)),
      el('div', { class: 'cible' }, cibleObjectif(o)),
      el('div', { class: 'verdict' }, verdict));
  }));
}

// --- Chiffres ---------------------------------------------------------------------------------

function afficherChiffres(i) {
  const f = i.file || {};
  const t = i.temps_reponse_ms || {};
  const jours = i.soumissions_par_jour || [];
  const meilleur = jours.reduce((m, j) => (j.nombre > m.nombre ? j : m), { nombre: 0 });
  const parJour = meilleur.nombre
    ? `${nombre(meilleur.nombre, 0)} le ${meilleur.jour.slice(8, 10)}/${meilleur.jour.slice(5, 7)}`
    : '—';
  const lignes = [
    ['Requêtes', nombre(i.requetes, 0)],
    ['Échecs (5xx)', nombre(i.echecs, 0)],
    ['Refus (4xx)', nombre(i.erreurs_client, 0)],
    ['Soumissions', nombre(i.soumissions, 0)],
    ['Journée la plus chargée', parJour],
    ['Modifications', nombre(i.modifications, 0)],
    ['Retraits', nombre(i.retraits, 0)],
    ['Restaurations', nombre(i.restaurations, 0)],
    ['Temps moyen', duree(t.moyenne)],
    ['Médiane · p95 · p99', `${duree(t.p50)} · ${duree(t.p95)} · ${duree(t.p99)}`],
    ['Utilisation de la file', f.taux_utilisation === null || f.taux_utilisation === undefined ? '—' : `${nombre(f.taux_utilisation, 1)} %`],
    ['File : moyenne · max', `${nombre(f.longueur_moyenne, 2)} · ${nombre(f.longueur_max, 0)}`],
    ['Attente en file : moyenne · max', `${duree(f.attente_moyenne_ms)} · ${duree(f.attente_max_ms)}`],
    ['Envois hors ligne aboutis', nombre(i.hors_ligne, 0)],
    ['Nouvelles tentatives', nombre(f.nouvelles_tentatives, 0)],
    ['Sauvegarde locale (p95)', duree(i.sauvegarde_auto_p95_ms)],
    ['Mots de passe d\'administration refusés', nombre(i.echecs_authentification_admin, 0)],
  ];
  document.getElementById('chiffres').replaceChildren(...lignes.map(([nom, valeur]) =>
    el('div', {}, el('dt', {}, nom), el('dd', {}, valeur))));
}

// --- Graphiques SVG ------------------------------------------------------------------------------

const SVG = 'http://www.w3.org/2000/svg';
function svg(nom, attributs = {}, ...enfants) {
  const e = document.createElementNS(SVG, nom);
  for (const [cle, valeur] of Object.entries(attributs)) e.setAttribute(cle, String(valeur));
  for (const enfant of enfants) e.append(enfant);
  return e;
}

// Un maximum « rond » pour l'axe (1, 2, 2,5 ou 5 × 10^n) au-dessus de v.
function plafond(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function etiquetteTemps(date, pas) {
  if (pas === '24h') return dates.heureMinute(date, fuseau);
  if (pas === '7d') return `${dates.jourMois(date, fuseau)} ${dates.heureMinute(date, fuseau)}`;
  return dates.jourMois(date, fuseau);
}

// Dessine un graphique : séries en barres (superposées, la suivante devant) ou en lignes,
// une ligne d'objectif en pointillés, les heures en abscisse.
function graphique(conteneur, { instants, series, cible, format, titre, etiquette = (t) => etiquetteTemps(t, fenetre) }) {
  // Dessiné à la taille où il s'affiche : le texte garde sa taille, du téléphone à l'écran large.
  const L = Math.round(Math.min(960, Math.max(300, conteneur.clientWidth || 640)));
  const H = L < 480 ? 210 : 240;
  const m = { g: 58, d: 14, h: 12, b: 30 };
  const l = L - m.g - m.d; const h = H - m.h - m.b;
  const n = instants.length;
  const toutes = series.flatMap((s) => s.valeurs).filter((v) => v !== null && v !== undefined);
  const sommet = Math.max(0, ...toutes, cible ? cible.valeur * 1.15 : 0);
  const pasY = plafond(sommet / 4);
  const haut = pasY * Math.max(1, Math.ceil(sommet / pasY));
  const x = (i) => m.g + (n <= 1 ? l / 2 : ((i + 0.5) * l) / n);
  const y = (v) => m.h + h - (h * v) / haut;
  const racine = svg('svg', { viewBox: `0 0 ${L} ${H}`, role: 'img', 'aria-label': titre });

  for (let v = 0; v <= haut + pasY / 2; v += pasY) {
    racine.append(svg('line', { class: 'grille', x1: m.g, x2: L - m.d, y1: y(v), y2: y(v) }));
    racine.append(svg('text', { x: m.g - 6, y: y(v) + 4, 'text-anchor': 'end' }, format(v)));
  }
  racine.append(svg('line', { class: 'axe', x1: m.g, x2: L - m.d, y1: y(0), y2: y(0) }));
  const tous = Math.max(1, Math.ceil(n / Math.max(2, Math.floor(l / 80))));
  instants.forEach((t, i) => {
    if (i % tous !== 0) return;
    racine.append(svg('text', { x: x(i), y: H - 10, 'text-anchor': 'middle' }, etiquette(t)));
  });

  const largeurBarre = Math.max(1, (l / Math.max(n, 1)) * 0.72);
  for (const s of series) {
    const couleur = s.couleur;
    if (s.type === 'barres') {
      s.valeurs.forEach((v, i) => {
        if (!v) return;
        const rect = svg('rect', {
          x: x(i) - largeurBarre / 2, y: y(v), width: largeurBarre, height: Math.max(1, y(0) - y(v)),
          fill: couleur, rx: 1.5,
        });
        rect.append(svg('title', {}, `${etiquette(instants[i])} — ${s.nom} : ${format(v)}`));
        racine.append(rect);
      });
    } else {
      let morceau = [];
      const tracer = () => {
        if (morceau.length > 1) {
          racine.append(svg('polyline', {
            points: morceau.join(' '), fill: 'none', stroke: couleur, 'stroke-width': 2,
            'stroke-linejoin': 'round', 'stroke-dasharray': s.pointilles ? '5 4' : 'none',
          }));
        }
        morceau = [];
      };
      s.valeurs.forEach((v, i) => {
        if (v === null || v === undefined) { tracer(); return; }
        morceau.push(`${x(i).toFixed(1)},${y(v).toFixed(1)}`);
        const point = svg('circle', { cx: x(i), cy: y(v), r: n > 60 ? 1.6 : 2.6, fill: couleur });
        point.append(svg('title', {}, `${etiquette(instants[i])} — ${s.nom} : ${format(v)}`));
        racine.append(point);
      });
      tracer();
    }
  }
  if (cible) {
    racine.append(svg('line', { class: 'cible-ligne', x1: m.g, x2: L - m.d, y1: y(cible.valeur), y2: y(cible.valeur) }));
    racine.append(svg('text', { class: 'cible-texte', x: L - m.d - 4, y: y(cible.valeur) - 5, 'text-anchor': 'end' }, cible.texte));
  }
  if (toutes.every((v) => !v)) {
    racine.append(svg('text', { x: m.g + l / 2, y: m.h + h / 2, 'text-anchor': 'middle' }, 'Aucune donnée sur la période'));
  }
  const legende = el('ul', { class: 'legende' }, series.map((s) => {
    const li = el('li', { class: s.pointilles ? 'pointilles' : null }, s.nom);
    li.style.setProperty('--couleur', s.couleur);
    return li;
  }));
  if (cible) {
    const li = el('li', { class: 'pointilles' }, cible.texte);
    li.style.setProperty('--couleur', 'var(--erreur)');
    legende.append(li);
  }
  conteneur.replaceChildren(racine, legende);
}

// Un point par jour de la période (jours du fuseau de l'institution), même sans soumission.
function graphiqueJours(indicateurs) {
  const parJour = new Map((indicateurs.soumissions_par_jour || []).map((j) => [j.jour, j.nombre]));
  const jourDe = (t) => dates.jourIso(t, fuseau);
  const jours = [];
  for (let t = new Date(indicateurs.debut); t <= new Date(indicateurs.fin); t = new Date(t.getTime() + 86400000)) {
    const jour = jourDe(t);
    if (!jours.includes(jour)) jours.push(jour);
  }
  const dernier = jourDe(new Date(indicateurs.fin));
  if (!jours.includes(dernier)) jours.push(dernier);
  graphique(document.getElementById('g-jours'), {
    instants: jours.map((j) => new Date(`${j}T12:00:00Z`)),
    titre: 'Premières réponses enregistrées par jour',
    format: (v) => nombre(v, 0),
    etiquette: (t) => dates.jourMois(t, fuseau),
    series: [{ nom: 'Soumissions', type: 'barres', couleur: COULEURS.soumissions, valeurs: jours.map((j) => parJour.get(j) || 0) }],
  });
}

// La ligne d'objectif d'un graphique : la cible de l'indicateur id, avec son texte.
function ligneObjectif(objectifs, id, texte) {
  const o = objectifs.find((x) => x.id === id);
  return o && typeof o.cible === 'number' ? { valeur: o.cible, texte: texte(o) } : null;
}

function afficherGraphiques(serie, objectifs) {
  const instants = serie.map((p) => new Date(p.t));
  const champ = (nom) => serie.map((p) => (p[nom] === undefined ? null : p[nom]));
  graphique(document.getElementById('g-requetes'), {
    instants, titre: 'Requêtes et échecs par période',
    format: (v) => nombre(v, 0),
    series: [
      { nom: 'Requêtes', type: 'barres', couleur: COULEURS.requetes, valeurs: champ('requetes') },
      { nom: 'Échecs (5xx)', type: 'barres', couleur: COULEURS.echecs, valeurs: champ('echecs') },
    ],
  });
  graphique(document.getElementById('g-temps'), {
    instants, titre: 'Temps de réponse moyen et 95e centile',
    format: (v) => duree(v),
    cible: ligneObjectif(objectifs, 'temps_reponse', (o) => `Objectif : ${duree(o.cible)}`),
    series: [
      { nom: 'Moyenne', type: 'ligne', couleur: COULEURS.moyenne, valeurs: champ('temps_moyen_ms') },
      { nom: '95 % des requêtes (p95)', type: 'ligne', couleur: COULEURS.p95, valeurs: champ('temps_p95_ms') },
    ],
  });
  graphique(document.getElementById('g-file'), {
    instants, titre: 'Longueur de la file d\'attente rapportée par les navigateurs',
    format: (v) => nombre(v, 1),
    cible: ligneObjectif(objectifs, 'file_attente', (o) => `Objectif : moyenne ${o.comparaison} ${nombre(o.cible, 2)}`),
    series: [
      { nom: 'Moyenne', type: 'ligne', couleur: COULEURS.moyenne, valeurs: champ('file_moyenne') },
      { nom: 'Maximum', type: 'ligne', couleur: COULEURS.max, valeurs: champ('file_max'), pointilles: true },
    ],
  });
}

// --- Erreurs, alertes, sauvegardes ---------------------------------------------------------------

const STATUTS = {
  400: 'Requête invalide', 401: 'Lien ou identifiants refusés', 403: 'Accès refusé', 404: 'Introuvable',
  405: 'Méthode refusée', 409: 'Conflit (déjà enregistrée, retirée…)', 412: 'Modifiée entre-temps',
  413: 'Trop volumineuse', 415: 'Format refusé', 422: 'Clé d\'idempotence réutilisée',
  428: 'Version manquante', 429: 'Trop de requêtes', 500: 'Erreur interne', 502: 'Programme injoignable',
  503: 'Base de données indisponible', 504: 'Délai dépassé',
};

function tableau(entetes, lignes, vide) {
  if (lignes.length === 0) return el('p', { class: 'vide' }, vide);
  return el('table', {},
    el('thead', {}, el('tr', {}, entetes.map(([t, c]) => el('th', { scope: 'col', class: c || null }, t)))),
    el('tbody', {}, lignes));
}

// Les plus fréquentes d'abord (l'API les trie) ; au-delà de huit, le reste est replié.
const ERREURS_VISIBLES = 8;

function ligneErreur(e) {
  return el('tr', {},
    el('td', {}, el('span', { class: `etiquette ${e.statut >= 500 ? 'alerte' : 'attente'}` }, e.statut),
      ' ', STATUTS[e.statut] || ''),
    el('td', {}, el('code', {}, e.adresse)),
    el('td', { class: 'nombre' }, nombre(e.nombre, 0)));
}

function afficherErreurs(erreurs) {
  const entetes = [['Erreur'], ['Adresse'], ['Nombre', 'nombre']];
  const conteneur = document.getElementById('erreurs');
  const principales = tableau(entetes, erreurs.slice(0, ERREURS_VISIBLES).map(ligneErreur),
    'Aucune erreur sur la période.');
  if (erreurs.length <= ERREURS_VISIBLES) {
    conteneur.replaceChildren(principales);
    return;
  }
  const reste = erreurs.slice(ERREURS_VISIBLES);
  const total = reste.reduce((n, e) => n + e.nombre, 0);
  conteneur.replaceChildren(principales, el('details', { class: 'autres-erreurs' },
    el('summary', {}, `${reste.length} autre(s) type(s) d'erreur, ${nombre(total, 0)} requête(s)`),
    tableau(entetes, reste.map(ligneErreur), '')));
}

function valeurAlerte(v) {
  return v === null || v === undefined ? '—' : nombre(v, 2);
}

function afficherAlertes(alertes) {
  document.getElementById('alertes').replaceChildren(tableau(
    [['Règle'], ['État'], ['Depuis'], ['Valeur', 'nombre'], ['Seuil', 'nombre']],
    alertes.etats.map((a) => el('tr', { 'data-regle': a.regle },
      el('td', {}, a.titre),
      el('td', {}, a.declenchee
        ? el('span', { class: 'etiquette alerte' }, 'Déclenchée')
        : el('span', { class: 'etiquette' }, 'Normale')),
      el('td', { class: 'date' }, dateCourte(a.depuis)),
      el('td', { class: 'nombre' }, valeurAlerte(a.valeur)),
      el('td', { class: 'nombre' }, valeurAlerte(a.seuil)))),
    'Aucune vérification pour l\'instant (fiable-check-alerts passe toutes les 5 minutes).'));
  const COURRIEL = { sent: 'envoyé', pending: 'en attente', failed: 'échec', none: 'aucun destinataire' };
  document.getElementById('evenements').replaceChildren(tableau(
    [['Quand'], ['Événement'], ['Règle'], ['Courriel']],
    alertes.evenements.map((e) => el('tr', {},
      el('td', { class: 'date' }, dateCourte(e.le)),
      el('td', {}, e.type === 'firing'
        ? el('span', { class: 'etiquette alerte' }, 'Déclenchement')
        : el('span', { class: 'etiquette' }, 'Retour à la normale')),
      el('td', {}, e.titre),
      el('td', {}, COURRIEL[e.courriel] || e.courriel))),
    'Aucun événement.'));
}

function afficherSauvegardes(s, fileDurable) {
  const derniere = s.derniere_reussie;
  const p = document.getElementById('derniere-sauvegarde');
  if (derniere) {
    const vieille = derniere.age_heures > 26;
    p.replaceChildren(
      el('span', { class: `etiquette ${vieille ? 'alerte' : ''}` }, vieille ? 'Trop ancienne' : 'À jour'), ' ',
      `Dernière sauvegarde réussie : ${dateHeure(derniere.fin)} (il y a ${duree(derniere.age_heures * 3600000)}), `
      + `${octets(derniere.taille_octets)}.`);
  } else {
    p.replaceChildren(el('span', { class: 'etiquette alerte' }, 'Aucune'), ' Aucune sauvegarde réussie enregistrée.');
  }
  const STATUT = { success: 'réussie', failed: 'échec', running: 'en cours' };
  document.getElementById('sauvegardes').replaceChildren(tableau(
    [['Début'], ['Statut'], ['Taille', 'nombre'], ['Destination']],
    (s.recentes || []).map((b) => el('tr', {},
      el('td', { class: 'date' }, dateCourte(b.debut)),
      el('td', {}, el('span', { class: `etiquette ${b.statut === 'failed' ? 'alerte' : b.statut === 'running' ? 'attente' : ''}` },
        STATUT[b.statut] || b.statut)),
      el('td', { class: 'nombre' }, octets(b.taille_octets)),
      el('td', {}, b.destination || '—'))),
    'Aucune sauvegarde enregistrée.'));
  document.getElementById('file-durable').textContent = fileDurable && fileDurable.lignes
    ? `${fileDurable.lignes} métrique(s) attendent dans la file durable (base injoignable ?).`
    : 'File durable des métriques : vide.';
}

// Le taux de réponse de chaque campagne qui a des participants (qui a répondu : la vue
// participants_reponses, côté serveur) ; la règle d'alerte « campagne_taux_reponse » et son
// seuil sont dans le tableau des alertes.
const PHASES = {
  ouverte: 'ouverte', a_venir: 'à venir', retard: 'délai de grâce', close: 'close', brouillon: 'brouillon',
};

function afficherCampagnes(campagnes) {
  document.getElementById('campagnes').replaceChildren(tableau(
    [['Campagne'], ['Phase'], ['Fermeture'], ['Participants', 'nombre'], ['Ont répondu', 'nombre'],
      ['Sans réponse', 'nombre'], ['Réponse retirée', 'nombre'], ['Taux de réponse', 'nombre']],
    campagnes.map((c) => el('tr', { 'data-campagne': c.slug },
      el('td', {}, c.titre, ' ', el('code', {}, c.slug)),
      el('td', {}, PHASES[c.phase] || c.phase),
      el('td', { class: 'date' }, c.fermeture
        ? `${dateCourte(c.fermeture)}${c.heures_avant_fermeture !== null
          ? ` (dans ${duree(c.heures_avant_fermeture * 3600000)})` : ''}`
        : '—'),
      el('td', { class: 'nombre' }, nombre(c.participants, 0)),
      el('td', { class: 'nombre' }, nombre(c.repondu, 0)),
      el('td', { class: 'nombre' }, nombre(c.sans_reponse, 0)),
      el('td', { class: 'nombre' }, nombre(c.retire, 0)),
      el('td', { class: 'nombre taux' }, `${nombre(c.taux_reponse, 1)} %`))),
    'Aucune campagne avec des participants.'));
}

// --- Chargement ---------------------------------------------------------------------------------

async function charger() {
  actualise.textContent = 'Actualisation…';
  try {
    const d = await api(`/api/admin/metrics?window=${encodeURIComponent(fenetre)}`);
    fuseau = d.fuseau;
    afficherObjectifs(d.objectifs);
    afficherChiffres(d.indicateurs);
    afficherGraphiques(d.indicateurs.serie || [], d.objectifs || []);
    graphiqueJours(d.indicateurs);
    afficherErreurs(d.indicateurs.erreurs || []);
    afficherAlertes(d.alertes);
    afficherSauvegardes(d.sauvegardes, d.file_durable);
    afficherCampagnes(d.campagnes || []);
    message.textContent = '';
    actualise.textContent = `Actualisé à ${dates.heureSeconde(new Date(), fuseau)} — ${d.indicateurs.requetes} requête(s) sur la période.`;
  } catch (e) {
    message.textContent = e.message;
    message.dataset.type = 'erreur';
    actualise.textContent = `Échec de l'actualisation à ${dates.heureSeconde(new Date(), fuseau)}.`;
  }
}

function planifier() {
  clearInterval(minuterie);
  minuterie = setInterval(() => { if (!document.hidden) charger(); }, ACTUALISATION_MS);
}

function choisirFenetre(nouvelle) {
  fenetre = nouvelle;
  for (const b of boutonsFenetre) b.setAttribute('aria-pressed', String(b.dataset.fenetre === fenetre));
  const url = new URL(window.location.href);
  url.searchParams.set('fenetre', fenetre);
  window.history.replaceState(null, '', url);
  charger();
  planifier();
}

for (const b of boutonsFenetre) {
  b.setAttribute('aria-pressed', String(b.dataset.fenetre === fenetre));
  b.addEventListener('click', () => choisirFenetre(b.dataset.fenetre));
}
document.getElementById('actualiser').addEventListener('click', () => { charger(); planifier(); });
document.addEventListener('visibilitychange', () => { if (!document.hidden) charger(); });

await Promise.all([verifierService(etat), charger()]);
planifier();
document.documentElement.dataset.pret = '1';
