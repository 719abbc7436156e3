// Dates et heures en français, communes au formulaire et à l'administration.
//
// Deux familles. Sans Intl, à l'heure de l'appareil : le formulaire s'en sert sur le chemin
// du démarrage, car le premier Intl.DateTimeFormat d'une page charge les données ICU (40 à
// 50 ms mesurés dans Chromium). Avec Intl, à l'heure d'un fuseau donné : celui de
// l'institution, que l'API sert (« fuseau » de GET /api/form et de GET /api/admin/metrics) ;
// sans fuseau (undefined), celui de l'appareil.

export const JOURS = ['dimanche', 'lundi', 'mardi', 'mercredi', 'jeudi', 'vendredi', 'samedi'];
export const MOIS = ['janvier', 'février', 'mars', 'avril', 'mai', 'juin', 'juillet', 'août', 'septembre', 'octobre', 'novembre', 'décembre'];

const deux = (n) => String(n).padStart(2, '0');

// --- Sans Intl, à l'heure de l'appareil ----------------------------------------------------

// 14:05 (ou 14:05:09 avec secondes).
export function heure(t, secondes = false) {
  const d = new Date(t);
  return `${deux(d.getHours())}:${deux(d.getMinutes())}${secondes ? `:${deux(d.getSeconds())}` : ''}`;
}

// 1er décembre 2026 (m de 0 à 11).
export const date = (j, m, a) => `${j === 1 ? '1er' : j} ${MOIS[m]} ${a}`;

// 24 novembre 2026 à 14:05.
export function dateLongue(t) {
  const d = new Date(t);
  return `${date(d.getDate(), d.getMonth(), d.getFullYear())} à ${heure(t)}`;
}

// « Lundi 24 novembre 2026 » pour un jour du calendrier « 2026-11-24 » (déjà dans le bon
// fuseau : le serveur le calcule).
export function jourCalendrier(iso) {
  const [a, m, j] = iso.split('-').map(Number);
  const t = `${JOURS[new Date(Date.UTC(a, m - 1, j)).getUTCDay()]} ${date(j, m - 1, a)}`;
  return t.charAt(0).toUpperCase() + t.slice(1);
}

// --- Avec Intl, dans un fuseau -------------------------------------------------------------

const formats = new Map();

// Le format fr-BE de ces options dans ce fuseau, créé une fois. Lève une RangeError si le
// navigateur ne connaît pas le fuseau.
export function format(fuseau, options) {
  const cle = `${fuseau}|${JSON.stringify(options)}`;
  let f = formats.get(cle);
  if (!f) {
    f = new Intl.DateTimeFormat('fr-BE', { ...options, timeZone: fuseau });
    formats.set(cle, f);
  }
  return f;
}

const valide = (iso) => {
  const d = new Date(iso);
  return iso && !Number.isNaN(d.getTime()) ? d : null;
};

// 14:05.
export const heureMinute = (d, fuseau) => format(fuseau, { hour: '2-digit', minute: '2-digit' }).format(d);

// 14:05:09.
export const heureSeconde = (d, fuseau) => format(fuseau, { hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(d);

// 24/11 (les jours d'un graphique).
export const jourMois = (d, fuseau) => format(fuseau, { day: '2-digit', month: '2-digit' }).format(d);

// 2026-11-24 : le jour du calendrier de l'instant d dans ce fuseau.
export function jourIso(d, fuseau) {
  const p = Object.fromEntries(format(fuseau, { year: 'numeric', month: '2-digit', day: '2-digit' })
    .formatToParts(d).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}`;
}

// 24 nov. 2026, 14:05 ; « — » sans date.
export function dateHeure(iso, fuseau) {
  const d = valide(iso);
  return d ? format(fuseau, { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' }).format(d) : '—';
}

// 24/11/2026 00:57 : pour les tableaux ; « — » sans date.
export function dateCourte(iso, fuseau) {
  const d = valide(iso);
  return d ? format(fuseau, { day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit' })
    .format(d).replace(',', '') : '—';
}

// 2026-03-30T09:00 : l'instant iso à l'heure du fuseau, pour un champ datetime-local (le
// serveur relit cette heure locale dans le même fuseau) ; '' sans date valide.
export function saisieLocale(iso, fuseau) {
  const d = valide(iso);
  if (!d) return '';
  const p = Object.fromEntries(format(fuseau, { year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(d).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}
