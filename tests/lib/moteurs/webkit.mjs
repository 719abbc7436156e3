// WebKitGTK (le moteur de Safari) : WebKitWebDriver de Debian (webkit2gtk-driver), serveur
// WebDriver W3C qui lance MiniBrowser, sous xvfb-run, piloté par selenium-webdriver. Une
// session par fichier de test, ouverte au premier besoin ; chaque contexte y est une suite de
// fenêtres sur son propre relais (son origine, donc son stockage). Ce que l'automatisation de
// WebKit ne peut pas : garder le stockage d'un lancement au suivant (sessions éphémères), le
// mode hors ligne (le relais coupe à sa place), les fenêtres de moins d'environ 447 px, la
// capture pleine page : PasPossible. Erreurs de la page et scripts d'initialisation : par
// /__moteur/init.js que le relais insère dans les pages ; les dialogues sont acceptés.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { Contexte, Page, PasPossible, RESOUDRE, nouveauRelais } from './commun.mjs';

export const NOM = 'webkit';
const PILOTE = process.env.FIABLE_TEST_WEBKIT_DRIVER || '/usr/bin/WebKitWebDriver';
const MINIBROWSER = process.env.FIABLE_TEST_MINIBROWSER || '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
const requireNode = createRequire(path.join(process.env.FIABLE_TEST_NODE_MODULES, 'x.js'));
const { Builder, Key } = requireNode('selenium-webdriver');

const TOUCHES = { Tab: Key.TAB, Enter: Key.ENTER, Escape: Key.ESCAPE, Space: ' ', ArrowDown: Key.ARROW_DOWN,
  ArrowUp: Key.ARROW_UP, ArrowLeft: Key.ARROW_LEFT, ArrowRight: Key.ARROW_RIGHT, Backspace: Key.BACK_SPACE,
  'Shift+Tab': [Key.SHIFT, Key.TAB] };

const portLibre = () => new Promise((ok, ko) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
  s.on('error', ko);
});

// La session : WebKitWebDriver (et son Xvfb), le pilote, et la fenêtre d'accueil qui la garde
// ouverte quand un contexte ferme ses fenêtres. Les ordres passent un par un (une fenêtre
// courante à la fois).
class Session {
  async ouvrir(delai) {
    const port = await portLibre();
    this.processus = spawn('xvfb-run', ['-a', '-s', '-screen 0 1600x1200x24', PILOTE, `--port=${port}`],
      { stdio: 'ignore', detached: true });
    // Xvfb, WebKitWebDriver et MiniBrowser ne survivent pas au test, même arrêté en cours.
    const groupe = this.processus.pid;
    process.on('exit', () => { try { process.kill(-groupe); } catch { /* déjà fini */ } });
    const fin = Date.now() + delai;
    for (;;) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/status`)).ok) break;
      } catch { /* pas encore là */ }
      if (Date.now() > fin) throw new Error(`WebKitWebDriver ne répond pas sur ${port}`);
      await new Promise((ok) => { setTimeout(ok, 100); });
    }
    this.pilote = await new Builder().usingServer(`http://127.0.0.1:${port}`).withCapabilities({
      browserName: 'MiniBrowser', unhandledPromptBehavior: 'accept',
      'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
    }).build();
    this.accueil = await this.pilote.getWindowHandle();
    this.courante = this.accueil;
    this.file = Promise.resolve();
    return this;
  }

  // fn(pilote) dans la fenêtre donnée, après les ordres déjà demandés.
  dans(fenetre, fn) {
    const suite = this.file.then(async () => {
      if (this.courante !== fenetre) {
        await this.pilote.switchTo().window(fenetre);
        this.courante = fenetre;
      }
      return fn(this.pilote);
    });
    this.file = suite.catch(() => {});
    return suite;
  }

  async nouvelleFenetre() {
    return this.dans(this.accueil, async (p) => {
      await p.switchTo().newWindow('window');
      this.courante = await p.getWindowHandle();
      return this.courante;
    });
  }

  async fermer() {
    await this.pilote.quit().catch(() => {});
    try { process.kill(-this.processus.pid); } catch { /* déjà fini */ }
  }
}

let session = null;
const relaisDesProfils = new Map();

class PiloteWebKit {
  constructor(s, fenetre) {
    this.s = s;
    this.fenetre = fenetre;
  }

  dans(fn) { return this.s.dans(this.fenetre, fn); }

  evaluer(corps) { return this.dans((p) => p.executeScript(`return ${corps};`)); }

  url() { return this.dans((p) => p.getCurrentUrl()); }

  aller(u) { return this.dans((p) => p.get(u)); }

  recharger() { return this.dans((p) => p.navigate().refresh()); }

  element(p, etapes) {
    return p.executeScript(`return (${RESOUDRE})(${JSON.stringify(etapes)})[0];`);
  }

  cliquer(etapes) { return this.dans(async (p) => (await this.element(p, etapes)).click()); }

  taper(etapes, texte) { return this.dans(async (p) => (await this.element(p, etapes)).sendKeys(texte)); }

  touche(t) {
    const k = TOUCHES[t] ?? t;
    return this.dans((p) => p.actions().sendKeys(...[k].flat()).perform());
  }

  frappe(texte) { return this.dans((p) => p.actions().sendKeys(texte).perform()); }

  capture({ fullPage }) {
    if (fullPage) throw new PasPossible(NOM, 'capture de la page entière (WebDriver ne capture que la fenêtre)');
    return this.dans(async (p) => Buffer.from(await p.takeScreenshot(), 'base64'));
  }

  // WebDriver règle la fenêtre ; la vue est plus petite de la barre de MiniBrowser.
  taille({ width, height }) {
    return this.dans(async (p) => {
      const [iw, ih, ow, oh] = await p.executeScript('return [innerWidth, innerHeight, outerWidth, outerHeight];');
      try {
        await p.manage().window().setRect({ width: width + ow - iw, height: height + oh - ih });
      } catch (e) {
        throw new PasPossible(NOM, `fenêtre de ${width} × ${height} px (${e.message})`);
      }
      // GTK applique la taille un peu après la réponse : attendre la vue, deux secondes au plus.
      let w;
      for (const fin = Date.now() + 2000; ;) {
        [w] = await p.executeScript('return [innerWidth, innerHeight];');
        if (w === width || Date.now() > fin) break;
        await new Promise((ok) => { setTimeout(ok, 50); });
      }
      if (w !== width) throw new PasPossible(NOM, `vue de ${width} px de large (WebKitWebDriver donne ${w} px)`);
    });
  }

  // La fenêtre fermée, la session revient à sa fenêtre d'accueil.
  fermer() {
    return this.dans(async (p) => {
      await p.close();
      await p.switchTo().window(this.s.accueil);
      this.s.courante = this.s.accueil;
    });
  }
}

class ContexteWebKit extends Contexte {
  constructor(o, { viewport }) {
    super({ moteur: NOM, ...o });
    this.viewport = viewport;
  }

  async addInitScript(fn, arg) {
    this.relais.initScripts.push(`(${fn})(${JSON.stringify(arg ?? null)});`);
  }

  async newPage() {
    const fenetre = await session.nouvelleFenetre();
    const page = new Page(this, new PiloteWebKit(session, fenetre));
    this.ajouter(page);
    if (this.viewport) {
      try {
        await page.setViewportSize(this.viewport);
      } catch (e) {
        if (!(e instanceof PasPossible)) throw e;
      }
    }
    return page;
  }

  async close() {
    for (const p of this.pages()) await p.close().catch(() => {});
    this.relais.couper();
  }
}

async function ouvrirSession(delai) {
  session ??= new Session().ouvrir(delai);
  return session = await session;
}

// memeSession : l'étape qui remplace la relance (PasPossible sinon) : un contexte neuf sur le
// relais du profil, donc sur la même origine, dans la même session : le stockage de la session.
export async function lancerProfil(profil, { viewport, delai, base, memeSession = false }) {
  let r = relaisDesProfils.get(profil);
  if (r && !memeSession) {
    throw new PasPossible(NOM, 'retrouver le stockage d’un lancement précédent (les sessions de WebKitWebDriver sont éphémères)');
  }
  if (!r) {
    r = await nouveauRelais(base, { injecter: true });
    relaisDesProfils.set(profil, r);
  }
  r.retablir();
  await ouvrirSession(delai);
  return new ContexteWebKit({ base, relais: r, delai }, { viewport });
}

export async function lancerContexte({ viewport, delai, base }) {
  await ouvrirSession(delai);
  const r = await nouveauRelais(base, { injecter: true });
  return new ContexteWebKit({ base, relais: r, delai }, { viewport });
}

export async function arreter() {
  if (session) await (await session).fermer();
  session = null;
  for (const r of relaisDesProfils.values()) await r.fermer().catch(() => {});
}
