// Chromium de Debian (FIABLE_TEST_CHROMIUM, /usr/bin/chromium par défaut) piloté par
// playwright-core : l'API que les tests emploient est celle de playwright, sans adaptation.
import { createRequire } from 'node:module';
import path from 'node:path';

export const NOM = 'chromium';
export const CHROMIUM = process.env.FIABLE_TEST_CHROMIUM || '/usr/bin/chromium';
const requireNode = createRequire(path.join(process.env.FIABLE_TEST_NODE_MODULES, 'x.js'));
export const { chromium } = requireNode('playwright-core');

export const DRAPEAUX = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

// Un navigateur sans profil gardé ; args : drapeaux ajoutés à DRAPEAUX.
export function lancerNavigateur({ args = [], ...options } = {}) {
  return chromium.launch({ executablePath: CHROMIUM, args: [...DRAPEAUX, ...args], headless: true, ...options });
}

// Un contexte sur le profil du dossier donné (un navigateur à lui) : le fermer puis le relancer
// simule la fermeture et la réouverture du navigateur.
export function lancerProfil(profil, options = {}) {
  return chromium.launchPersistentContext(profil, {
    executablePath: CHROMIUM, args: DRAPEAUX, headless: true, ...options,
  });
}

export async function arreter() {}
