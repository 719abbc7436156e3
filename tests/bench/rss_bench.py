#!/usr/bin/env python3
"""Resident memory of every FastCGI worker over 100,000 requests ("no growth: no
leak. Target under 10 MB").

It reads VmRSS (and RssAnon, the private heap and stack part) from /proc/PID/status of every
worker of every program (scripts/dev worker-pids) at the start, after a warm-up of 2,000
requests and after 100,000 more, all sent through nginx by 16 keep-alive clients across the
endpoint families: mostly distinct valid submissions, GET /api/form and /api/health,
GET/PUT/DELETE /api/modify and POST /api/restore with the client's own edit token, invalid
bodies and headers answered 4xx, POST /api/modify/link, and the administration metrics
behind basic authentication. 127.0.0.1 is exempt from nginx's write limit in this stack.

It prints a table (program, pid, RSS at each point, growth after the warm-up) and, every
tenth of the run, the largest RSS of each program. Like the other benchmarks it never fails
on a timing; it fails on a memory property or a broken run:
  - a worker whose VmRSS grew by more than FIABLE_BENCH_RSS_MAX_GROWTH_KB (2048) after the
    warm-up (a leak, a correctness property);
  - a worker restarted during the run (pid changed: that would hide a leak);
  - a 5xx answer, a transport error, or an answer outside the statuses expected for its kind
    (the run would not measure what it claims).
The 10 MB target is printed (met or not), not enforced.

The mail sender (fiable-mail-outbox --watch) is stopped during the run and restarted at the
end: 50,000 receipts to the Python SMTP server would only load the two cores; the workers
only queue the mail in their transaction either way.

Run with `scripts/dev bench -R rss` (optimised build, no sanitizers). FIABLE_BENCH_RSS_REQUESTS
(100000), FIABLE_BENCH_RSS_WARMUP (2000) and FIABLE_BENCH_RSS_CLIENTS (16) change the run."""

import http.client
import json
import os
import random
import sys
import threading
import time
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

import fiable_test as ft  # noqa: E402

REQUESTS = int(os.environ.get("FIABLE_BENCH_RSS_REQUESTS", "100000"))
WARMUP = int(os.environ.get("FIABLE_BENCH_RSS_WARMUP", "2000"))
CLIENTS = int(os.environ.get("FIABLE_BENCH_RSS_CLIENTS", "16"))
MAX_GROWTH_KB = int(os.environ.get("FIABLE_BENCH_RSS_MAX_GROWTH_KB", "2048"))
TARGET_KB = 10 * 1024
PROGRAMS = ["submit", "form", "health", "modify", "restore", "metrics"]

# Request kinds and their weight in every 100 (withdraw_undelete sends two requests: DELETE,
# then POST /api/restore {"undelete": true}; restore_version sends a PUT first when the
# submission has one version only). The order is shuffled once, with a fixed seed.
MIX = [
    ("submit", 50), ("submit_bad_json", 1), ("submit_missing_fields", 1), ("submit_no_key", 1),
    ("submit_bad_content_type", 1), ("submit_too_large", 1), ("submit_replay", 1),
    ("submit_key_reused", 1),
    ("form", 12), ("health", 8),
    ("modify_get", 5), ("modify_put", 3), ("modify_put_stale", 1), ("modify_bad_token", 1),
    ("withdraw_undelete", 1), ("link", 1),
    ("restore_version", 1), ("restore_invalid", 1),
    ("admin_metrics", 2), ("admin_prometheus", 1), ("admin_submission", 1),
    ("admin_bad_window", 1),
]
# What each kind may answer; anything else (and any 5xx) fails the run.
EXPECTED = {
    "submit": {201}, "submit_bad_json": {400}, "submit_missing_fields": {400, 422},
    "submit_no_key": {400}, "submit_bad_content_type": {415}, "submit_too_large": {413},
    "submit_replay": {201}, "submit_key_reused": {422},
    "form": {200}, "health": {200},
    "modify_get": {200}, "modify_put": {200}, "modify_put_stale": {412},
    "modify_bad_token": {401, 403, 404}, "withdraw": {200}, "undelete": {200},
    # The per-address limit of the link requests (in the program, not nginx) answers 429.
    "link": {202, 429},
    "restore_version": {200}, "restore_invalid": {400, 422},
    "admin_metrics": {200}, "admin_prometheus": {200}, "admin_submission": {200},
    "admin_bad_window": {400, 422},
}


def schedule():
    kinds = [k for k, w in MIX for _ in range(w)]
    random.Random(7).shuffle(kinds)
    return kinds


# --------------------------------------------------------------------------------------
# Memory of the workers


def status_kb(pid, field):
    """A kB field of /proc/PID/status (VmRSS, RssAnon...), or None if the process is gone."""
    try:
        with open("/proc/%d/status" % pid, encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def all_workers():
    return {p: ft.worker_pids(p) for p in PROGRAMS}


def snapshot(workers):
    """{pid: (VmRSS kB, RssAnon kB)} of every worker."""
    return {pid: (status_kb(pid, "VmRSS"), status_kb(pid, "RssAnon"))
            for pids in workers.values() for pid in pids}


def max_by_program(workers):
    out = []
    for p in PROGRAMS:
        values = [status_kb(pid, "VmRSS") or 0 for pid in workers[p]]
        out.append("%s %s" % (p, mb(max(values)) if values else "?"))
    return ", ".join(out)


def mb(kb):
    return "?" if kb is None else "%.2f" % (kb / 1024.0)


# --------------------------------------------------------------------------------------
# Load


class Client:
    """One keep-alive connection and the client's own submission (token, version, e-mail)."""

    def __init__(self, host, port, admin_auth, slots):
        self.host, self.port = host, port
        self.admin_auth = admin_auth
        self.slots = slots
        self.conn = None
        self.token = None
        self.version = 0
        self.sid = None
        self.email = None
        self.last_key = None
        self.last_body = None
        self.counter = 0

    def send(self, method, path, body=None, headers=None):
        """(status, headers, body); one reconnection if the kept-alive connection was gone."""
        h = {"User-Agent": "fiable-rss-bench", "Accept": "application/json"}
        h.update(headers or {})
        if isinstance(body, str):
            body = body.encode("utf-8")
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=h)
                resp = self.conn.getresponse()
                data = resp.read()
                return resp.status, resp.headers, data
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def payload(self, comment="Banc d'essai mémoire"):
        self.counter += 1
        return {"email": "rss-%s@example.org" % uuid.uuid4().hex, "nom": "Banc Mémoire",
                "creneaux": self.slots, "commentaire": "%s %d" % (comment, self.counter)}

    def note_version(self, headers, status):
        etag = headers.get("ETag") or ""
        if status == 200 and etag.startswith('"v') and etag.endswith('"'):
            self.version = int(etag[2:-1])

    def bearer(self, extra=None):
        h = {"Authorization": "Bearer " + self.token}
        h.update(extra or {})
        return h

    def submit_valid(self):
        key = str(uuid.uuid4())
        body = ft.encode_json(self.payload())
        status, headers, data = self.send("POST", ft.SUBMIT, body,
                                          {"Content-Type": ft.JSON, "Idempotency-Key": key})
        if status == 201:
            rep = json.loads(data)
            self.token, self.version = rep["edit_token"], int(rep["version"])
            self.sid, self.email = rep["id"], rep["email"]
            self.last_key, self.last_body = key, body
        return [("submit", status)]

    def run(self, kind):
        """Sends the request(s) of one kind; returns [(kind, status)]."""
        if self.token is None and kind not in ("form", "health"):
            kind = "submit"
        js = {"Content-Type": ft.JSON}
        if kind == "submit":
            return self.submit_valid()
        if kind == "submit_bad_json":
            st, _, _ = self.send("POST", ft.SUBMIT, '{"email": "x@example.org", "nom": ',
                                 dict(js, **{"Idempotency-Key": str(uuid.uuid4())}))
        elif kind == "submit_missing_fields":
            st, _, _ = self.send("POST", ft.SUBMIT, '{"email": "pas-une-adresse"}',
                                 dict(js, **{"Idempotency-Key": str(uuid.uuid4())}))
        elif kind == "submit_no_key":
            st, _, _ = self.send("POST", ft.SUBMIT, ft.encode_json(self.payload()), js)
        elif kind == "submit_bad_content_type":
            st, _, _ = self.send("POST", ft.SUBMIT, ft.encode_json(self.payload()),
                                 {"Content-Type": "text/plain",
                                  "Idempotency-Key": str(uuid.uuid4())})
        elif kind == "submit_too_large":
            big = self.payload()
            big["commentaire"] = "x" * 70000
            st, _, _ = self.send("POST", ft.SUBMIT, ft.encode_json(big),
                                 dict(js, **{"Idempotency-Key": str(uuid.uuid4())}))
        elif kind == "submit_replay":
            st, _, _ = self.send("POST", ft.SUBMIT, self.last_body,
                                 dict(js, **{"Idempotency-Key": self.last_key}))
        elif kind == "submit_key_reused":
            st, _, _ = self.send("POST", ft.SUBMIT, ft.encode_json(self.payload()),
                                 dict(js, **{"Idempotency-Key": self.last_key}))
        elif kind == "form":
            st, _, _ = self.send("GET", ft.FORM)
        elif kind == "health":
            st, _, _ = self.send("GET", ft.HEALTH)
        elif kind == "modify_get":
            st, h, _ = self.send("GET", ft.MODIFY, None, self.bearer())
            self.note_version(h, st)
        elif kind == "modify_put":
            p = self.payload("Modifié")
            p["email"] = self.email
            st, h, _ = self.send("PUT", ft.MODIFY, ft.encode_json(p),
                                 self.bearer(dict(js, **{"If-Match": ft.etag(self.version),
                                                         "Idempotency-Key": str(uuid.uuid4())})))
            self.note_version(h, st)
        elif kind == "modify_put_stale":
            p = self.payload("Périmé")
            p["email"] = self.email
            st, _, _ = self.send("PUT", ft.MODIFY, ft.encode_json(p),
                                 self.bearer(dict(js, **{"If-Match": ft.etag(self.version + 7)})))
        elif kind == "modify_bad_token":
            st, _, _ = self.send("GET", ft.MODIFY, None,
                                 {"Authorization": "Bearer " + uuid.uuid4().hex * 2})
        elif kind == "withdraw_undelete":
            st1, h, _ = self.send("DELETE", ft.MODIFY, None,
                                  self.bearer({"If-Match": ft.etag(self.version)}))
            self.note_version(h, st1)
            st2, h, _ = self.send("POST", ft.RESTORE, '{"undelete": true}',
                                  self.bearer(dict(js, **{"If-Match": ft.etag(self.version)})))
            self.note_version(h, st2)
            return [("withdraw", st1), ("undelete", st2)]
        elif kind == "link":
            st, _, _ = self.send("POST", ft.MODIFY_LINK,
                                 ft.encode_json({"email": self.email}), js)
            # A new link replaces the edit token (sent by mail only): start a new submission.
            self.token = None
        elif kind == "restore_version":
            # Only an earlier version can be restored: a fresh submission is modified first.
            out = self.run("modify_put") if self.version < 2 else []
            st, h, _ = self.send("POST", ft.RESTORE, '{"version": 1}',
                                 self.bearer(dict(js, **{"If-Match": ft.etag(self.version)})))
            self.note_version(h, st)
            return out + [("restore_version", st)]
        elif kind == "restore_invalid":
            st, _, _ = self.send("POST", ft.RESTORE, '{"version": "dernière"}',
                                 self.bearer(js))
        elif kind == "admin_metrics":
            st, _, _ = self.send("GET", "/api/admin/metrics?window=24h", None,
                                 {"Authorization": self.admin_auth})
        elif kind == "admin_prometheus":
            st, _, _ = self.send("GET", "/api/admin/metrics/prometheus", None,
                                 {"Authorization": self.admin_auth})
        elif kind == "admin_submission":
            st, _, _ = self.send("GET", "/api/admin/submissions/%s" % self.sid, None,
                                 {"Authorization": self.admin_auth})
        elif kind == "admin_bad_window":
            st, _, _ = self.send("GET", "/api/admin/metrics?window=1an", None,
                                 {"Authorization": self.admin_auth})
        else:
            raise AssertionError("unknown kind " + kind)
        return [(kind, st)]


class Load:
    def __init__(self, workers):
        host, port, _ = ft._split_base()
        self.admin_auth = ft.basic_auth("admin", ft.admin_password())
        self.slots = ft.valid_slots(2)
        self.clients = [Client(host, port, self.admin_auth, self.slots) for _ in range(CLIENTS)]
        self.kinds = schedule()
        self.next = 0
        self.sent = 0
        self.lock = threading.Lock()
        self.counts = {}
        self.unexpected = {}
        self.errors = []
        self.workers = workers

    def phase(self, total, label, progress=False):
        """Sends `total` requests with every client; returns the seconds taken."""
        start_sent = self.sent
        goal = start_sent + total
        marks = [start_sent + total * i // 10 for i in range(1, 10)] if progress else []
        t0 = time.monotonic()

        def worker(client):
            while True:
                with self.lock:
                    if self.sent >= goal or len(self.errors) > 20:
                        return
                    kind = self.kinds[self.next % len(self.kinds)]
                    self.next += 1
                    self.sent += 1
                try:
                    results = client.run(kind)
                except Exception as e:  # noqa: BLE001 - reported, fails the run
                    with self.lock:
                        self.errors.append("%s: %r" % (kind, e))
                    continue
                with self.lock:
                    self.sent += len(results) - 1
                    for k, st in results:
                        self.counts.setdefault(k, {}).setdefault(st, 0)
                        self.counts[k][st] += 1
                        if st >= 500 or st not in EXPECTED[k]:
                            self.unexpected.setdefault((k, st), 0)
                            self.unexpected[(k, st)] += 1
                    while marks and self.sent >= marks[0]:
                        done = marks.pop(0) - start_sent
                        print("  %s : %6d requêtes, %5.0f s ; RSS max (Mo) : %s"
                              % (label, done, time.monotonic() - t0,
                                 max_by_program(self.workers)), flush=True)

        threads = [threading.Thread(target=worker, args=(c,)) for c in self.clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.monotonic() - t0


# --------------------------------------------------------------------------------------


def main():
    ft.require_dev()
    build = os.environ.get("FIABLE_BUILD", "?")
    workers = all_workers()
    nworkers = sum(len(v) for v in workers.values())
    with open("/proc/loadavg", encoding="ascii") as f:
        load_before = " ".join(f.read().split()[:3])
    print("Banc d'essai de la mémoire des programmes FastCGI : %d requêtes après %d de mise "
          "en route, %d clients, %d processus, %d cœurs, charge %s, compilation %s"
          % (REQUESTS, WARMUP, CLIENTS, nworkers, os.cpu_count(), load_before, build),
          flush=True)
    for p in PROGRAMS:
        if not workers[p]:
            raise AssertionError("aucun processus fiable-%s" % p)

    load = Load(workers)
    start = snapshot(workers)
    ft.dev("mailer-stop")
    try:
        t_warm = load.phase(WARMUP, "mise en route")
        warm = snapshot(workers)
        print("Mise en route : %d requêtes en %.0f s" % (load.sent, t_warm), flush=True)
        sent_warm = load.sent
        t_main = load.phase(REQUESTS, "mesure", progress=True)
        end = snapshot(workers)
        sent_main = load.sent - sent_warm
    finally:
        ft.dev("mailer-start")
    after = all_workers()
    with open("/proc/loadavg", encoding="ascii") as f:
        load_after = " ".join(f.read().split()[:3])

    print("Mesure : %d requêtes en %.0f s (%.0f req/s), charge %s"
          % (sent_main, t_main, sent_main / t_main if t_main else 0, load_after))
    print()
    print("Requêtes par sorte (statut : nombre) :")
    for k in sorted(load.counts):
        print("  %-24s %s" % (k, ", ".join("%d : %d" % kv for kv in sorted(load.counts[k].items()))))
    print()

    failures = []
    print("%-8s %8s %10s %10s %10s %12s %14s %10s %s" % (
        "programme", "pid", "départ Mo", "rodage Mo", "fin Mo", "croissance", "RssAnon +kB",
        "< 10 Mo", "redémarré"))
    for p in PROGRAMS:
        restarted_set = sorted(set(after[p]) - set(workers[p]))
        for pid in workers[p]:
            s_rss = start[pid][0]
            w_rss, w_anon = warm[pid]
            e_rss, e_anon = end[pid]
            alive = pid in after[p]
            growth = None if e_rss is None or w_rss is None else e_rss - w_rss
            anon = None if e_anon is None or w_anon is None else e_anon - w_anon
            restarted = "non" if alive else "OUI (remplacé)"
            print("%-9s %8d %10s %10s %10s %+9s kB %+11s kB %10s %s" % (
                p, pid, mb(s_rss), mb(w_rss), mb(e_rss),
                "?" if growth is None else "%d" % growth, "?" if anon is None else "%d" % anon,
                "?" if e_rss is None else ("oui" if e_rss < TARGET_KB else "NON"), restarted))
            if not alive:
                failures.append("fiable-%s : le processus %d a été remplacé pendant la mesure "
                                "(nouveaux : %s) ; une fuite serait masquée"
                                % (p, pid, restarted_set))
            elif growth is None:
                failures.append("fiable-%s %d : mémoire illisible" % (p, pid))
            elif growth > MAX_GROWTH_KB:
                failures.append("fiable-%s %d : +%d kB de VmRSS après la mise en route "
                                "(limite %d kB) : fuite probable" % (p, pid, growth, MAX_GROWTH_KB))
        if set(after[p]) != set(workers[p]):
            failures.append("fiable-%s : processus avant %s, après %s"
                            % (p, sorted(workers[p]), sorted(after[p])))
    print("Croissance : VmRSS en fin de mesure moins VmRSS après la mise en route. "
          "Objectif de l'issue : aucune croissance, moins de 10 Mo.")

    if load.errors:
        failures.append("%d erreurs de transport, par exemple : %s"
                        % (len(load.errors), "; ".join(load.errors[:5])))
    for (k, st), n in sorted(load.unexpected.items()):
        failures.append("%d réponses %d inattendues pour %s (attendu %s)"
                        % (n, st, k, sorted(EXPECTED[k])))
    if failures:
        print()
        for f in failures:
            print("ÉCHEC : " + f)
        return 1
    print("Aucun processus ne grossit de plus de %d kB ni n'a été redémarré." % MAX_GROWTH_KB)
    return 0


if __name__ == "__main__":
    sys.exit(main())
