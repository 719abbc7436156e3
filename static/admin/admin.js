// Pages d'administration : l'état du service et la restauration d'une réponse.
// La page et /api/admin/ sont derrière l'authentification de nginx (même royaume).

const etat = document.getElementById('etat');
const formulaire = document.getElementById('restauration');
const resultat = document.getElementById('resultat');

async function verifierEtat() {
  try {
    const reponse = await fetch('/api/health', { cache: 'no-store' });
    etat.textContent = reponse.ok
      ? 'Le service et la base de données répondent.'
      : 'La base de données ne répond pas : les envois sont mis en attente et réessayés.';
    etat.dataset.type = reponse.ok ? 'succes' : 'erreur';
  } catch {
    etat.textContent = 'Le serveur ne répond pas.';
    etat.dataset.type = 'erreur';
  }
}

formulaire.addEventListener('submit', async (evenement) => {
  evenement.preventDefault();
  const id = Number(formulaire.id.value);
  const version = formulaire.version.value === '' ? null : Number(formulaire.version.value);
  if (!Number.isInteger(id) || id < 1 || (version !== null && (!Number.isInteger(version) || version < 1))) {
    resultat.textContent = 'Indiquez un numéro de réponse et, si besoin, un numéro de version (entiers positifs).';
    resultat.dataset.type = 'erreur';
    return;
  }
  const corps = version === null ? { id, undelete: true } : { id, version };
  resultat.textContent = 'Restauration en cours…';
  delete resultat.dataset.type;
  try {
    const reponse = await fetch('/api/admin/restore', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(corps),
    });
    const donnees = await reponse.json().catch(() => ({}));
    if (reponse.ok) {
      resultat.textContent = `Réponse n° ${donnees.id} restaurée : elle est maintenant à la version ${donnees.version}.`;
      resultat.dataset.type = 'succes';
    } else {
      resultat.textContent = donnees.detail || `Échec de la restauration (HTTP ${reponse.status}).`;
      resultat.dataset.type = 'erreur';
    }
  } catch {
    resultat.textContent = 'Le serveur ne répond pas : réessayez.';
    resultat.dataset.type = 'erreur';
  }
});

verifierEtat();
