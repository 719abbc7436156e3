// L'envoi : vérification, mise en file (file.js) puis premier essai, et ce que font une réponse
// acceptée (succes) et un refus qui demande la personne (refus).
import * as file from '../file.js';
import { afficher, masquerAlertes, montrerConflit, montrerDeja, montrerMerci } from './affichage.js';
import { effacerBrouillon, effacerBrouillonEnvoye, sauverBrouillon } from './brouillon.js';
import { afficherErreurs, corpsDe, ecrireChamps, effacerErreur, focaliser, lireChamps, verifier } from './champs.js';
import { annoncer, bouton, CHAMPS, demanderPersistance, etat, etiquette, modeModification, modificationEnFile, versionDe } from './etat.js';
import { chargerFormulaire } from './catalogue.js';
import { corpsInvitation } from './invitation.js';
import { chargerReponse, garderCompte, jetonInvalide, majReponse } from './modification.js';
import { rafraichirFile } from './vue-file.js';

async function envoyerSansFile(envoi) {
  bouton.disabled = true;
  const r = await file.envoyerSansFile(envoi);
  if (r.issue === 'reseau' || r.issue === 'reessai') {
    annoncer(`Votre réponse n’a pas été envoyée : ${r.message} Elle reste dans le formulaire : réessayez dans un instant.`, 'erreur');
  }
  afficher();
}

export async function envoyer(evenement) {
  evenement.preventDefault();
  if (modificationEnFile() || bouton.disabled) return;
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
  // Une création nomme sa campagne : partie plus tard de la file, elle ne peut pas arriver
  // dans une autre.
  const campagne = etat.slug;
  const envoi = file.nouvelEnvoi(rep
    ? { type: 'modification', methode: 'PUT', url: '/api/modify', corps, campagne, jeton: etat.compte.jeton, ifMatch: etiquette(etat.base.version), autosaveMs: etat.dureeBrouillon }
    : { type: 'creation', methode: 'POST', url: '/api/submit', corps: campagne ? { ...corps, campagne, ...corpsInvitation() } : corps, campagne, autosaveMs: etat.dureeBrouillon });
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
  if (etat.refuses.some((e) => e.cle === envoi.cle)) annoncer('Votre réponse a été refusée : la campagne est close. Son contenu reste affiché ci-dessus pour que vous puissiez le copier.', 'erreur');
  else if (reste && reste.type === 'modification') {
    annoncer('Mise en file d’attente : vos modifications sont gardées dans ce navigateur et seront envoyées automatiquement dès que le serveur répondra.', 'attente');
  } else if (reste) {
    // Le formulaire est libéré pour une autre personne (nouveau brouillon, nouvelle clé) ;
    // la réponse gardée est dans la liste de la file, avec son état. Ce qui a été saisi
    // pendant le premier essai reste.
    if (JSON.stringify(corpsDe(lireChamps())) === JSON.stringify(corps)) {
      ecrireChamps({});
      effacerBrouillon();
    }
    afficher();
    annoncer(`Mise en file d’attente : la réponse de ${reste.corps.nom} est gardée dans ce navigateur et partira automatiquement dès que le serveur répondra. Le formulaire est libre pour une autre réponse.`, 'attente');
  }
}

// Réponse 2xx, appelée avant que l'envoi ne quitte la file. Le message aux autres onglets
// porte tout ce qu'ils montrent (le compte, le contenu envoyé) : un onglet qui relirait
// localStorage à son arrivée peut encore y trouver l'ancienne valeur (Firefox : écriture
// propagée plus tard).
export async function succes(envoi, r) {
  const d = r.donnees || {};
  const compte = envoi.type === 'creation'
    ? { jeton: d.edit_token, reponse: { ...corpsDe({ ...envoi.corps, ...d }), id: d.id, version: d.version, created_at: d.created_at, updated_at: d.created_at, deleted_at: null, historique: [] } }
    : { ...etat.compte, reponse: d };
  const message = { type: 'enregistre', cle: envoi.cle, envoi: envoi.type, corps: envoi.corps, compte, campagne: etat.slug };
  confirmer(message);
  file.diffuser(message);
}

// Le formulaire ne contient rien d'autre que ce contenu (ou rien) : la confirmation peut
// prendre sa place sans rien cacher de ce qu'une autre personne a commencé à saisir.
function formulaireLibre(corps) {
  const s = corpsDe(lireChamps());
  return (!s.nom && !s.email && !s.creneaux.length && !s.commentaire) || JSON.stringify(s) === JSON.stringify(corpsDe(corps));
}

// L'état final d'un envoi enregistré, le même dans chaque onglet : celui qui l'a envoyé et
// ceux qui reçoivent son message (enregistre).
export function confirmer({ cle, envoi, corps, compte }) {
  etat.envois = etat.envois.filter((e) => e.cle !== cle);
  const libre = formulaireLibre(corps);
  effacerBrouillonEnvoye(corps);
  etat.compte = compte;
  garderCompte();
  if (envoi !== 'creation') {
    majReponse(compte.reponse, libre);
    annoncer(`Vos modifications sont enregistrées (version ${compte.reponse.version}).`, 'succes');
    return;
  }
  if (!libre) {
    afficher();
    annoncer(`La réponse de ${corps.nom} (${corps.email}) est enregistrée.`, 'succes');
    return;
  }
  ecrireChamps({});
  etat.base = { id: compte.reponse.id, version: compte.reponse.version };
  etat.modifie = false;
  montrerMerci();
  annoncer('Merci, votre réponse est enregistrée.', 'succes', true);
}

// Un refus qui ne se corrige pas dans le formulaire : la campagne est close. L'envoi reste
// dans la file, marqué refusé, avec son contenu à copier ; la page reprend la phase du serveur.
// Aussi : une adresse déjà utilisée (409) pour une réponse partie de la file, que personne
// n'attend devant le formulaire (qui contient peut-être la réponse d'une autre personne) :
// gardée dans la liste, avec le moyen de modifier la réponse enregistrée.
export function garder(envoi, r, depuisFile) {
  if (depuisFile && envoi.type === 'creation' && r.status === 409 && r.donnees?.code === 'already_submitted') return true;
  if (r.status !== 403 || r.donnees?.code !== 'campagne_fermee') return false;
  effacerBrouillonEnvoye(envoi.corps);
  chargerFormulaire();
  return true;
}

// Refus 4xx qui demande la personne : la saisie reste dans le formulaire, modifiable.
export async function refus(envoi, r) {
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
