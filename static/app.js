// Formulaire de disponibilités : créneaux (GET /api/form), brouillon enregistré à chaque
// changement, envoi par la file d'attente (file.js), modification, historique, retrait.
// Sans dépendance ni étape de construction ; aucun script ni style en ligne (CSP 'self').
// Ce module démarre la page ; chaque partie est un module de formulaire/ (l'état partagé dans
// formulaire/etat.js) ; ce que l'administration partage avec le formulaire est dans commun/.
// Un nouveau module s'ajoute aussi à la coquille du service worker (sw.js) et aux
// modulepreload de index.html.
import * as file from './file.js';
import { afficher } from './formulaire/affichage.js';
import { reprendreBrouillon } from './formulaire/brouillon.js';
import { accueil, anciennesCles, migrer } from './formulaire/campagne.js';
import { appliquerFormulaire, chargerFormulaire } from './formulaire/catalogue.js';
import { ecrireChamps } from './formulaire/champs.js';
import { garder, refus, succes } from './formulaire/envoi.js';
import { $, annoncer, CLE_COMPTE, CLE_FORM, deLaCampagne, etat, lireLocal, SLUG_PAGE, versionDe } from './formulaire/etat.js';
import { brancher } from './formulaire/evenements.js';
import { ouvrirInvitation } from './formulaire/invitation.js';
import { chargerReponse, garderCompte } from './formulaire/modification.js';
import { afficherReseau, repartir } from './formulaire/vue-file.js';

// Le lien reçu par e-mail, PUBLIC_URL/c/<slug>/#edit=JETON (ou /#edit=, que l'accueil mène à
// sa campagne) : le jeton est gardé puis retiré de la barre d'adresse (historique, partage
// d'écran).
function lireLienModification() {
  if (!location.hash.startsWith('#edit=')) return;
  const jeton = /^#edit=([A-Za-z0-9_-]{16,})$/.exec(location.hash)?.[1];
  history.replaceState(null, '', location.pathname + location.search);
  if (jeton && etat.compte?.jeton !== jeton) etat.compte = { jeton, reponse: null };
  garderCompte();
}

// Interactif : le catalogue et le contenu gardés (localStorage) sont affichés, on peut saisir
// (la marque que tests/bench/form_bench.mjs mesure). Prête (data-pret) : tout ce que le
// navigateur garde est affiché, la file (IndexedDB) comprise ; c'est ce qu'attendent les tests.
const interactif = () => { performance.mark('fiable-interactif'); };
const pret = () => { document.documentElement.dataset.pret = '1'; };

async function demarrer() {
  afficherReseau();
  // L'accueil (/) : la seule campagne, la liste, ou (serveur sans campagnes) le formulaire.
  if (!SLUG_PAGE && await accueil() === 'fin') {
    if (!$('campagnes').hidden) {
      interactif();
      pret();
    }
    return;
  }
  // Ce qu'une page d'avant les campagnes a gardé revient à la première, une fois.
  if (SLUG_PAGE && anciennesCles()) await migrer();
  etat.compte = lireLocal(CLE_COMPTE);
  lireLienModification();
  const cache = lireLocal(CLE_FORM);
  if (cache) appliquerFormulaire(cache.donnees);
  brancher();
  file.configurer({ succes, refus, garder, appartient: deLaCampagne });
  const frais = chargerFormulaire();
  if (!cache) await frais;
  // Un lien d'invitation (#invitation=) : nom et e-mail de la liste, ou la réponse déjà envoyée.
  await ouvrirInvitation();

  // Interactif dès que le catalogue et le contenu connus sont affichés (localStorage) ; la
  // file (IndexedDB) est lue ensuite, la page n'est prête qu'après.
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
  interactif();

  try {
    const tous = await file.lister();
    // Des envois d'avant les campagnes : rattachés à la première, puis relus.
    repartir(SLUG_PAGE && tous.some((e) => !e.campagne) && await migrer() ? await file.lister() : tous);
  } catch {
    etat.flags.offline_queue = false;
    annoncer('Ce navigateur ne permet pas de garder les envois (stockage indisponible) : gardez la page ouverte jusqu’à la confirmation.', 'erreur');
  }
  // Une modification en file est montrée dans le formulaire (verrouillé) ; une nouvelle
  // réponse en file est dans la liste de la file, le formulaire reste libre.
  const e = etat.envois.find((x) => x.type === 'modification');
  if (e) {
    ecrireChamps(e.corps);
    if (etat.compte?.reponse) etat.base = { id: etat.compte.reponse.id, version: versionDe(e.if_match) };
    annoncer('Mise en file d’attente : vos modifications attendent d’être envoyées.', 'attente');
  }
  afficher();
  pret();
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
