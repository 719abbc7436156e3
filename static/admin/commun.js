// Outils communs des pages d'administration : appels à l'API (derrière la même
// authentification que les pages), état du service, nombres en français. Les dates et el()
// sont dans /commun/, partagés avec le formulaire.

// Une erreur d'API avec le texte à montrer (le « detail » français du problème).
export class ErreurApi extends Error {
  constructor(message, statut) {
    super(message);
    this.statut = statut;
  }
}

// GET (ou autre) d'une adresse de l'API ; rend le JSON, ou lève ErreurApi.
export async function api(adresse, options = {}) {
  let reponse;
  try {
    reponse = await fetch(adresse, { cache: 'no-store', ...options });
  } catch {
    throw new ErreurApi('Le serveur ne répond pas. Vérifiez la connexion puis réessayez.', 0);
  }
  const donnees = await reponse.json().catch(() => null);
  if (!reponse.ok) {
    const detail = donnees && typeof donnees.detail === 'string' ? donnees.detail : null;
    throw new ErreurApi(detail || `Le serveur a répondu par une erreur (HTTP ${reponse.status}).`,
      reponse.status);
  }
  return donnees;
}

// Pastille d'état de l'en-tête, d'après GET /api/health.
export async function verifierService(element) {
  try {
    const reponse = await fetch('/api/health', { cache: 'no-store' });
    const sante = await reponse.json().catch(() => ({}));
    if (reponse.ok) {
      const avertissements = Array.isArray(sante.avertissements) ? sante.avertissements : [];
      element.textContent = avertissements.length
        ? `Service en marche — ${avertissements.join(' ')}`
        : 'Service en marche';
      element.dataset.type = avertissements.length ? '' : 'succes';
    } else {
      const raisons = Array.isArray(sante.raisons) ? sante.raisons.join(' ') : '';
      element.textContent = `Service dégradé${raisons ? ` : ${raisons}` : ''}`;
      element.dataset.type = 'erreur';
    }
  } catch {
    element.textContent = 'Le serveur ne répond pas.';
    element.dataset.type = 'erreur';
  }
}

// 1234,5 — avec au plus `decimales` chiffres après la virgule ; « — » sans valeur.
export function nombre(valeur, decimales = 1) {
  if (valeur === null || valeur === undefined || Number.isNaN(Number(valeur))) return '—';
  return new Intl.NumberFormat('fr-BE', { maximumFractionDigits: decimales }).format(Number(valeur));
}

// Une durée en millisecondes, dans l'unité qui se lit le mieux.
export function duree(ms) {
  if (ms === null || ms === undefined) return '—';
  const v = Number(ms);
  if (v < 1) return `${nombre(v, 2)} ms`;
  if (v < 1000) return `${nombre(v, v < 10 ? 1 : 0)} ms`;
  if (v < 120000) return `${nombre(v / 1000, 2)} s`;
  if (v < 7200000) return `${nombre(v / 60000, 1)} min`;
  return `${nombre(v / 3600000, 1)} h`;
}

export function octets(n) {
  if (n === null || n === undefined) return '—';
  const unites = ['octets', 'Kio', 'Mio', 'Gio', 'Tio'];
  let v = Number(n);
  let i = 0;
  while (v >= 1024 && i < unites.length - 1) { v /= 1024; i += 1; }
  return `${nombre(v, i === 0 ? 0 : 1)} ${unites[i]}`;
}
