#!/usr/bin/env python3
"""The organiser's listings and exports with 100,000 answers ("memory stays flat, a page
answers in under 200 ms").

It creates a campaign (open, 40 slots) through the API, then inserts 100,000 answers into it
directly in SQL as the owner (generate_series: 2 to 14 slots ticked each, a comment, one in
ten withdrawn, one in twenty late), and as many into the first campaign (40 slots of its own)
for the older /api/admin/submissions. Answers are not audited (no trigger writes an audit
row for them): the audit chain stays valid; the slots created through the API are audited as
usual. Then it measures, over HTTP through nginx:
  (a) GET …/matrice: the first page, a middle page (apres=) and the last page, p50/p95 over
      FIABLE_BENCH_CAMPAIGN_RUNS requests each; the later pages as the administration page
      reads them (comptes=non: it keeps the first page's counts) and with the counts;
  (b) GET …/reponses.csv: time, bytes, and the VmRSS of the fiable-campaigns worker before,
      during (sampled every 10 ms) and after;
  (c) the same for GET /api/admin/submissions.csv and /api/admin/submissions (fiable-metrics);
  (d) GET /api/admin/campagnes (the list with answer counts) and GET …/<id> (its slots with
      their counts), p50/p95.
After the load it times the compaction of the deltas the answers' trigger wrote (sql/0021)
and checks that the counts served equal a count made from the answers.
It prints the figures and removes the answers and slots it added (the campaign stays,
archived). Like the other benchmarks it never fails on a timing or a memory figure; it fails
when a request fails or an export is short of rows.

Run with `scripts/dev bench -R campaign` (optimised build). FIABLE_BENCH_CAMPAIGN_ANSWERS
(100000) and FIABLE_BENCH_CAMPAIGN_RUNS (30) change the run; FIABLE_BENCH_CAMPAIGN_KEEP=1 leaves
the answers in place (to look at the plans in psql on a stack started by hand)."""

import http.client
import json
import os
import statistics
import sys
import threading
import time
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

import fiable_test as ft  # noqa: E402

ANSWERS = int(os.environ.get("FIABLE_BENCH_CAMPAIGN_ANSWERS", "100000"))
RUNS = int(os.environ.get("FIABLE_BENCH_CAMPAIGN_RUNS", "30"))
SLOTS = 40
TARGET_MS = 200.0
BASE = "/api/admin/campagnes"
MARK = "bench-campagne"


def auth_headers():
    return {"Authorization": ft.basic_auth("admin", ft.admin_password()),
            "Origin": ft.own_origin()}


def admin(method, path, body=None):
    h = auth_headers()
    data = None
    if body is not None:
        h["Content-Type"] = ft.JSON
        data = ft.encode_json(body)
    resp = ft.request(method, path, body=data, headers=h, timeout=120)
    if resp.status >= 300:
        raise SystemExit("%s %s : %d\n%s" % (method, path, resp.status, resp.describe()))
    return resp


def add_slots(cid):
    """SLOTS slots through the API: 10 days of 4 periods from 2026-03-02."""
    periods = [("08:00", "10:00", "Matin tôt"), ("10:00", "12:00", "Matin"),
               ("13:00", "15:00", "Après-midi"), ("15:00", "17:00", "Fin d'après-midi")]
    n = 0
    day = 2
    while n < SLOTS:
        for start, end, label in periods:
            if n == SLOTS:
                break
            admin("POST", "%s/%d/creneaux" % (BASE, cid),
                  {"debut": "2026-03-%02dT%s" % (day, start),
                   "fin": "2026-03-%02dT%s" % (day, end), "libelle": label})
            n += 1
        day += 1
    return [r[0] for r in ft.sql("SELECT id FROM creneaux WHERE campagne_id = :'p1'::bigint "
                                 "AND retire_at IS NULL ORDER BY position, id", cid)]


def populate(cid, slots, tag):
    """ANSWERS answers to campaign cid: slot k ticked by answer g when a hash of (g, k) falls
    in the first 5 % to 35 % (about 2 to 14 slots, nearly every set different), in the
    form's order."""
    ft.sql(
        "INSERT INTO soumissions_disponibilites (campagne_id, email, nom, creneaux, commentaire, "
        "edit_token_hash) SELECT :'p3'::bigint, '" + MARK + "-' || :'p4' || '-' || g || "
        "'@example.org', 'Personne ' || g || ' Bancdessai', "
        "coalesce((SELECT jsonb_agg(a.s ORDER BY a.n) FROM jsonb_array_elements_text(:'p1'::jsonb) "
        "WITH ORDINALITY AS a(s, n) WHERE abs(hashint4(g * 64 + a.n::integer)) % 100 "
        "< 5 + g % 31), '[]'::jsonb), "
        "CASE WHEN g % 4 = 0 THEN 'Plutôt le matin ; contrainte n° ' || g ELSE '' END, "
        "sha256(('" + MARK + "' || :'p4' || g)::bytea) "
        "FROM generate_series(1, :'p2'::integer) AS g",
        json.dumps(slots), ANSWERS, cid, tag, timeout=1800)
    ft.sql("UPDATE soumissions_disponibilites SET en_retard = true WHERE campagne_id = "
           ":'p1'::bigint AND email LIKE :'p2' AND id % 20 = 7", cid, MARK + "-%", timeout=1800)
    ft.sql("UPDATE soumissions_disponibilites SET deleted_at = now() WHERE campagne_id = "
           ":'p1'::bigint AND email LIKE :'p2' AND id % 10 = 0", cid, MARK + "-%", timeout=1800)


def cleanup(cids):
    for cid in cids:
        ft.sql("DELETE FROM soumissions_disponibilites WHERE campagne_id = :'p1'::bigint "
               "AND email LIKE :'p2'", cid, MARK + "-%", timeout=1800)
    ft.sql("VACUUM ANALYZE soumissions_disponibilites", timeout=1800)


def check_counts(cid):
    """The counts the API serves equal a count made from the answers (fails otherwise)."""
    served = {x["id"]: x["disponibles"]
              for x in admin("GET", "%s/%d" % (BASE, cid)).json()["creneaux"]}
    counted = {r[0]: int(r[1]) for r in ft.sql(
        "SELECT k.id, (SELECT count(*) FROM soumissions_disponibilites s WHERE s.campagne_id = "
        "k.campagne_id AND s.deleted_at IS NULL AND s.creneaux ? k.id) FROM creneaux k "
        "WHERE k.campagne_id = :'p1'::bigint", cid, timeout=1800)}
    if served != counted:
        raise SystemExit("comptes par créneau faux : %r au lieu de %r" % (served, counted))
    print("comptes par créneau servis par l'API : exacts (%d créneaux)" % len(served))


def status_kb(pid, field="VmRSS"):
    try:
        with open("/proc/%d/status" % pid, encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def children_named(family):
    """The workers of fiable-<family> under its multiwatch (FIABLE_VAR/run/fiable-<family>.pid)
    whose program is fiable-<family>: `scripts/dev worker-pids` compares the process name,
    which the kernel cuts at 15 characters ("fiable-campaign")."""
    with open(os.path.join(os.environ["FIABLE_VAR"], "run", "fiable-%s.pid" % family),
              encoding="ascii") as f:
        parent = f.read().strip()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, encoding="utf-8", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                argv0 = f.read().split(b"\0")[0].decode("utf-8", "replace")
        except OSError:
            continue
        if fields[1] == parent and fields[0] != "Z" and \
                os.path.basename(argv0) == "fiable-" + family:
            pids.append(int(entry))
    return pids


def one_worker(family):
    pids = ft.worker_pids(family) or children_named(family)
    if len(pids) != 1:
        raise SystemExit("fiable-%s : %d processus (un seul attendu) : %r"
                         % (family, len(pids), pids))
    return pids[0]


def timed_get(path, runs):
    """p50, p95 and max in ms of runs GETs of path (a fresh connection each, as a browser
    tab's request would often be), and the last body."""
    times = []
    body = None
    for _ in range(runs):
        t = time.monotonic()
        resp = ft.request("GET", path, headers=auth_headers(), timeout=120)
        times.append((time.monotonic() - t) * 1000)
        if resp.status != 200:
            raise SystemExit(resp.describe())
        body = resp.body
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    return statistics.median(times), p95, times[-1], body


def streamed_get(path, pid):
    """GETs path reading the body as it comes, sampling the worker's VmRSS every 10 ms:
    (seconds, bytes, lines, rss before, max during, after) in kB."""
    host, port, _ = ft.env._split_base()
    before = status_kb(pid)
    samples = []
    done = threading.Event()

    def sample():
        while not done.is_set():
            v = status_kb(pid)
            if v is not None:
                samples.append(v)
            done.wait(0.01)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    h = auth_headers()
    h["User-Agent"] = ft.new_user_agent()
    conn = http.client.HTTPConnection(host, port, timeout=600)
    size = lines = 0
    t = time.monotonic()
    try:
        conn.request("GET", path, headers=h)
        resp = conn.getresponse()
        if resp.status != 200:
            raise SystemExit("GET %s : %d %s" % (path, resp.status, resp.read()[:500]))
        tail = b""
        while True:
            chunk = resp.read(65536)
            if not chunk:
                break
            size += len(chunk)
            lines += chunk.count(b"\n")
            tail = (tail + chunk)[-200:]
    finally:
        conn.close()
        seconds = time.monotonic() - t
        done.set()
        th.join()
    if b"INTERROMPU" in tail:
        raise SystemExit("GET %s : export interrompu" % path)
    # The worker may still be finishing (its log line, FCGX_Finish): a last look after it.
    time.sleep(0.2)
    after = status_kb(pid)
    return seconds, size, lines, before, max(samples + [before or 0]), after


def print_stream(label, r, expected_lines=None):
    seconds, size, lines, before, peak, after = r
    print("  %-34s %7.2f s %11d o %8d l.  RSS avant %6.1f Mo  pendant (max) %6.1f Mo  "
          "après %6.1f Mo  (+%d kB)"
          % (label, seconds, size, lines, before / 1024, peak / 1024, after / 1024,
             peak - before))
    if expected_lines is not None and lines < expected_lines:
        raise SystemExit("%s : %d lignes, %d attendues au moins" % (label, lines, expected_lines))


def main():
    ft.require_env()
    print("Banc d'essai des listes et exports des campagnes : %d réponses par campagne, "
          "%d créneaux, %d cœurs, charge %s" % (ANSWERS, SLOTS, os.cpu_count() or 0,
                                               " ".join(open("/proc/loadavg").read().split()[:3])))
    slug = "bench-%s" % uuid.uuid4().hex[:8]
    c = admin("POST", BASE, {"slug": slug, "titre": "Banc d'essai des campagnes",
                             "fuseau": "Europe/Brussels", "etat": "ouverte"}).json()
    cid = c["id"]
    first = int(ft.sql("SELECT campagne_par_defaut()")[0][0])
    cids = [cid, first]
    added_first_slots = []
    try:
        t0 = time.monotonic()
        slots = add_slots(cid)
        before_first = {r[0] for r in ft.sql("SELECT id FROM creneaux WHERE campagne_id = "
                                             ":'p1'::bigint", first)}
        first_slots = add_slots(first)
        added_first_slots = [s for s in first_slots if s not in before_first]
        populate(cid, slots, "a")
        populate(first, first_slots, "b")
        ft.sql("VACUUM ANALYZE soumissions_disponibilites", timeout=1800)
        # The answers' trigger wrote one delta per slot ticked (sql/0021); the first read
        # would compact them all: timed here, once, like a read after a bulk load.
        t = time.monotonic()
        moved = int(ft.sql("SELECT creneaux_comptes_compacter()", timeout=1800)[0][0])
        print("tassement des comptes après le remplissage : %d deltas en %.1f s"
              % (moved, time.monotonic() - t))
        # The dead rows it leaves, as the table's autovacuum (sql/0021) removes them soon.
        ft.sql("VACUUM creneaux_comptes_deltas", timeout=1800)
        check_counts(cid)
        active = int(ft.sql("SELECT count(*) FROM soumissions_disponibilites WHERE campagne_id "
                            "= :'p1'::bigint AND deleted_at IS NULL", cid)[0][0])
        ticks = ft.sql("SELECT avg(jsonb_array_length(creneaux))::numeric(4,1) FROM "
                       "soumissions_disponibilites WHERE campagne_id = :'p1'::bigint", cid)[0][0]
        print("préparation : %.1f s ; %d réponses actives dans la campagne %d, %s créneaux "
              "cochés en moyenne" % (time.monotonic() - t0, active, cid, ticks))
        ids = ft.sql("SELECT id FROM soumissions_disponibilites WHERE campagne_id = "
                     ":'p1'::bigint AND deleted_at IS NULL ORDER BY id", cid)
        middle = ids[len(ids) // 2][0]
        last = ids[max(0, len(ids) - 201)][0]

        print()
        print("(a) matrice, 200 réponses par page, %d requêtes chacune :" % RUNS)
        print("  %-44s %9s %9s %9s" % ("page", "p50 ms", "p95 ms", "max ms"))
        worst = 0.0
        pages = [("première (avec les comptes)", "", True),
                 ("milieu, comptes=non (apres=%s)" % middle, "?apres=%s&comptes=non" % middle,
                  False),
                 ("dernière, comptes=non (apres=%s)" % last, "?apres=%s&comptes=non" % last,
                  False),
                 ("milieu, avec les comptes", "?apres=%s" % middle, True),
                 ("dernière, avec les comptes", "?apres=%s" % last, True)]
        for label, query, counted in pages:
            p50, p95, mx, body = timed_get("%s/%d/matrice%s" % (BASE, cid, query), RUNS)
            page = json.loads(body)
            if len(page["creneaux"]) != SLOTS or not page["personnes"] or \
                    ("disponibles" in page["creneaux"][0]) != counted:
                raise SystemExit("page de matrice inattendue (%s) : %d créneaux, %d personnes"
                                 % (label, len(page["creneaux"]), len(page["personnes"])))
            if not counted or not query:
                worst = max(worst, p95)
            print("  %-44s %9.1f %9.1f %9.1f" % (label, p50, p95, mx))
        print("  objectif : moins de %.0f ms — pire p95 des pages lues par la page "
              "d'administration : %.1f ms (%s)"
              % (TARGET_MS, worst, "atteint" if worst < TARGET_MS else "NON atteint"))

        print()
        print("(d) liste des campagnes et une campagne, %d requêtes :" % RUNS)
        p50, p95, mx, _ = timed_get(BASE, RUNS)
        print("  %-44s %9.1f %9.1f %9.1f" % ("GET /api/admin/campagnes", p50, p95, mx))
        p50, p95, mx, _ = timed_get("%s/%d" % (BASE, cid), RUNS)
        print("  %-44s %9.1f %9.1f %9.1f" % ("GET /api/admin/campagnes/%d (comptes)" % cid,
                                             p50, p95, mx))

        print()
        print("(b) et (c) exports (VmRSS du processus échantillonné toutes les 10 ms) :")
        campaigns_pid = one_worker("campaigns")
        metrics_pid = one_worker("metrics")
        # Warm-up: the first request of a worker pays for its prepared statements.
        timed_get("%s/%d/matrice?limite=1" % (BASE, cid), 1)
        print_stream("GET …/%d/reponses.csv" % cid,
                     streamed_get("%s/%d/reponses.csv" % (BASE, cid), campaigns_pid), active)
        print_stream("GET …/%d/reponses.csv (2e fois)" % cid,
                     streamed_get("%s/%d/reponses.csv" % (BASE, cid), campaigns_pid), active)
        print_stream("GET /api/admin/submissions.csv",
                     streamed_get("/api/admin/submissions.csv", metrics_pid), active)
        print_stream("GET /api/admin/submissions.csv (2e)",
                     streamed_get("/api/admin/submissions.csv", metrics_pid), active)
        print_stream("GET /api/admin/submissions (JSON)",
                     streamed_get("/api/admin/submissions", metrics_pid))
    finally:
        if os.environ.get("FIABLE_BENCH_CAMPAIGN_KEEP") == "1":
            print("réponses laissées en place (FIABLE_BENCH_CAMPAIGN_KEEP=1)")
        else:
            finish(cid, cids, added_first_slots)
    return 0


def finish(cid, cids, added_first_slots):
    """Removes the answers and the first campaign's added slots; archives the campaign."""
    cleanup(cids)
    for s in added_first_slots:
        ft.sql("DELETE FROM creneaux WHERE id = :'p1'", s)
    resp = admin("GET", "%s/%d" % (BASE, cid))
    body = resp.json()
    keep = {k: body[k] for k in ("slug", "titre", "introduction", "fuseau", "ouverture",
                                 "fermeture", "delai_grace_minutes", "modification_jusqu_a")}
    keep["etat"] = "archivee"
    h = auth_headers()
    h["Content-Type"] = ft.JSON
    h["If-Match"] = resp.header("ETag")
    ft.request("PUT", "%s/%d" % (BASE, cid), body=ft.encode_json(keep), headers=h)


if __name__ == "__main__":
    sys.exit(main())
