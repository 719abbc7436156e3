// Formulaire de disponibilités : charge les créneaux (GET /api/form), envoie la réponse
// (POST /api/submit). Module ES sans dépendance ; aucun script ni style en ligne (CSP 'self').

const CHAMPS = ['nom', 'email', 'creneaux', 'commentaire'];

const $ = (id) => document.getElementById(id);
const formulaire = $('formulaire');
const bouton = $('envoyer');
const statut = $('statut');

function annoncer(texte, type = 'info') {
  statut.textContent = texte;
  statut.dataset.type = type;
}

// Une clé par appui sur « Envoyer ». crypto.randomUUID n'existe qu'en contexte sûr
// (https, 127.0.0.1, localhost) : sinon, un UUID v4 construit à la main.
function nouvelleCle() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const o = crypto.getRandomValues(new Uint8Array(16));
  o[6] = (o[6] & 0x0f) | 0x40;
  o[8] = (o[8] & 0x3f) | 0x80;
  const h = [...o].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Corps JSON d'une réponse (problem+json compris), ou null s'il n'y en a pas.
async function lireJson(reponse) {
  try {
    return await reponse.json();
  } catch {
    return null;
  }
}

// « mardi 24 novembre 2026 » : le jour du créneau dans le fuseau de l'institution.
function formatJour(creneau, fuseau) {
  const options = { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' };
  try {
    return new Intl.DateTimeFormat('fr-BE', { ...options, timeZone: fuseau })
      .format(new Date(creneau.debut));
  } catch {
    // Fuseau inconnu du navigateur : la date calendaire fournie par le serveur.
    return new Intl.DateTimeFormat('fr-BE', { ...options, timeZone: 'UTC' })
      .format(new Date(`${creneau.jour}T12:00:00Z`));
  }
}

function afficherCreneaux(donnees) {
  const fuseau = donnees.fuseau || 'Europe/Brussels';
  const creneaux = Array.isArray(donnees.creneaux) ? donnees.creneaux : [];
  $('fuseau').textContent = `Horaires exprimés dans le fuseau ${fuseau}.`;

  const liste = $('liste-creneaux');
  liste.replaceChildren();
  if (creneaux.length === 0) {
    const p = document.createElement('p');
    p.className = 'aide';
    p.textContent = 'Aucun créneau n’est proposé pour le moment.';
    liste.append(p);
    return;
  }

  // Regroupement par jour, dans l'ordre reçu.
  const jours = new Map();
  for (const c of creneaux) {
    if (!jours.has(c.jour)) jours.set(c.jour, []);
    jours.get(c.jour).push(c);
  }
  for (const [jour, items] of jours) {
    const groupe = document.createElement('fieldset');
    groupe.className = 'jour';
    const legende = document.createElement('legend');
    const date = formatJour(items[0], fuseau);
    legende.textContent = date.charAt(0).toUpperCase() + date.slice(1);
    groupe.append(legende);
    for (const c of items) {
      const id = `creneau-${c.id}`;
      const ligne = document.createElement('div');
      ligne.className = 'case';
      const boite = document.createElement('input');
      boite.type = 'checkbox';
      boite.name = 'creneaux';
      boite.value = c.id;
      boite.id = id;
      const etiquette = document.createElement('label');
      etiquette.htmlFor = id;
      etiquette.textContent = c.libelle;
      ligne.append(boite, etiquette);
      groupe.append(ligne);
    }
    groupe.dataset.jour = jour;
    liste.append(groupe);
  }
}

async function charger() {
  annoncer('Chargement du formulaire…');
  try {
    const reponse = await fetch('/api/form', { headers: { Accept: 'application/json' } });
    const donnees = await lireJson(reponse);
    if (!reponse.ok || !donnees) {
      annoncer(donnees?.detail || 'Le formulaire n’a pas pu être chargé. Réessayez dans un instant.', 'erreur');
      $('liste-creneaux').replaceChildren();
      return;
    }
    afficherCreneaux(donnees);
    bouton.disabled = false;
    annoncer('');
  } catch {
    annoncer('Connexion impossible. Vérifiez votre réseau puis rechargez la page.', 'erreur');
  }
}

function effacerErreurs() {
  for (const champ of CHAMPS) {
    $(`erreur-${champ}`).textContent = '';
    const element = $(champ);
    if (element) element.removeAttribute('aria-invalid');
  }
}

// Affiche errors[champ] à côté de chaque champ ; renvoie le premier champ en erreur.
function afficherErreurs(erreurs) {
  let premier = null;
  for (const [champ, message] of Object.entries(erreurs || {})) {
    const nom = CHAMPS.find((c) => champ === c || champ.startsWith(`${c}[`) || champ.startsWith(`${c}.`));
    if (!nom) continue;
    const zone = $(`erreur-${nom}`);
    zone.textContent = zone.textContent ? `${zone.textContent} ${message}` : String(message);
    $(nom).setAttribute('aria-invalid', 'true');
    premier ??= nom;
  }
  return premier;
}

function lienModification(donnees) {
  if (donnees?.edit_url) return donnees.edit_url;
  if (donnees?.edit_token) return `${location.origin}/#edit=${encodeURIComponent(donnees.edit_token)}`;
  return '';
}

async function envoyer(evenement) {
  evenement.preventDefault();
  effacerErreurs();

  const corps = {
    email: $('email').value.trim(),
    nom: $('nom').value.trim(),
    creneaux: [...formulaire.querySelectorAll('input[name="creneaux"]:checked')].map((c) => c.value),
    commentaire: $('commentaire').value,
  };

  bouton.disabled = true;
  annoncer('Envoi en cours…');
  let reponse;
  try {
    reponse = await fetch('/api/submit', {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json, application/problem+json',
        'Idempotency-Key': nouvelleCle(),
      },
      body: JSON.stringify(corps),
    });
  } catch {
    annoncer('Connexion impossible : votre réponse n’est pas envoyée. Vérifiez votre réseau et réessayez.', 'erreur');
    bouton.disabled = false;
    return;
  }

  const donnees = await lireJson(reponse);
  if (reponse.ok) {
    annoncer('Merci, votre réponse est enregistrée.', 'succes');
    $('lien-modification').textContent = lienModification(donnees);
    formulaire.hidden = true;
    const merci = $('merci');
    merci.hidden = false;
    merci.focus();
    return;
  }

  bouton.disabled = false;
  if (reponse.status === 409 && donnees?.code === 'already_submitted') {
    annoncer(donnees.detail || 'Une réponse existe déjà pour cette adresse e-mail.', 'erreur');
    $('erreur-email').textContent = 'Une réponse existe déjà pour cette adresse.';
    $('email').setAttribute('aria-invalid', 'true');
    $('email').focus();
    return;
  }
  const premier = afficherErreurs(donnees?.errors);
  annoncer(donnees?.detail || `L’envoi a échoué (erreur ${reponse.status}). Réessayez dans un instant.`, 'erreur');
  if (premier === 'creneaux') formulaire.querySelector('input[name="creneaux"]')?.focus();
  else if (premier) $(premier).focus();
}

formulaire.addEventListener('submit', envoyer);
charger();
