// La réponse enregistrée de ce navigateur : son lien de modification (jeton), sa dernière
// version connue, et les actions directes (retrait, annulation du retrait, restauration).
import * as file from '../file.js';
import { afficher, montrerDeja } from './affichage.js';
import { effacerBrouillon } from './brouillon.js';
import { ecrireChamps, lireChamps } from './champs.js';
import { annoncer, CLE_COMPTE, client, ecrireLocal, effacerLocal, etat, etiquette } from './etat.js';

export function garderCompte() {
  if (etat.compte) ecrireLocal(CLE_COMPTE, etat.compte);
  else effacerLocal(CLE_COMPTE);
}

// Une version connue du serveur. remplir : le formulaire la reprend ; sinon il garde la
// saisie en cours (qui porte sur etat.base : un envoi donnera un conflit à montrer).
export function majReponse(rep, remplir) {
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

export function jetonInvalide(message) {
  const email = etat.compte?.reponse?.email || lireChamps().email;
  etat.compte = etat.base = null;
  etat.attente = false;
  garderCompte();
  afficher();
  montrerDeja('Votre lien de modification n’est plus valable', message || 'Un lien plus récent a peut-être été demandé.', email);
}

export async function chargerReponse() {
  if (!etat.compte || !etat.flags.modification) return;
  const r = await file.requete('GET', '/api/modify', { jeton: etat.compte.jeton });
  if (r.issue === 'succes') majReponse(r.donnees, false);
  else if (r.status === 401) jetonInvalide(r.donnees?.detail);
  else if (etat.compte.reponse) annoncer(`Votre réponse est affichée telle que gardée dans ce navigateur : ${r.message}`, 'attente');
  else annoncer(`Votre réponse n’a pas pu être chargée : ${r.message} Elle s’affichera dès que la connexion reviendra.`, 'erreur');
}

// Retrait, annulation du retrait, restauration : des actions directes, sans file.
export async function action(methode, url, corps, texteSucces) {
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
