// Firefox ESR de Debian (/usr/bin/firefox-esr, FIABLE_TEST_FIREFOX) piloté par puppeteer-core
// sur WebDriver BiDi : rien n'est téléchargé. Un Firefox par fichier de test, lancé au premier
// besoin ; chaque contexte sans profil y est un contexte utilisateur (stockage à lui) ; un
// contexte sur un profil a son propre Firefox (userDataDir), que l'on ferme et relance.
// Hors ligne : l'émulation de WebDriver BiDi (emulation.setNetworkConditions, page par page :
// navigator.onLine, événements offline et online). Requêtes vues et routes : par le relais du
// contexte (commun.mjs). Erreurs, dialogues et scripts d'initialisation : ceux de puppeteer.
// Presse-papiers : lu et écrit sans demande (dom.events.testing.asyncClipboard), ce que
// grantPermissions accorde dans Chromium.
import { createRequire } from 'node:module';
import path from 'node:path';
import { Contexte, Page, RESOUDRE, nouveauRelais } from './commun.mjs';

export const NOM = 'firefox';
const FIREFOX = process.env.FIABLE_TEST_FIREFOX || '/usr/bin/firefox-esr';
const requireNode = createRequire(path.join(process.env.FIABLE_TEST_NODE_MODULES, 'x.js'));
const puppeteer = requireNode('puppeteer-core');

const PREFERENCES = { 'intl.accept_languages': 'fr-BE, fr', 'intl.locale.requested': 'fr-BE',
  'browser.shell.checkDefaultBrowser': false, 'dom.serviceWorkers.enabled': true,
  'dom.serviceWorkers.testing.enabled': true, 'dom.events.testing.asyncClipboard': true };

function lancerFirefox(userDataDir) {
  return puppeteer.launch({
    browser: 'firefox', executablePath: FIREFOX, headless: true, userDataDir,
    extraPrefsFirefox: PREFERENCES, env: { ...process.env, TZ: 'Europe/Brussels' },
    protocolTimeout: 180000,
  });
}

let partage = null;
const relaisDesProfils = new Map();

class PiloteFirefox {
  constructor(p) { this.p = p; }

  evaluer(corps) { return this.p.evaluate(corps); }

  url() { return this.p.url(); }

  aller(u) { return this.p.goto(u); }

  recharger() { return this.p.reload(); }

  async element(etapes) {
    const h = await this.p.evaluateHandle(`(${RESOUDRE})(${JSON.stringify(etapes)})[0]`);
    const e = h.asElement();
    if (!e) throw new Error(`${JSON.stringify(etapes)} : aucun élément`);
    return e;
  }

  async cliquer(etapes) { await (await this.element(etapes)).click(); }

  async taper(etapes, texte) { await (await this.element(etapes)).type(texte); }

  touche(t) { return this.p.keyboard.press(t === 'Space' ? ' ' : t); }

  frappe(texte) { return this.p.keyboard.type(texte); }

  capture({ fullPage }) { return this.p.screenshot({ fullPage }); }

  taille({ width, height }) { return this.p.setViewport({ width, height }); }

  fermer() { return this.p.close(); }
}

class ContexteFirefox extends Contexte {
  constructor(o, { navigateur, bc, proprietaire, viewport }) {
    super({ moteur: NOM, ...o });
    this.navigateur = navigateur;
    this.bc = bc;
    this.proprietaire = proprietaire;
    this.viewport = viewport;
    this.initiaux = [];
  }

  async addInitScript(fn, arg) { this.initiaux.push([fn, arg]); }

  // Une page ouverte pendant l'émulation hors ligne ne reçoit pas l'événement online quand elle
  // cesse (Firefox 153, constaté) : il lui est envoyé, et c'est dit.
  async setOffline(coupe) {
    this.horsLigne = coupe;
    for (const p of this.pages()) {
      await p.pilote.p.setOfflineMode(coupe);
      if (!coupe && p.ouverteHorsLigne) {
        console.log(`${NOM} : pas possible dans ce moteur (${NOM}) : l’événement online de l’émulation BiDi pour une page `
          + 'ouverte hors ligne ; étape remplacée par l’événement online envoyé à cette page');
        await p.evaluate(() => { dispatchEvent(new Event('online')); });
      }
      p.ouverteHorsLigne = false;
    }
  }

  // Le presse-papiers est ouvert par la préférence dom.events.testing.asyncClipboard.
  async grantPermissions() {}

  async newPage() {
    const p = await this.bc.newPage();
    const page = new Page(this, new PiloteFirefox(p));
    p.on('pageerror', (e) => { page.emit('pageerror', e); });
    p.on('console', (m) => page.emit('console', { type: () => m.type(), text: () => m.text() }));
    p.on('dialog', (d) => {
      if (page.listenerCount('dialog') + this.listenerCount('dialog') === 0) d.dismiss().catch(() => {});
      page.emit('dialog', d);
      this.emit('dialog', d);
    });
    for (const [fn, arg] of this.initiaux) await p.evaluateOnNewDocument(fn, arg);
    if (this.viewport) await page.setViewportSize(this.viewport);
    if (this.horsLigne) {
      await p.setOfflineMode(true);
      page.ouverteHorsLigne = true;
    }
    return this.ajouter(page);
  }

  async close() {
    for (const p of this.pages()) await p.close().catch(() => {});
    if (this.proprietaire) await this.navigateur.close();
    else await this.bc.close().catch(() => {});
    this.relais.couper();
  }
}

async function contexte({ profil, viewport, delai, base }) {
  let navigateur;
  let bc;
  let r = profil && relaisDesProfils.get(profil);
  if (!r) {
    r = await nouveauRelais(base);
    if (profil) relaisDesProfils.set(profil, r);
  }
  r.retablir();
  if (profil) {
    navigateur = await lancerFirefox(profil);
    bc = navigateur.defaultBrowserContext();
  } else {
    partage ??= lancerFirefox(undefined);
    navigateur = await partage;
    bc = await navigateur.createBrowserContext();
  }
  const c = new ContexteFirefox({ base, relais: r, delai }, { navigateur, bc, proprietaire: !!profil, viewport });
  // La page vide qu'ouvre un Firefox neuf n'est pas suivie : elle serait une page sans pilote.
  return c;
}

// Un contexte persistant sur le dossier profil (son propre Firefox).
export function lancerProfil(profil, { viewport, delai, base }) {
  return contexte({ profil, viewport, delai, base });
}

// Un contexte neuf dans le Firefox partagé du fichier de test.
export function lancerContexte({ viewport, delai, base }) {
  return contexte({ viewport, delai, base });
}

export async function arreter() {
  if (partage) await (await partage).close().catch(() => {});
  partage = null;
  for (const r of relaisDesProfils.values()) await r.fermer().catch(() => {});
}
