// Ce que Firefox et WebKit ont en commun derrière la façade (tests/lib/navigateur.mjs) : une
// page et un contexte qui offrent aux tests le sous-ensemble de l'API de playwright qu'ils
// emploient, bâtis sur quelques primitives de chaque moteur (pilote : evaluate, clic et frappe
// natifs, touches, capture, taille, fermeture). Le réseau passe par un relais par contexte
// (tests/lib/relais.mjs) : hors ligne, requêtes vues et routes y sont faites pour les deux
// moteurs de la même façon. Ce qu'un moteur ne peut pas faire lève PasPossible.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { relais } from '../relais.mjs';

// « pas possible dans ce moteur : … » : l'appelant le remplace par l'étape la plus proche et le
// dit (remplacee() de tests/lib/navigateur.mjs) ; rien n'est sauté en silence.
export class PasPossible extends Error {
  constructor(moteur, quoi) {
    super(`pas possible dans ce moteur (${moteur}) : ${quoi}`);
    this.name = 'PasPossible';
    this.moteur = moteur;
    this.quoi = quoi;
  }
}

const attendre = (ms) => new Promise((ok) => { setTimeout(ok, ms); });

// Dans la page : les éléments désignés par une suite d'étapes [{ sel, nth }] (CSS, ou
// « text=… » : le plus petit élément dont le texte contient …).
export const RESOUDRE = `(etapes) => {
  let racines = [document];
  for (const { sel, nth } of etapes) {
    let trouves = [];
    for (const r of racines) {
      if (sel.startsWith('text=')) {
        const t = sel.slice(5);
        trouves.push(...[...r.querySelectorAll('*')].filter((e) => e.textContent.includes(t)
          && ![...e.children].some((c) => c.textContent.includes(t))));
      } else trouves.push(...r.querySelectorAll(sel));
    }
    if (nth !== undefined) trouves = nth < 0 ? trouves.slice(nth, trouves.length + nth + 1) : trouves.slice(nth, nth + 1);
    racines = trouves;
  }
  return racines;
}`;

const VISIBLE = `(e) => !!e && !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length)
  && getComputedStyle(e).visibility !== 'hidden'`;

export class Locator {
  constructor(page, etapes) {
    this.page = page;
    this.etapes = etapes;
  }

  locator(sel) { return new Locator(this.page, [...this.etapes, { sel }]); }

  nth(i) {
    const e = this.etapes.slice(0, -1);
    return new Locator(this.page, [...e, { ...this.etapes.at(-1), nth: i }]);
  }

  first() { return this.nth(0); }

  last() { return this.nth(-1); }

  // fn(éléments, arg) évaluée dans la page.
  tous(fn, arg) {
    return this.page.evaluate(`(${RESOUDRE})(${JSON.stringify(this.etapes)})`, undefined, `(els, arg) => (${fn})(els, arg)`, arg);
  }

  // Attend l'élément unique (le premier) dans l'état voulu, puis fn(élément, arg).
  async un(fn, arg, { etat = 'attached', timeout } = {}) {
    const fin = Date.now() + (timeout ?? this.page.contexte.delai);
    for (;;) {
      const r = await this.tous(`(els, [arg, etat]) => {
        const e = els[0];
        const visible = ${VISIBLE};
        if (!e || (etat === 'visible' && !visible(e)) || (etat === 'enabled' && (!visible(e) || e.matches(':disabled')))) return { pret: false };
        return { pret: true, v: (${fn})(e, arg) };
      }`, [arg, etat]);
      if (r.pret) return r.v;
      if (Date.now() > fin) throw new Error(`${JSON.stringify(this.etapes)} : pas d’élément ${etat} après ${timeout ?? this.page.contexte.delai} ms`);
      await attendre(50);
    }
  }

  count() { return this.tous('(els) => els.length'); }

  allTextContents() { return this.tous('(els) => els.map((e) => e.textContent)'); }

  evaluateAll(fn, arg) { return this.tous(fn, arg); }

  evaluate(fn, arg) { return this.un(`(e, a) => (${fn})(e, a)`, arg); }

  textContent() { return this.un('(e) => e.textContent'); }

  innerText() { return this.un('(e) => e.innerText'); }

  inputValue() { return this.un('(e) => e.value'); }

  getAttribute(nom) { return this.un('(e, n) => e.getAttribute(n)', nom); }

  isChecked() { return this.un('(e) => e.checked'); }

  // Comme playwright : désactivé par son attribut ou par un fieldset désactivé.
  isDisabled() { return this.un('(e) => e.matches(":disabled")'); }

  async isEnabled() { return !(await this.isDisabled()); }

  isVisible() { return this.tous(`(els) => (${VISIBLE})(els[0])`); }

  async isHidden() { return !(await this.isVisible()); }

  focus() { return this.un('(e) => { e.focus(); }'); }

  async waitFor({ state = 'visible', timeout } = {}) {
    const fin = Date.now() + (timeout ?? this.page.contexte.delai);
    for (;;) {
      const v = await this.isVisible();
      const n = await this.count();
      if ((state === 'visible' && v) || (state === 'hidden' && !v) || (state === 'attached' && n > 0)
        || (state === 'detached' && n === 0)) return;
      if (Date.now() > fin) throw new Error(`${JSON.stringify(this.etapes)} : pas ${state} après ${timeout ?? this.page.contexte.delai} ms`);
      await attendre(50);
    }
  }

  // Un vrai clic du moteur, sur l'élément visible et actif, amené à l'écran. Comme playwright,
  // un élément remplacé par la page entre le moment où il est trouvé et le clic (liste
  // redessinée) est cherché de nouveau.
  async click({ timeout } = {}) {
    const fin = Date.now() + (timeout ?? this.page.contexte.delai);
    for (;;) {
      await this.un('(e) => e.scrollIntoView({ block: "center" })', undefined, { etat: 'enabled', timeout });
      try {
        await this.page.pilote.cliquer(this.etapes);
        return;
      } catch (e) {
        if (!/detached|stale/i.test(`${e.name} ${e.message}`) || Date.now() > fin) throw e;
      }
    }
  }

  async check() { if (!(await this.isChecked())) await this.click(); }

  async uncheck() { if (await this.isChecked()) await this.click(); }

  // Comme fill de playwright : la valeur entière remplacée, un événement « input » puis « change ».
  async fill(valeur, { timeout } = {}) {
    await this.un(`(e, v) => {
      e.focus();
      const proto = e instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
      Object.getOwnPropertyDescriptor(proto, 'value').set.call(e, v);
      e.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: 'insertText', data: v }));
      e.dispatchEvent(new Event('change', { bubbles: true }));
    }`, valeur, { etat: 'enabled', timeout });
  }

  // De vraies frappes, une touche après l'autre.
  async pressSequentially(texte) {
    await this.focus();
    await this.page.pilote.taper(this.etapes, texte);
  }

  async press(touche) {
    await this.focus();
    await this.page.keyboard.press(touche);
  }
}

export class Page extends EventEmitter {
  constructor(contexte, pilote) {
    super();
    this.contexte = contexte;
    this.pilote = pilote;
    this.taille = null;
    // type : de vraies frappes dans l'élément qui a le focus.
    this.keyboard = { press: (t) => pilote.touche(t), type: (t) => pilote.frappe(t) };
  }

  versRelais(url) { return String(url).replace(this.contexte.base, this.contexte.relais.origine); }

  context() { return this.contexte; }

  // evaluate(fn, arg) de playwright ; en interne, evaluate(source, _, fn2, arg) : fn2(source évaluée, arg).
  // L'adresse de la page revient avec chaque résultat : url() la suit (history.replaceState).
  async evaluate(fn, arg, fn2, arg2) {
    const corps = fn2 ? `((${fn2})(${fn}, ${JSON.stringify(arg2 ?? null)}))`
      : typeof fn === 'function' ? `((${fn})(${JSON.stringify(arg ?? null)}))` : `(${fn})`;
    const [v, u] = await this.pilote.evaluer(`Promise.resolve(${corps}).then((v) => [v, location.href])`);
    this.adresse = this.versBase(u);
    return v;
  }

  async waitForFunction(fn, arg, { timeout } = {}) {
    const fin = Date.now() + (timeout ?? this.contexte.delai);
    for (;;) {
      const v = await this.evaluate(fn, arg);
      if (v) return v;
      if (Date.now() > fin) throw new Error(`waitForFunction : pas vrai après ${timeout ?? this.contexte.delai} ms : ${fn}`);
      await attendre(50);
    }
  }

  async waitForSelector(sel, { state = 'visible', timeout } = {}) {
    await this.locator(sel).waitFor({ state, timeout });
  }

  async waitForURL(url, { timeout } = {}) {
    const fin = Date.now() + (timeout ?? this.contexte.delai);
    for (;;) {
      this.adresse = this.versBase(await this.pilote.url());
      if (this.adresse === url) return;
      if (Date.now() > fin) throw new Error(`waitForURL : ${url} attendue, ${this.adresse} vue`);
      await attendre(50);
    }
  }

  versBase(u) { return this.contexte.relais.versBase(u); }

  locator(sel) { return new Locator(this, [{ sel }]); }

  // Les routes passent par le relais du contexte : elles valent pour toutes ses pages.
  route(filtre, traitant) { return this.contexte.route(filtre, traitant); }

  async goto(url) {
    await this.pilote.aller(this.versRelais(url));
    this.adresse = this.versBase(await this.pilote.url());
    return null;
  }

  async reload() {
    await this.pilote.recharger();
    this.adresse = this.versBase(await this.pilote.url());
  }

  // Synchrone comme dans playwright : l'adresse lue au dernier ordre (chaque évaluation la
  // rapporte).
  url() { return this.adresse || 'about:blank'; }

  title() { return this.evaluate('document.title'); }

  click(sel, o) { return this.locator(sel).click(o); }

  fill(sel, v, o) { return this.locator(sel).fill(v, o); }

  check(sel) { return this.locator(sel).check(); }

  uncheck(sel) { return this.locator(sel).uncheck(); }

  focus(sel) { return this.locator(sel).focus(); }

  inputValue(sel) { return this.locator(sel).inputValue(); }

  getAttribute(sel, nom) { return this.locator(sel).getAttribute(nom); }

  textContent(sel) { return this.locator(sel).textContent(); }

  isVisible(sel) { return this.locator(sel).isVisible(); }

  isHidden(sel) { return this.locator(sel).isHidden(); }

  isDisabled(sel) { return this.locator(sel).isDisabled(); }

  isEnabled(sel) { return this.locator(sel).isEnabled(); }

  isChecked(sel) { return this.locator(sel).isChecked(); }

  viewportSize() { return this.taille; }

  async setViewportSize(taille) {
    await this.pilote.taille(taille);
    this.taille = { ...taille };
  }

  async screenshot({ path, fullPage = false } = {}) {
    const png = await this.pilote.capture({ fullPage });
    if (path) fs.writeFileSync(path, png);
    return png;
  }

  async close() {
    await this.pilote.fermer();
    this.contexte.oublier(this);
  }
}

// Un contexte : ses pages, son relais (son origine, donc son stockage), ses routes.
export class Contexte extends EventEmitter {
  constructor({ moteur, base, relais: r, delai }) {
    super();
    this.moteur = moteur;
    this.base = base;
    this.relais = r;
    this.delai = delai;
    this.liste = [];
    r.on('request', (q) => this.emit('request', this.requeteVue(q)));
    r.on('requestfailed', (q) => this.emit('requestfailed', this.requeteVue(q)));
    r.on('pageerror', (t) => this.emit('weberror', { error: () => t }));
    this.vues = new WeakMap();
  }

  // La même requête, vue avec l'URL de nginx (BASE) : les tests comparent à BASE.
  requeteVue(q) {
    if (!this.vues.has(q)) this.vues.set(q, { ...q, url: () => this.relais.versBase(q.url().replace(this.relais.cible.origin, this.relais.origine)) });
    return this.vues.get(q);
  }

  setDefaultTimeout(ms) { this.delai = ms; }

  pages() { return [...this.liste]; }

  oublier(p) { this.liste = this.liste.filter((x) => x !== p); }

  ajouter(p) {
    this.liste.push(p);
    this.emit('page', p);
    return p;
  }

  async route(filtre, traitant) {
    this.relais.route(filtre, (route) => traitant({ ...route, request: () => this.requeteVue(route.request()) }));
  }

  async setOffline() {
    throw new PasPossible(this.moteur, 'couper le réseau d’un contexte (pas de mode hors ligne dans son automatisation)');
  }

  // L'étape la plus proche de setOffline : le relais coupe (ou rétablit) toutes les connexions.
  couperRelais(coupe) {
    if (coupe) this.relais.couper();
    else this.relais.retablir();
  }

  async grantPermissions() {
    throw new PasPossible(this.moteur, 'accorder des permissions (presse-papiers) par l’automatisation');
  }
}

export async function nouveauRelais(base, options) {
  return relais(base, options);
}
