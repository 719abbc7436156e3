#!/usr/bin/env python3
"""Looks for Idempotency-Keys in clear after a test run (`scripts/dev test` runs it last).

A key derives the edit token of its submission: like the token, it must never be stored,
logged or backed up in clear (sql/0010). This program reads

  - the whole database cluster (pg_dumpall: every database, every table), and
  - every file under FIABLE_VAR but the PostgreSQL data directory: the programs' and nginx's
    logs, PostgreSQL's log, the backups (local and on the test S3 server, .gz read
    decompressed), the metrics spool, the mailbox...

and picks every UUID in them (with or without hyphens, any case). A UUID is a key when its
SHA-256 is one the keys are stored under (idempotency_keys.key_sha256 and
request_metrics.idempotency_key_sha256, read from the same dump) or one the tests noted for
each key they sent (fiable_test.record_key, file FIABLE_VAR/test-key-hashes). Every other UUID
(request ids, user agents, spool ids) is not a key. A key found is named by its hash and
where it was, never printed.

Usage: clear_keys.py --var DIR --pg CONNINFO [--skip DIR]...
       clear_keys.py --self-test
Exit codes: 0 no key in clear; 1 keys found; 2 the search could not be made.
"""

import argparse
import glob
import gzip
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid

KEY_HASHES_FILE = "test-key-hashes"

_HEX = "0-9a-fA-F"
# A UUID with hyphens, or its 32 digits alone; not part of a longer run of hex digits (a
# SHA-256 in hex holds many 32-digit runs, none of them standing alone).
_UUID = re.compile(r"(?<![%s])(?:[%s]{8}-[%s]{4}-[%s]{4}-[%s]{4}-[%s]{12}|[%s]{32})(?![%s])"
                   % ((_HEX,) * 8))
_COPY = re.compile(r"^COPY ([\w.\"]+) \((.*)\) FROM stdin;$")
# Columns that hold the SHA-256 of a key (bytea, dumped as \\x followed by 64 hex digits).
_HASH_COLUMNS = {"key_sha256", "idempotency_key_sha256"}


def key_hash(text):
    """The hash a key is stored under: SHA-256 of its lowercase hyphenated text."""
    digits = text.replace("-", "").lower()
    canonical = str(uuid.UUID(hex=digits))
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


class Search:
    def __init__(self):
        self.known = set()        # hashes of keys
        self.noted = 0            # hashes noted by the tests
        self.candidates = {}      # hash of a UUID -> first place it was seen
        self.sources = 0          # files and dumps read
        self.dump_hashes = 0      # key hashes read in the dump (it did cover those tables)

    def note_uuids(self, text, where):
        for m in _UUID.finditer(text):
            h = key_hash(m.group(0))
            self.candidates.setdefault(h, where)

    def read_dump_lines(self, lines, name):
        """A pg_dumpall text dump: its UUIDs, and the key hashes of its COPY blocks."""
        self.sources += 1
        table, columns, database = None, None, "?"
        for n, line in enumerate(lines, 1):
            line = line.rstrip("\n")
            if table is None:
                if line.startswith("\\connect "):
                    database = line.split()[-1]
                m = _COPY.match(line)
                if m:
                    table = m.group(1)
                    columns = [c.strip().strip('"') for c in m.group(2).split(",")]
                    continue
            elif line == "\\.":
                table, columns = None, None
                continue
            elif columns:
                fields = line.split("\t")
                for i, col in enumerate(columns):
                    if col in _HASH_COLUMNS and i < len(fields) and fields[i].startswith("\\\\x"):
                        self.known.add(fields[i][3:].lower())
                        self.dump_hashes += 1
            where = "%s (base %s, %s, ligne %d)" % (name, database, table or "schéma", n)
            self.note_uuids(line, where)

    def read_file(self, path):
        try:
            if path.endswith(".gz"):
                with gzip.open(path, "rb") as f:
                    data = f.read()
            else:
                with open(path, "rb") as f:
                    data = f.read()
        except (OSError, EOFError) as e:
            raise RuntimeError("%s : lecture impossible (%s)" % (path, e))
        if data.startswith(b"\x7fELF"):
            return      # an installed program (deploy test): no data in it
        self.sources += 1
        text = data.decode("utf-8", "replace")
        for n, line in enumerate(text.split("\n"), 1):
            if _UUID.search(line):
                self.note_uuids(line, "%s (ligne %d)" % (path, n))

    def read_tree(self, root, skip):
        skip = [os.path.realpath(s) for s in skip]
        for dirpath, dirnames, filenames in os.walk(root):
            real = os.path.realpath(dirpath)
            dirnames[:] = [d for d in dirnames
                           if os.path.realpath(os.path.join(real, d)) not in skip]
            for name in filenames:
                path = os.path.join(dirpath, name)
                if name == KEY_HASHES_FILE or not os.path.isfile(path) or os.path.islink(path):
                    continue
                self.read_file(path)

    def read_noted(self, path):
        try:
            with open(path, encoding="ascii") as f:
                for line in f:
                    line = line.strip()
                    if re.fullmatch(r"[0-9a-f]{64}", line):
                        self.known.add(line)
                        self.noted += 1
        except FileNotFoundError:
            pass

    def found(self):
        """[(hash, where)] of the keys seen in clear."""
        return sorted((h, w) for h, w in self.candidates.items() if h in self.known)


def dump_cluster(search, conninfo):
    tool = "/usr/lib/postgresql/15/bin/pg_dumpall"
    if not os.access(tool, os.X_OK):
        tool = shutil.which("pg_dumpall") or "pg_dumpall"
    env = dict(os.environ, PGCONNECT_TIMEOUT="10")
    proc = subprocess.Popen([tool, "-d", conninfo], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, encoding="utf-8", errors="replace")
    search.read_dump_lines(proc.stdout, "pg_dumpall")
    err = proc.stderr.read()
    if proc.wait() != 0:
        raise RuntimeError("pg_dumpall a échoué (code %d) : %s" % (proc.returncode, err.strip()))


def run(var, conninfo, skip, dump_file=None):
    """The search; returns the exit code."""
    search = Search()
    try:
        if dump_file is not None:
            with open(dump_file, encoding="utf-8") as f:
                search.read_dump_lines(f, dump_file)
        else:
            dump_cluster(search, conninfo)
        search.read_noted(os.path.join(var, KEY_HASHES_FILE))
        search.read_tree(var, skip)
    except RuntimeError as e:
        print("clés en clair : recherche impossible : %s" % e, file=sys.stderr)
        return 2
    if search.noted and not search.dump_hashes:
        # The tests sent keys, yet the dump holds no key hash: it did not cover the tables.
        print("clés en clair : recherche impossible : le dump ne contient aucune empreinte de "
              "clé, alors que les tests en ont envoyé %d" % search.noted, file=sys.stderr)
        return 2
    found = search.found()
    for h, where in found:
        print("CLÉ D'IDEMPOTENCE EN CLAIR (empreinte %s…) : %s" % (h[:16], where), file=sys.stderr)
    if found:
        print("ÉCHEC : %d clé(s) d'idempotence en clair." % len(found), file=sys.stderr)
        return 1
    print("clés en clair : aucune (%d clés connues, %d empreintes lues dans la base, "
          "%d UUID examinés, %d sources lues)" % (len(search.known), search.dump_hashes,
                                                  len(search.candidates), search.sources))
    return 0


def self_test():
    """The search finds keys planted in the places it reads, and only keys."""
    keys = [str(uuid.uuid4()) for _ in range(5)]
    other = str(uuid.uuid4())
    tmp = tempfile.mkdtemp(prefix="fiable-clear-keys-")
    try:
        var = os.path.join(tmp, "var")
        for d in ("log", "backups", "pg/base"):
            os.makedirs(os.path.join(var, d))
        with open(os.path.join(var, KEY_HASHES_FILE), "w") as f:
            f.write("".join(key_hash(k) + "\n" for k in (keys[0], keys[1], keys[4])))
        with open(os.path.join(var, "log", "a.log"), "w") as f:
            f.write("x=%s autre=%s\n" % (keys[0].upper(), other))
        with gzip.open(os.path.join(var, "backups", "b.jsonl.gz"), "wt") as f:
            f.write('{"k":"%s"}\n' % keys[1].replace("-", ""))
        with open(os.path.join(var, "pg", "base", "heap"), "w") as f:
            f.write(keys[4])     # not read: the data directory
        dump = os.path.join(tmp, "dump.sql")
        with open(dump, "w") as f:
            f.write("\\connect fiable\n"
                    "COPY public.idempotency_keys (key_sha256, endpoint) FROM stdin;\n"
                    "\\\\x%s\tPOST /api/submit\n\\\\x%s\tPOST /api/submit\n\\.\n"
                    "COPY public.audit_logs (id, details) FROM stdin;\n"
                    '1\t{"idempotency_key": "%s", "idempotency_key_sha256": "%s"}\n\\.\n'
                    % (key_hash(keys[2]), key_hash(keys[3]), keys[2], key_hash(keys[3])))
        search = Search()
        with open(dump) as f:
            search.read_dump_lines(f, dump)
        search.read_noted(os.path.join(var, KEY_HASHES_FILE))
        search.read_tree(var, [os.path.join(var, "pg")])
        found = {h: w for h, w in search.found()}
        expected = {key_hash(k) for k in keys[:3]}
        failures = []
        if set(found) != expected:
            failures.append("trouvées %r, attendues %r" % (sorted(found), sorted(expected)))
        if key_hash(keys[4]) in found:
            failures.append("le dossier de données a été lu")
        if key_hash(keys[3]) in found or key_hash(other) in found:
            failures.append("une empreinte ou un UUID qui n'est pas une clé a été pris pour une clé")
        if "audit_logs" not in found.get(key_hash(keys[2]), ""):
            failures.append("la table n'est pas nommée : %r" % found.get(key_hash(keys[2])))
        if search.dump_hashes != 2:
            failures.append("%d empreintes lues dans le dump, 2 attendues" % search.dump_hashes)
        code = run(var, None, [os.path.join(var, "pg")], dump_file=dump)
        if code != 1:
            failures.append("code de sortie %d, 1 attendu" % code)
        os.remove(os.path.join(var, "log", "a.log"))
        os.remove(os.path.join(var, "backups", "b.jsonl.gz"))
        with open(dump, "w") as f:
            f.write("COPY public.idempotency_keys (key_sha256) FROM stdin;\n\\\\x%s\n\\.\n"
                    % key_hash(keys[2]))
        code = run(var, None, [os.path.join(var, "pg")], dump_file=dump)
        if code != 0:
            failures.append("code de sortie %d sans clé en clair, 0 attendu" % code)
        with open(dump, "w") as f:
            f.write("COPY public.creneaux (id) FROM stdin;\nx\n\\.\n")
        code = run(var, None, [os.path.join(var, "pg")], dump_file=dump)
        if code != 2:
            failures.append("code de sortie %d pour un dump sans empreinte, 2 attendu" % code)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for f in failures:
        print("échec : " + f, file=sys.stderr)
    print("%d échec(s)" % len(failures))
    return 1 if failures else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--var", help="the test environment's state directory")
    p.add_argument("--pg", help="libpq conninfo of a superuser of the cluster")
    p.add_argument("--skip", action="append", default=[], help="a directory not to read")
    p.add_argument("--self-test", action="store_true")
    args = p.parse_args()
    if args.self_test:
        return self_test()
    if not args.var or not args.pg:
        p.error("--var and --pg are required")
    return run(args.var, args.pg, args.skip)


if __name__ == "__main__":
    sys.exit(main())
