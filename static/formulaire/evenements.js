// Les écouteurs : saisie, envoi, réseau, autres onglets, boutons des cartes.
import * as file from '../file.js';
import { afficher, masquerAlertes } from './affichage.js';
import { effacerBrouillon, sauverBrouillon } from './brouillon.js';
import { chargerFormulaire } from './catalogue.js';
import { ecrireChamps, effacerErreur, lireChamps } from './champs.js';
import { confirmer, envoyer } from './envoi.js';
import { $, annoncer, CHAMPS, client, emailValide, etat, formulaire } from './etat.js';
import { action, chargerReponse, garderCompte, majReponse } from './modification.js';
import { afficherReseau, rafraichirFile, texteEnvoi } from './vue-file.js';

// Le contenu d'une réponse refusée, à garder ailleurs : le presse-papiers, ou (refusé,
// contexte non sûr) une zone de texte sélectionnée à copier à la main.
async function copierRefuse(cle) {
  const envoi = etat.refuses.find((x) => x.cle === cle);
  if (!envoi) return;
  try {
    await navigator.clipboard.writeText(texteEnvoi(envoi));
    annoncer('Le contenu de votre réponse est copié : collez-le où vous voulez le garder.', 'succes');
  } catch {
    etat.copie.add(cle);
    afficher();
    const zone = document.querySelector(`li[data-cle="${CSS.escape(cle)}"] textarea`);
    zone?.focus();
    zone?.select();
    annoncer('Le contenu est sélectionné : copiez-le (Ctrl+C, ou appui long sur téléphone).');
  }
}

const clic = (id, fn) => $(id).addEventListener('click', fn);

// Un nouveau lien de modification envoyé à cette adresse ; rend ce qu'il faut en dire.
async function demanderLien(email) {
  const r = await file.requete('POST', '/api/modify/link', { corps: etat.slug ? { email, campagne: etat.slug } : { email }, client: client() });
  return r.issue === 'succes' ? r.donnees?.detail || 'Demande enregistrée.'
    : r.issue === 'reseau' ? 'Le serveur ne répond pas pour le moment : réessayez dans un instant.'
      : r.donnees?.errors?.email || r.message;
}

export function brancher() {
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
  file.evenements.addEventListener('serveur', afficherReseau);
  addEventListener('online', reseau);
  addEventListener('offline', reseau);

  // Les autres onglets : la file a changé (le message la porte), ou un envoi vient d'être
  // enregistré (le message porte le compte et le contenu envoyé).
  file.evenements.addEventListener('change', (e) => rafraichirFile(e.detail));
  file.evenements.addEventListener('message', ({ detail }) => {
    if (detail?.type === 'file') rafraichirFile(detail.envois);
    if (detail?.type === 'enregistre' && (detail.campagne ?? null) === etat.slug && detail.compte?.reponse) confirmer(detail);
  });

  $('file-liste').addEventListener('click', async (e) => {
    const b = e.target.closest('button[data-action]');
    const cle = b?.closest('li').dataset.cle;
    if (!cle) return;
    if (b.dataset.action === 'copier') return copierRefuse(cle);
    if (b.dataset.action === 'supprimer') {
      etat.aSupprimer = cle;
      afficher();
      document.querySelector(`li[data-cle="${CSS.escape(cle)}"] [data-action="supprimer-oui"]`)?.focus();
      return;
    }
    if (b.dataset.action === 'supprimer-non') {
      etat.aSupprimer = null;
      afficher();
      return;
    }
    if (b.dataset.action === 'supprimer-oui') {
      etat.aSupprimer = null;
      etat.copie.delete(cle);
      await file.retirer(cle);
      await rafraichirFile();
      annoncer('La réponse refusée est supprimée de ce navigateur.');
      return;
    }
    if (b.dataset.action === 'reessayer') {
      await file.traiter({ cle, force: true }).catch(() => {});
      await rafraichirFile();
      if (etat.envois.some((x) => x.cle === cle)) annoncer('L’envoi n’a pas encore abouti : la réponse reste dans la file et repartira automatiquement.', 'attente');
      return;
    }
    if (b.dataset.action === 'retirer') {
      etat.aSupprimer = cle;
      afficher();
      document.querySelector(`li[data-cle="${CSS.escape(cle)}"] [data-action="supprimer-non"]`)?.focus();
      return;
    }
    if (b.dataset.action === 'lien') {
      const envoi = etat.refuses.find((x) => x.cle === cle);
      etat.liensDemandes.set(cle, 'Demande en cours…');
      afficher();
      etat.liensDemandes.set(cle, await demanderLien(envoi.corps.email));
      afficher();
      return;
    }
    if (b.dataset.action !== 'retirer-oui') return;
    // Retirée de la file ; son contenu revient dans le formulaire s'il est libre (à corriger
    // puis renvoyer), sinon il a été montré à copier dans la confirmation.
    etat.aSupprimer = null;
    const envoi = etat.envois.find((x) => x.cle === cle);
    await file.retirer(cle);
    const libre = !CHAMPS.some((c) => (c === 'creneaux' ? lireChamps().creneaux.length : lireChamps()[c].trim()));
    if (envoi && libre) ecrireChamps(envoi.corps);
    await rafraichirFile();
    annoncer(libre ? 'Réponse retirée de la file d’attente. Son contenu est remis dans le formulaire : vous pouvez le modifier et l’envoyer de nouveau.'
      : 'Réponse retirée de la file d’attente : elle ne sera pas envoyée.');
    $(libre ? 'nom' : 'titre-file').focus?.();
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
    sortie.textContent = await demanderLien(email);
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
