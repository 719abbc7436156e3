// Liste des campagnes (GET /api/admin/campagnes) : état, dates dans le fuseau de chacune,
// réponses et réponses en retard, lien vers le formulaire ; formulaire « Nouvelle campagne »
// (POST /api/admin/campagnes), qui mène à la page de la campagne créée.
import { el } from '../commun/dom.js';
import { dateHeure } from '../commun/dates.js';
import { verifierService } from './commun.js';
import {
  ADRESSE_API, annoncerDans, etiquettePhase, fuseauAppareil, fuseauxConnus, lireChamps, pret,
  requete, slugDepuis, verifierChamps,
} from './campagnes-outils.js';

const message = document.getElementById('message');
const corps = document.querySelector('#campagnes tbody');
const form = document.getElementById('form-nouvelle');
const messageNouvelle = document.getElementById('message-nouvelle');
const champTitre = document.getElementById('n-titre');
const champSlug = document.getElementById('n-slug');

// Le fuseau de chaque campagne : ses dates y sont montrées ; sans lui, celui de l'appareil.
function dateDans(iso, fuseau) {
  try { return dateHeure(iso, fuseau); } catch { return dateHeure(iso); }
}

function ligne(c) {
  const page = `/admin/campagne.html?id=${encodeURIComponent(c.id)}`;
  return el('tr', { 'data-slug': c.slug, 'data-id': c.id, class: c.phase === 'archivee' ? 'retiree' : null },
    el('td', {}, el('a', { href: page }, c.titre), el('br'), el('span', { class: 'aide' }, `/c/${c.slug}/`)),
    el('td', { class: 'phase' }, etiquettePhase(c.phase)),
    el('td', { class: 'date' }, c.ouverture ? dateDans(c.ouverture, c.fuseau) : 'sans date'),
    el('td', { class: 'date' }, c.fermeture ? dateDans(c.fermeture, c.fuseau) : 'sans date'),
    el('td', { class: 'nombre reponses' }, String(c.reponses ?? 0)),
    el('td', { class: 'nombre en-retard' }, c.en_retard ? el('span', { class: 'etiquette attente' }, `${c.en_retard} en retard`) : '0'),
    el('td', {}, el('a', { href: c.adresse || `/c/${c.slug}/`, target: '_blank', rel: 'noopener' },
      'Ouvrir le formulaire', el('span', { class: 'evitement' }, ` de « ${c.titre} » (nouvel onglet)`))));
}

async function charger() {
  try {
    const { donnees } = await requete(ADRESSE_API);
    const liste = donnees.campagnes || [];
    corps.replaceChildren(...liste.map(ligne));
    if (liste.length === 0) {
      corps.append(el('tr', {}, el('td', { colspan: 7, class: 'vide' }, 'Aucune campagne pour l\'instant : créez la première ci-dessous.')));
    }
  } catch (e) {
    corps.replaceChildren(el('tr', {}, el('td', { colspan: 7, class: 'vide' }, 'La liste n\'a pas pu être chargée.')));
    annoncerDans(message, e.message, 'erreur');
  }
}

// L'adresse suit le titre tant que la personne ne l'a pas changée elle-même.
let slugTouche = false;
champSlug.addEventListener('input', () => { slugTouche = champSlug.value !== ''; });
champTitre.addEventListener('input', () => { if (!slugTouche) champSlug.value = slugDepuis(champTitre.value); });

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const donnees = lireChamps(form);
  const fautes = verifierChamps(donnees);
  if (fautes.length) {
    annoncerDans(messageNouvelle, 'La campagne n\'est pas créée :', 'erreur', fautes);
    return;
  }
  const bouton = document.getElementById('creer');
  bouton.disabled = true;
  annoncerDans(messageNouvelle, 'Création…');
  try {
    const { donnees: c, adresse } = await requete(ADRESSE_API, { methode: 'POST', corps: donnees });
    const id = c && c.id ? c.id : String(adresse || '').split('/').pop();
    annoncerDans(messageNouvelle, `Campagne « ${donnees.titre} » créée.`, 'succes');
    window.location.assign(`/admin/campagne.html?id=${encodeURIComponent(id)}&creee=1`);
  } catch (e) {
    const detail = e.code === 'slug_pris' ? `${e.message} Choisissez une autre adresse.` : e.message;
    annoncerDans(messageNouvelle, detail, 'erreur', []);
    bouton.disabled = false;
    if (e.code === 'slug_pris') champSlug.focus();
  }
});

document.getElementById('aller-nouvelle').addEventListener('click', (ev) => {
  ev.preventDefault();
  champTitre.focus();
  champTitre.scrollIntoView({ block: 'center' });
});

const datalist = document.getElementById('fuseaux');
datalist.append(...fuseauxConnus().map((z) => el('option', { value: z })));
document.getElementById('n-fuseau').value = fuseauAppareil();

verifierService(document.getElementById('etat'));
await charger();
pret();
