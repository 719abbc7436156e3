// Les participants d'une campagne (/admin/participants.html?id=N) : l'accès (ouvert ou sur
// invitation), qui a répondu par groupe et en tout (la liste et ses comptes viennent de
// GET …/participants, la règle « a répondu » de la vue participants_reponses), la liste avec
// l'état de chaque invitation (et l'erreur du serveur de courrier quand il l'a refusée),
// l'ajout, le retrait, l'import d'un fichier CSV (tout ou rien, erreurs ligne par ligne),
// l'envoi des invitations, la relance de ceux qui n'ont pas répondu (combien : le serveur le
// dit, GET …/relances), les relances automatiques et celles déjà faites.
import { el } from '../commun/dom.js';
import { dateCourte } from '../commun/dates.js';
import { nombre, verifierService } from './commun.js';
import {
  ADRESSE_API, annoncerDans, etiquettePhase, lignesErreurs, pret, requete,
} from './campagnes-outils.js';

const id = new URLSearchParams(window.location.search).get('id');
const base = `${ADRESSE_API}/${encodeURIComponent(id || '')}`;
const $ = (x) => document.getElementById(x);

let campagne = null;  // GET …/N : titre, fuseau, phase
let liste = null;     // GET …/N/participants
let relances = null;  // GET …/N/relances

const REPONSES = {
  repondu: { texte: 'a répondu', classe: 'repondu' },
  sans_reponse: { texte: 'pas répondu', classe: 'attente' },
  retire: { texte: 'réponse retirée', classe: 'retiree' },
};
const pluriel = (n, un, plusieurs) => `${nombre(n, 0)} ${n === 1 ? un : plusieurs}`;
const taux = (t) => (t === null || t === undefined ? '—' : `${nombre(100 * t, 1)} %`);

function texteInvitation(p) {
  switch (p.invitation) {
    case 'a_inviter': return 'pas encore invitée';
    case 'a_envoyer': return 'en cours d’envoi';
    case 'envoyee': return `envoyée le ${dateCourte(p.invite_le, campagne && campagne.fuseau)}`;
    case 'refusee': return 'refusée par le serveur de courrier';
    default: return p.invitation;
  }
}

// --- Affichage -----------------------------------------------------------------------------

function afficherTotaux() {
  const t = liste.total;
  const chiffres = [
    ['Participants', nombre(t.participants, 0)], ['Ont répondu', nombre(t.repondu, 0)],
    ['N’ont pas répondu', nombre(t.sans_reponse, 0)], ['Réponse retirée', nombre(t.retire, 0)],
    ['Invitation refusée', nombre(t.invitation_refusee, 0)], ['Taux de réponse', taux(t.taux_reponse)],
  ];
  $('totaux').replaceChildren(...chiffres.map(([k, v]) => el('div', {}, el('dt', {}, k), el('dd', {}, v))));
  const ligne = (g, nom, entete) => el('tr', {},
    el(entete ? 'th' : 'td', entete ? { scope: 'row' } : {}, nom),
    ...[g.participants, g.repondu, g.sans_reponse, g.retire, g.invitation_refusee]
      .map((n) => el('td', { class: 'nombre' }, nombre(n, 0))),
    el('td', { class: 'nombre' }, taux(g.taux_reponse)));
  const corps = liste.groupes.map((g) => ligne(g, g.groupe ?? 'Sans groupe'));
  $('groupes').querySelector('tbody').replaceChildren(...corps);
  $('groupes').querySelector('tfoot')?.remove();
  $('groupes').append(el('tfoot', {}, ligne(t, 'Total', true)));
}

function afficherListe() {
  const n = liste.participants.length;
  $('compte').textContent = pluriel(n, 'personne', 'personnes');
  const archivee = campagne.etat === 'archivee';
  const lignes = liste.participants.map((p) => {
    const r = REPONSES[p.reponse] || { texte: p.reponse, classe: '' };
    return el('tr', { 'data-email': p.email, 'data-reponse': p.reponse },
      el('td', { 'data-colonne': 'Nom' }, p.nom),
      el('td', { 'data-colonne': 'E-mail' }, p.email),
      el('td', { 'data-colonne': 'Groupe' }, p.groupe ?? '—'),
      el('td', { 'data-colonne': 'Réponse' }, el('span', { class: `etiquette ${r.classe}`.trim() }, r.texte)),
      el('td', { 'data-colonne': 'Invitation', 'data-invitation': p.invitation }, texteInvitation(p),
        p.erreur_smtp ? el('span', { class: 'erreur-smtp' }, p.erreur_smtp) : null,
        p.desinscrit_relances ? el('span', { class: 'aide' }, ' — désinscrit des relances') : null),
      el('td', { class: 'actions', 'data-colonne': '' }, el('button', {
        type: 'button', class: 'secondaire', disabled: archivee, onclick: () => retirer(p),
        'aria-label': `Retirer ${p.nom} (${p.email})`,
      }, 'Retirer')));
  });
  $('participants').querySelector('tbody').replaceChildren(...(lignes.length ? lignes
    : [el('tr', {}, el('td', { colspan: 6, class: 'vide' }, 'Personne pour l’instant : ajoutez des participants ou importez un fichier.'))]));
}

function afficherEnvois() {
  const aInviter = liste.participants.filter((p) => p.invitation === 'a_inviter').length;
  const brouillon = campagne.etat === 'brouillon';
  $('apercu-invitations').textContent = aInviter
    ? `${pluriel(aInviter, 'invitation sera envoyée', 'invitations seront envoyées')}.`
    : 'Tout le monde a été invité.';
  $('inviter').textContent = aInviter ? `Envoyer les invitations (${nombre(aInviter, 0)})` : 'Envoyer les invitations';
  $('inviter').disabled = !aInviter || brouillon || campagne.etat === 'archivee';
  const n = relances.a_relancer;
  const ouverte = campagne.phase === 'ouverte';
  $('apercu-relance').textContent = ouverte
    ? (n ? `${pluriel(n, 'personne sera relancée', 'personnes seront relancées')}.` : 'Personne à relancer pour l’instant.')
    : 'La campagne n’accepte pas de réponses en ce moment : pas de relance.';
  $('relancer').textContent = n && ouverte ? `Relancer ceux qui n’ont pas répondu (${nombre(n, 0)})` : 'Relancer ceux qui n’ont pas répondu';
  $('relancer').disabled = !n || !ouverte;
  if (document.activeElement !== $('r-heures')) $('r-heures').value = relances.heures.join(', ');
  $('sans-fermeture').hidden = Boolean(campagne.fermeture);
  const lignes = relances.relances.map((r) => el('tr', {},
    el('td', { class: 'date' }, dateCourte(r.le, campagne.fuseau)),
    el('td', {}, r.genre === 'manuelle' ? r.admin : `automatique, ${pluriel(r.heures_avant, 'heure', 'heures')} avant la fermeture`),
    el('td', { class: 'nombre' }, nombre(r.envoyes, 0))));
  $('relances').querySelector('tbody').replaceChildren(...(lignes.length ? lignes
    : [el('tr', {}, el('td', { colspan: 3, class: 'vide' }, 'Aucune relance pour l’instant.'))]));
}

function afficher() {
  document.title = `Participants — ${campagne.titre} — Administration Fiable`;
  $('titre-page').textContent = `Participants — ${campagne.titre}`;
  $('phase').replaceChildren(etiquettePhase(campagne.phase));
  $('retour').href = `/admin/campagne.html?id=${encodeURIComponent(id)}`;
  $('retour').textContent = `← La campagne « ${campagne.titre} »`;
  $('csv-sans-reponse').href = `${base}/participants/sans-reponse.csv`;
  for (const r of document.querySelectorAll('input[name="acces"]')) {
    r.checked = r.value === liste.acces;
    r.disabled = campagne.etat === 'archivee';
  }
  afficherTotaux();
  afficherListe();
  afficherEnvois();
}

async function charger() {
  const [c, l, r] = await Promise.all([requete(base), requete(`${base}/participants`), requete(`${base}/relances`)]);
  campagne = c.donnees;
  liste = l.donnees;
  relances = r.donnees;
  afficher();
}

// Une action : ce qu'elle annonce dans son bloc, puis la page relue.
async function agir(bloc, action) {
  try {
    const texte = await action();
    await charger();
    annoncerDans(bloc, texte, 'succes');
  } catch (e) {
    const champs = e.probleme && e.probleme.errors ? Object.values(e.probleme.errors) : [];
    annoncerDans(bloc, e.message, 'erreur', [...lignesErreurs(e.probleme), ...champs]);
  }
}

// --- Les gestes ----------------------------------------------------------------------------

for (const radio of document.querySelectorAll('input[name="acces"]')) {
  radio.addEventListener('change', () => agir($('message-acces'), async () => {
    const { donnees } = await requete(`${base}/acces`, { methode: 'PUT', corps: { acces: radio.value } });
    return donnees.acces === 'invites'
      ? 'Campagne sur invitation : seules les personnes invitées peuvent répondre, avec leur lien personnel.'
      : 'Campagne ouverte : toute personne qui a l’adresse du formulaire peut répondre.';
  }));
}

async function retirer(p) {
  if (!window.confirm(`Retirer ${p.nom} (${p.email}) de la liste des participants ? Sa réponse, s’il en a donné une, reste enregistrée.`)) return;
  await agir($('message-liste'), async () => {
    await requete(`${base}/participants/${encodeURIComponent(p.id)}`, { methode: 'DELETE' });
    return `${p.nom} a été retiré de la liste.`;
  });
  $('titre-liste').focus();
}

$('inviter').addEventListener('click', () => {
  const n = liste.participants.filter((x) => x.invitation === 'a_inviter').length;
  if (!window.confirm(`Envoyer ${pluriel(n, 'invitation', 'invitations')} ?`)) return;
  agir($('message-envois'), async () => {
    const { donnees } = await requete(`${base}/participants/inviter`, { methode: 'POST' });
    return `${pluriel(donnees.invitations, 'invitation mise', 'invitations mises')} en file d’envoi.`;
  });
});

$('relancer').addEventListener('click', () => {
  if (!window.confirm(`Relancer ${pluriel(relances.a_relancer, 'personne', 'personnes')} qui n’ont pas répondu ?`)) return;
  agir($('message-envois'), async () => {
    const { donnees } = await requete(`${base}/participants/relancer`, { methode: 'POST' });
    return `${pluriel(donnees.envoyes, 'relance mise', 'relances mises')} en file d’envoi.`;
  });
});

$('form-calendrier').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const texte = $('r-heures').value.trim();
  const heures = texte ? texte.split(/[\s,;]+/).filter(Boolean).map(Number) : [];
  agir($('message-envois'), async () => {
    const { donnees } = await requete(`${base}/relances`, { methode: 'PUT', corps: { heures } });
    return donnees.heures.length
      ? `Relances automatiques enregistrées : ${donnees.heures.map((h) => pluriel(h, 'heure', 'heures')).join(', ')} avant la fermeture.`
      : 'Plus de relance automatique pour cette campagne.';
  });
});

$('form-ajout').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = ev.currentTarget.elements;
  const corps = { email: f.email.value.trim(), nom: f.nom.value.trim(), groupe: f.groupe.value.trim() || null };
  await agir($('message-ajout'), async () => {
    const { donnees } = await requete(`${base}/participants`, { methode: 'POST', corps });
    ev.target.reset();
    return `${donnees.nom} (${donnees.email}) ajouté à la liste.`;
  });
  f.email.focus();
});

$('form-import').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const fichier = $('i-fichier').files[0];
  const bloc = $('message-import');
  if (!fichier) {
    annoncerDans(bloc, 'Choisissez d’abord un fichier .csv.', 'erreur');
    $('i-fichier').focus();
    return;
  }
  await agir(bloc, async () => {
    const { donnees } = await requete(`${base}/participants/import`, { methode: 'POST', corps: fichier, type: 'text/csv; charset=utf-8' });
    ev.target.reset();
    return `${pluriel(donnees.ajoutes, 'personne ajoutée', 'personnes ajoutées')} à la liste.`;
  });
});

// --- Démarrage -----------------------------------------------------------------------------

verifierService($('etat'));
if (!id) {
  annoncerDans($('message'), 'Aucune campagne n’est indiquée dans l’adresse : revenez à la liste des campagnes.', 'erreur');
} else {
  try {
    await charger();
  } catch (e) {
    annoncerDans($('message'), e.message, 'erreur');
  }
}
pret();
