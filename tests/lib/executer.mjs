// Lance un fichier de test dans un navigateur (node:test) pour le moteur de FIABLE_TEST_MOTEUR,
// comme `node --test FICHIER`, et lit la liste des échecs connus (tests/browser/connus.json) :
// un test de la liste qui échoue dans ce moteur est rapporté « CONNU : … » et ne fait pas
// échouer la suite ; un test de la liste qui réussit est rapporté (l'entrée est à retirer) ;
// tout autre échec fait échouer la suite. Usage : node executer.mjs FICHIER.test.mjs
//
// connus.json : [{ "moteur": "firefox", "fichier": "file", "test": "<nom exact du test>",
//   "constat": "<ce que l'issue a trouvé>", "issue": 17 }]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from 'node:test';
import { tap } from 'node:test/reporters';

const DEPOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const fichier = path.resolve(process.argv[2] || '');
if (!process.argv[2] || !fs.existsSync(fichier)) {
  console.error('usage : node tests/lib/executer.mjs FICHIER.test.mjs');
  process.exit(2);
}
const moteur = process.env.FIABLE_TEST_MOTEUR || 'chromium';
const nomFichier = path.basename(fichier).replace(/\.test\.mjs$/, '');
const liste = path.join(DEPOT, 'tests', 'browser', 'connus.json');
const connus = (fs.existsSync(liste) ? JSON.parse(fs.readFileSync(liste, 'utf8')) : [])
  .filter((c) => c.moteur === moteur && c.fichier === nomFichier);

const echecs = [];
const reussis = [];
const flux = run({ files: [fichier], concurrency: 1 });
flux.on('test:fail', (d) => { if (d.nesting === 0 && d.file) echecs.push(d.name); });
flux.on('test:pass', (d) => { if (d.nesting === 0 && d.file) reussis.push(d.name); });
for await (const ligne of flux.compose(tap)) process.stdout.write(ligne);

let inconnus = 0;
for (const nom of echecs) {
  const c = connus.find((k) => k.test === nom);
  if (c) console.log(`# CONNU : ${moteur} : « ${nom} » échoue : ${c.constat} (issue ${c.issue})`);
  else inconnus += 1;
}
for (const c of connus) {
  if (reussis.includes(c.test)) console.log(`# CONNU mais réussi : ${moteur} : « ${c.test} » : retirer l'entrée de tests/browser/connus.json`);
  else if (!echecs.includes(c.test)) console.log(`# CONNU mais pas lancé : ${moteur} : « ${c.test} » (nom changé ?)`);
}
const connusEchoues = echecs.length - inconnus;
console.log(`# ${moteur} ${nomFichier} : ${reussis.length} réussis, ${inconnus} échoués, ${connusEchoues} connus`);
process.exitCode = inconnus > 0 || (echecs.length === 0 && reussis.length === 0) ? 1 : 0;
