"""Zero loss under faults: every acknowledged submission exists exactly once.

A load of N distinct submissions (default 2,000; FIABLE_CHAOS_N for a long run) is sent by
C concurrent clients (FIABLE_CHAOS_CLIENTS, default 16). Each client retries its submission
with the same Idempotency-Key until it gets a definitive answer, as the form's queue does.
Meanwhile the harness restarts PostgreSQL (fast and immediate shutdowns), kills FastCGI
workers with SIGKILL, restarts the submit workers one by one, reloads nginx, and kills the
audit chain's sealer (fiable-audit-sealer --watch, sql/0026) with SIGKILL or stops and
restarts it. Afterwards: every submission is stored exactly once, matches the response that
acknowledged it, and has exactly one audit row, sealed once in a chain that verifies. The
run prints its counts and retry statistics.
"""

import collections
import os
import random
import signal
import sys
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import backup_helpers as bh  # noqa: E402
import fiable_test as ft  # noqa: E402

N = int(os.environ.get("FIABLE_CHAOS_N", "2000"))
CLIENTS = int(os.environ.get("FIABLE_CHAOS_CLIENTS", "16"))
# A submission that gets no definitive answer in this time is a failure of the test.
# (A limit, never a wait: ft.ceiling scales it on a loaded machine.)
GIVE_UP_S = ft.ceiling(120.0)
RETRYABLE = {408, 429, 500, 502, 503, 504}


class Load:
    """N submissions sent by CLIENTS threads, each retried until a definitive answer."""

    def __init__(self, run, n, slots):
        self.run = run
        self.slots = slots
        self.todo = collections.deque(range(n))
        self.lock = threading.Lock()
        self.acks = {}               # index -> (payload, response json)
        self.failures = []           # (index, description)
        self.attempts = collections.Counter()   # attempts per submission -> count
        self.transient = collections.Counter()  # status or error name -> count
        self.longest_errors_s = 0.0  # longest time one submission saw errors before its 201
        self.done = threading.Event()

    def payload(self, i):
        rnd = random.Random(i)
        return {
            "email": "chaos-%s-%d@example.org" % (self.run, i),
            "nom": "Personne %d « chaos »" % i,
            "creneaux": rnd.sample(self.slots, rnd.randint(1, len(self.slots))),
            "commentaire": "envoi %d" % i,
        }

    def send_one(self, i):
        payload = self.payload(i)
        key = str(uuid.uuid4())
        start = time.monotonic()
        first_error = None
        attempt = 0
        while True:
            attempt += 1
            try:
                resp = ft.submit(payload, key=key, timeout=15)
                status = resp.status
            except OSError as exc:   # refused, reset, timed out: the network failed
                resp, status = None, type(exc).__name__
            if status == 201:
                with self.lock:
                    self.acks[i] = (payload, resp.json())
                    self.attempts[attempt] += 1
                    if first_error is not None:
                        self.longest_errors_s = max(self.longest_errors_s,
                                                    time.monotonic() - first_error)
                return
            if first_error is None:
                first_error = time.monotonic()
            with self.lock:
                self.transient[status] += 1
            if status not in RETRYABLE and resp is not None:
                with self.lock:
                    self.failures.append((i, "definitive %s: %s" % (status, resp.describe())))
                return
            if time.monotonic() - start > GIVE_UP_S:
                with self.lock:
                    self.failures.append((i, "no definitive answer after %d attempts" % attempt))
                return
            # Exponential backoff with jitter, as the form does, capped low to keep the test short.
            time.sleep(min(1.0, 0.05 * 2 ** min(attempt, 5)) * random.uniform(0.5, 1.0))

    def client(self):
        while True:
            with self.lock:
                if not self.todo:
                    return
                i = self.todo.popleft()
            self.send_one(i)

    def start(self):
        self.threads = [threading.Thread(target=self.client, daemon=True) for _ in range(CLIENTS)]
        for t in self.threads:
            t.start()

    def join(self, timeout):
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self.threads)

    def progress(self):
        with self.lock:
            return len(self.acks) + len(self.failures)


def kill_one_worker(family="submit"):
    pids = ft.worker_pids(family)
    if pids:
        try:
            os.kill(random.choice(pids), signal.SIGKILL)
        except ProcessLookupError:
            pass


def kill_sealer():
    """SIGKILL to the sealer itself: its supervising loop starts it again a second later."""
    out = ft.dev("sealer-pid", timeout=30).split()
    if out and out[0].isdigit():
        try:
            os.kill(int(out[0]), signal.SIGKILL)
        except ProcessLookupError:
            pass


def restart_sealer():
    ft.dev("sealer-stop")
    ft.dev("sealer-start")


class ExactlyOnce:
    """A load with faults, and the exactly-once checks (also used by tests/ha)."""

    def run_with_faults(self, n, faults):
        """Sends n submissions while faults (a list of (name, action)) run one after another
        spread over the load; returns the Load for the checks."""
        run = uuid.uuid4().hex[:10]
        load = Load(run, n, ft.valid_slots(4))
        begin = time.monotonic()
        load.start()
        done_faults = collections.Counter()
        for k, (name, action) in enumerate(faults):
            # Spread the faults over the load: wait until its share of the work is done.
            target = n * (k + 1) // (len(faults) + 1)
            while load.progress() < target and any(t.is_alive() for t in load.threads):
                time.sleep(0.05)
            action()
            done_faults[name] += 1
        finished = load.join(GIVE_UP_S + 60)
        elapsed = time.monotonic() - begin
        ft.wait_db_ready()
        self.assertTrue(finished, "the load did not finish")
        print("\n%d submissions, %d clients, %.1f s (%.0f/s); faults: %s"
              % (n, CLIENTS, elapsed, n / elapsed, dict(done_faults)))
        print("attempts per submission: %s" % dict(sorted(load.attempts.items())))
        print("transient answers seen (retried): %s"
              % {str(k): v for k, v in load.transient.most_common()})
        print("longest time a client saw errors before its 201: %.1f s" % load.longest_errors_s)
        return run, load

    def check_exactly_once(self, run, load, n):
        self.assertEqual(load.failures[:5], [], "%d submissions failed" % len(load.failures))
        self.assertEqual(len(load.acks), n)
        rows = ft.sql("SELECT id, email, nom, creneaux::text, commentaire, version "
                      "FROM soumissions_disponibilites WHERE email LIKE :'p1'",
                      "chaos-%s-%%" % run)
        by_email = collections.defaultdict(list)
        for row in rows:
            by_email[row[1]].append(row)
        duplicates = [e for e, r in by_email.items() if len(r) != 1]
        self.assertEqual(duplicates, [], "submissions stored more than once")
        self.assertEqual(len(rows), n, "stored rows for %d acknowledged submissions" % n)
        mismatches = []
        import json
        for i, (payload, ack) in load.acks.items():
            row = by_email[payload["email"]][0]
            if (int(row[0]) != ack["id"] or row[2] != payload["nom"] or
                    json.loads(row[3]) != payload["creneaux"] or row[4] != payload["commentaire"]
                    or ack["email"] != payload["email"] or ack["creneaux"] != payload["creneaux"]):
                mismatches.append((i, row, ack))
        self.assertEqual(mismatches[:3], [], "acknowledged answers that differ from the rows")
        audit = ft.sql("SELECT a.entity_id, count(*) FROM audit_logs a "
                       "JOIN soumissions_disponibilites s ON a.entity_id = s.id::text "
                       "WHERE a.action = 'submission.create' AND s.email LIKE :'p1' "
                       "GROUP BY a.entity_id", "chaos-%s-%%" % run)
        self.assertEqual(len(audit), n, "audit rows for the stored submissions")
        self.assertEqual([r for r in audit if r[1] != "1"], [], "audit rows not one per submission")
        # Every one of them sealed once (the sealer survived its faults), in a chain that
        # verifies: no fork, no gap.
        ft.wait_audit_sealed(timeout=60)
        sealed = ft.sql("SELECT count(*), count(DISTINCT c.audit_id) FROM audit_logs a "
                        "JOIN soumissions_disponibilites s ON a.entity_id = s.id::text "
                        "JOIN audit_chain c ON c.audit_id = a.id "
                        "WHERE a.action = 'submission.create' AND s.email LIKE :'p1'",
                        "chaos-%s-%%" % run)[0]
        self.assertEqual(sealed, [str(n), str(n)], "audit rows not sealed exactly once")
        verify = bh.run("verify-audit", env=bh.environment(bh.new_local_destination()))
        self.assertEqual(verify.returncode, 0, verify.stderr)
        self.assertIn("chaîne intacte", verify.stderr)
        print("checked: %d rows, %d audit rows sealed once, no duplicate, every "
              "acknowledgement matches; %s" % (len(rows), len(audit), verify.stderr.strip()))


class ZeroLossTest(ExactlyOnce, ft.FiableTestCase):

    @classmethod
    def setUpClass(cls):
        ft.require_dev()

    def test_database_restarts_and_killed_workers(self):
        faults = []
        for _ in range(3):
            faults += [("db-restart fast", lambda: ft.dev("db-restart", "fast")),
                       ("kill -9 submit worker", kill_one_worker),
                       ("nginx reload", lambda: ft.dev("nginx-reload")),
                       ("db-restart immediate", lambda: ft.dev("db-restart", "immediate")),
                       ("kill -9 submit worker", kill_one_worker),
                       ("kill -9 sealer", kill_sealer)]
        run, load = self.run_with_faults(N, faults)
        self.check_exactly_once(run, load, N)

    def test_rolling_restart_and_reload_lose_nothing(self):
        """A deployment: the submit workers restarted one by one and nginx reloaded, under load."""
        n = max(200, N // 4)
        faults = [("fcgi-restart submit", lambda: ft.dev("fcgi-restart", "submit")),
                  ("nginx reload", lambda: ft.dev("nginx-reload")),
                  ("sealer stop and start", restart_sealer),
                  ("fcgi-restart submit", lambda: ft.dev("fcgi-restart", "submit"))]
        run, load = self.run_with_faults(n, faults)
        self.check_exactly_once(run, load, n)


if __name__ == "__main__":
    unittest.main(verbosity=2)
