// Création d'éléments, commune au formulaire et à l'administration.

// el('td', { class: 'nombre', texte: '…', onclick: f }, enfant, 'texte', [enfants]) : un
// attribut null, undefined ou false est omis ; « texte » est le contenu, « class » la classe,
// « onX » un écouteur ; une propriété de l'élément (htmlFor, className, value, checked…) est
// affectée telle quelle, le reste devient un attribut (true : présent, vide). Les enfants
// null, undefined ou false sont omis, les tableaux aplatis.
export function el(nom, attributs = {}, ...enfants) {
  const e = document.createElement(nom);
  for (const [cle, valeur] of Object.entries(attributs)) {
    if (valeur === null || valeur === undefined || valeur === false) continue;
    if (cle === 'texte') e.textContent = valeur;
    else if (cle === 'class') e.className = valeur;
    else if (cle.startsWith('on') && typeof valeur === 'function') e.addEventListener(cle.slice(2), valeur);
    else if (cle in e) e[cle] = valeur;
    else e.setAttribute(cle, valeur === true ? '' : String(valeur));
  }
  for (const enfant of enfants.flat()) {
    if (enfant !== null && enfant !== undefined && enfant !== false) e.append(enfant);
  }
  return e;
}
