// Ce que la page montre selon l'état : formulaire, remerciement, réponse enregistrée ou retirée,
// alertes (adresse déjà utilisée, conflit de versions).
import { dateLongue } from '../commun/dates.js';
import { el } from '../commun/dom.js';
import { situation } from './campagne.js';
import { nomCreneau } from './catalogue.js';
import { $, bouton, CHAMPS, etat, formulaire, modeModification, modificationEnFile } from './etat.js';
import { afficherHistorique } from './historique.js';
import { afficherFile } from './vue-file.js';

export function afficher() {
  const f = etat.flags;
  const rep = modeModification() ? etat.compte.reponse : null;
  const retiree = Boolean(rep?.deleted_at);
  const enFile = etat.envois.length > 0;
  const merci = etat.merci || Boolean(etat.compte && !f.modification && !enFile);
  // Avant l'ouverture, après la clôture : pas de formulaire (sauf une réponse encore
  // modifiable) ; un envoi en file reste affiché, le serveur tranchera.
  const phase = situation();
  const ferme = phase.ferme && !enFile;
  $('phase').hidden = !phase.titre || merci;
  $('titre-phase').textContent = phase.titre || '';
  $('phase-texte').textContent = phase.titre ? phase.texte : '';
  $('phase').classList.toggle('alerte', Boolean(phase.titre));
  $('echeance').hidden = Boolean(phase.titre) || !phase.texte || merci || Boolean(rep);
  $('echeance').textContent = phase.titre ? '' : phase.texte;
  $('merci').hidden = !merci;
  $('bloc-lien').hidden = $('voir-reponse').hidden = !f.modification;
  $('compte').hidden = merci || !rep || retiree;
  $('retiree').hidden = merci || !retiree;
  formulaire.hidden = merci || retiree || etat.attente || ferme;
  const verrou = modificationEnFile();
  $('champs').disabled = verrou;
  $('verrou').hidden = !verrou;
  bouton.disabled = verrou || !etat.catalogue;
  bouton.textContent = rep ? 'Enregistrer les modifications' : 'Envoyer';
  $('etat-brouillon').hidden = !f.autosave;
  $('compteur-file').hidden = !f.offline_queue && !enFile;
  $('bloc-demande-lien').hidden = !f.email_links;
  // Sans introduction de la campagne, celle de index.html dit comment remplir le formulaire :
  // sans objet quand il n'est pas proposé.
  $('intro').hidden = Boolean(rep) || merci || (ferme && !etat.campagne?.introduction);
  if (rep) {
    $('compte-texte').textContent = `Envoyée le ${dateLongue(rep.created_at)}${rep.version > 1 ? `, modifiée le ${dateLongue(rep.updated_at)}` : ''} (version ${rep.version}).${ferme ? ' La campagne est close : elle ne peut plus être modifiée.' : ' Vous pouvez la modifier ci-dessous.'}`;
    $('bouton-retirer').hidden = ferme;
    $('retiree-texte').textContent = retiree ? `Vous avez retiré votre réponse le ${dateLongue(rep.deleted_at)} : elle n’est plus prise en compte.` : '';
    afficherHistorique(rep);
  }
  afficherFile();
}

export function contenu(c) {
  const dl = el('dl', { className: 'contenu' });
  const creneaux = c.creneaux?.length ? el('ul', {}, ...c.creneaux.map((id) => el('li', { texte: nomCreneau(id) }))) : '—';
  for (const [titre, valeur] of [['Nom', c.nom], ['E-mail', c.email], ['Créneaux', creneaux], ['Commentaire', c.commentaire]]) {
    dl.append(el('dt', { texte: titre }), el('dd', {}, valeur || '—'));
  }
  return dl;
}

export function montrerMerci() {
  etat.merci = true;
  const rep = etat.compte?.reponse;
  $('merci-qui').textContent = rep ? `Réponse de ${rep.nom} (${rep.email}).${etat.accuse ? ` Un accusé de réception est envoyé à ${rep.email}.` : ''}` : '';
  $('lien-modification').value = etat.compte ? `${location.origin}${etat.slug ? `/c/${etat.slug}/` : '/'}#edit=${etat.compte.jeton}` : '';
  afficher();
  $('merci').focus();
}

export function montrerDeja(titre, texte, email) {
  $('titre-deja').textContent = titre;
  $('deja-texte').textContent = texte + (etat.flags.email_links ? ' Vous ne l’avez plus ? Recevez-en un nouveau par e-mail :' : '');
  $('email-lien').value = email || '';
  $('deja-resultat').textContent = '';
  $('deja').hidden = false;
}

export function montrerConflit(mienne, serveur) {
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
  $('titre-conflit-serveur').textContent = `Version enregistrée (version ${serveur.version}, ${dateLongue(serveur.updated_at)})`;
  $('conflit').hidden = false;
  $('conflit').focus();
}

export function masquerAlertes() {
  $('deja').hidden = $('conflit').hidden = true;
  etat.conflit = null;
}
