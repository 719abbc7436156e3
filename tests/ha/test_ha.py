"""High availability: no acknowledged answer lost when the primary dies (Patroni, etcd).

Runs against the HA test stack (fixture ha.stack.up: etcd, two PostgreSQL under Patroni in
synchronous replication, the FastCGI programs connected with a two-host conninfo). The chaos
client of tests/chaos sends submissions, each retried with its Idempotency-Key until a 201,
while the harness:
  - failover: kills the primary's postmaster with SIGKILL (Patroni fails over to the
    synchronous standby, primary_start_timeout 0), then, in a second run, loses a whole host
    (its Patroni and its postmaster killed: the leader key expires after the ttl);
  - switchover: asks `patronictl switchover` under load.
Afterwards every acknowledged answer is on the new primary exactly once, with one audit row,
the audit chain verifies (fiable-verify-audit), and the old primary is back as a synchronous
standby (pg_rewind through Patroni). Each run prints the longest time a client saw errors.

FIABLE_HA_N (default 300) submissions per run, FIABLE_CHAOS_CLIENTS clients.
"""

import json
import os
import signal
import subprocess
import sys
import time
import unittest
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "chaos"))
import fiable_test as ft  # noqa: E402
import test_zero_loss as zl  # noqa: E402

N = int(os.environ.get("FIABLE_HA_N", "300"))


def rest_urls():
    return os.environ["FIABLE_TEST_HA_REST"].split(",")


def cluster():
    """GET /cluster from the first Patroni that answers: {name: member}."""
    last = None
    for url in rest_urls():
        try:
            with urllib.request.urlopen(url + "/cluster", timeout=3) as r:
                return {m["name"]: m for m in json.load(r)["members"]}
        except OSError as exc:
            last = exc
    raise AssertionError("no Patroni REST API answers: %s" % last)


def leader():
    names = [n for n, m in cluster().items() if m["role"] == "leader"]
    if len(names) != 1:
        raise AssertionError("not one leader: %s" % cluster())
    return names[0]


def node_number(name):
    return int(name[len("pg"):])


def postmaster_pid(name):
    data = os.environ["FIABLE_TEST_HA_DATA"].split(",")[node_number(name) - 1]
    with open(os.path.join(data, "postmaster.pid")) as f:
        return int(f.readline())


def patroni_pid(name):
    with open(os.path.join(os.environ["FIABLE_VAR"], "run", "patroni%d.pid"
                           % node_number(name))) as f:
        return int(f.read().strip())


def wait_ready(old_leader):
    """A new leader (not old_leader) and the old one back as a streaming sync standby."""
    ft.dev("ha-wait", str(int(ft.ceiling(120))), timeout=ft.ceiling(150))
    members = cluster()
    new = leader()
    return new, members


class HaTest(zl.ExactlyOnce, ft.FiableTestCase):

    @classmethod
    def setUpClass(cls):
        ft.require_dev()
        if not os.environ.get("FIABLE_TEST_HA_REST"):
            raise AssertionError("FIABLE_TEST_HA_REST is not set: run the ha suite with "
                                 "`scripts/dev test -L ha` (fixture ha.stack.up)")
        ft.dev("ha-wait", str(int(ft.ceiling(120))), timeout=ft.ceiling(150))

    def verify_audit_chain(self):
        """fiable-verify-audit on the new primary: exit 0 and its verdict (on stderr)."""
        proc = subprocess.run([os.environ["FIABLE_TEST_DEV"], "cron", "verify-audit"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=ft.ceiling(120))
        out = proc.stdout.decode("utf-8", "replace")
        self.assertEqual(proc.returncode, 0, out)
        self.assertRegex(out, r"chaîne intacte : \d+ ligne")
        print(out.strip())

    def check_after(self, run, load, old, label):
        new, members = wait_ready(old)
        self.assertNotEqual(new, old, "%s: the leader did not change" % label)
        self.assertEqual(members[old]["role"], "sync_standby",
                         "%s: the old primary is not back as the synchronous standby: %s"
                         % (label, members))
        self.check_exactly_once(run, load, N)
        self.verify_audit_chain()
        print("%s: %s → %s; old primary back as %s (timeline %s); longest errors seen by a "
              "client: %.1f s" % (label, old, new, members[old]["role"],
                                  members[new].get("timeline"), load.longest_errors_s))

    def test_failover_kill_postmaster_then_lost_host(self):
        old = leader()
        pid = postmaster_pid(old)
        run, load = self.run_with_faults(
            N, [("SIGKILL postmaster of %s" % old, lambda: os.kill(pid, signal.SIGKILL))])
        self.check_after(run, load, old, "postmaster killed")

        old = leader()

        def lose_host():
            os.kill(patroni_pid(old), signal.SIGKILL)
            os.kill(postmaster_pid(old), signal.SIGKILL)

        run, load = self.run_with_faults(N, [("host of %s lost" % old, lose_host)])
        # The host comes back: its Patroni rejoins the cluster as a standby.
        ft.dev("ha-node-start", str(node_number(old)), timeout=60)
        self.check_after(run, load, old, "host lost")

    def test_switchover_under_load(self):
        old = leader()
        other = [n for n in cluster() if n != old][0]

        def switchover():
            patronictl("switchover", "--leader", old, "--candidate", other, "--force")

        run, load = self.run_with_faults(N, [("patronictl switchover", switchover)])
        self.assertEqual(load.failures, [], "failed submissions after retries")
        print("switchover: %d answers 503 seen (retried), %d network errors"
              % (load.transient.get(503, 0),
                 sum(v for k, v in load.transient.items() if isinstance(k, str))))
        self.check_after(run, load, old, "switchover")

    def test_standby_lost(self):
        """synchronous_mode_strict false: the primary keeps accepting, and /api/health warns;
        true: it refuses (503) rather than acknowledge an answer held on one disk, and the
        same key succeeds once the standby is back."""
        standby = [n for n, m in cluster().items() if m["role"] == "sync_standby"][0]
        node = str(node_number(standby))
        try:
            set_strict(False)
            ft.dev("ha-node-stop", node, timeout=120)
            health = self.wait_for(lambda: replication_health(lambda h: not h["attente"]),
                                   60, "the health endpoint never said the standby is gone")
            self.assertEqual(health[0], 200, health)
            self.assertIn("Standby synchrone absent", " ".join(health[1]["avertissements"]))
            self.assertEqual(get_health("?strict=1")[0], 503)
            self.assertEqual(alert_state(), "t", "the rule standby_synchrone did not fire")
            alone = self.one_submission("seul")
            resp = ft.submit(alone, key=str(uuid.uuid4()), timeout=ft.ceiling(30))
            self.assertEqual(resp.status, 201, resp.describe())

            set_strict(True)
            health = self.wait_for(lambda: replication_health(lambda h: h["attente"]), 60,
                                   "the health endpoint never said writes wait (strict)")
            self.assertEqual(health[0], 503, health)
            self.assertIn("synchronous_mode_strict", " ".join(health[1]["raisons"]))
            refused, key = self.one_submission("strict"), str(uuid.uuid4())
            for attempt in (1, 2):
                resp = ft.submit(refused, key=key, timeout=ft.ceiling(60))
                self.assertEqual(resp.status, 503, "attempt %d: %s" % (attempt, resp.describe()))
                self.assertTrue(resp.headers.get("Retry-After"), resp.describe())
            ft.dev("ha-node-start", node, timeout=60)
            ft.dev("ha-wait", str(int(ft.ceiling(120))), timeout=ft.ceiling(150))
            resp = ft.submit(refused, key=key, timeout=ft.ceiling(30))
            self.assertEqual(resp.status, 201, resp.describe())
            self.assertEqual(ft.count_by_email(refused["email"]), 1)
            self.assertEqual(alert_state(), "f", "the rule standby_synchrone did not resolve")
            print("standby lost: not strict → 201 alone, health warns; strict → 503 twice, "
                  "then 201 with the same key once the standby is back")
        finally:
            set_strict(False)
            ft.dev("ha-node-start", node, timeout=60)
            ft.dev("ha-wait", str(int(ft.ceiling(120))), timeout=ft.ceiling(150))

    def one_submission(self, tag):
        return {"email": "ha-%s-%s@example.org" % (tag, uuid.uuid4().hex[:10]),
                "nom": "Personne « %s »" % tag, "creneaux": ft.valid_slots(1),
                "commentaire": ""}


def patronictl(*args):
    cmd = ["patronictl", "-c", os.environ["FIABLE_TEST_HA_PATRONI_CONF"]] + list(args)
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    out = subprocess.run(cmd, cwd="/", stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=ft.ceiling(120))
    if out.returncode != 0:
        raise AssertionError("patronictl %s: %s" % (" ".join(args),
                                                   out.stdout.decode("utf-8", "replace")))


def alert_state():
    """Runs fiable-check-alerts once (the shipped rules, FIABLE_SYNC_STANDBYS=1; its mail
    goes to the stack's mail folder) and returns the state of the rule standby_synchrone."""
    env = ft.program_environment({
        "FIABLE_DATABASE_URL": os.environ["FIABLE_TEST_APP_PG"],
        "FIABLE_ALERT_RULES": os.environ["FIABLE_TEST_ALERT_RULES"],
        "FIABLE_SYNC_STANDBYS": "1", "ALERT_EMAIL": "alertes@fiable.test",
        "FIABLE_MAIL_DIR": os.path.join(os.environ["FIABLE_VAR"], "mail")}, {})
    proc = subprocess.run([os.environ["FIABLE_TEST_CHECK_ALERTS"]], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, env=env, timeout=ft.ceiling(60))
    out = proc.stdout.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise AssertionError("fiable-check-alerts: exit %d\n%s" % (proc.returncode, out))
    rows = ft.sql("SELECT firing FROM alert_states WHERE rule = 'standby_synchrone'")
    return rows[0][0] if rows else None


def set_strict(value):
    patronictl("edit-config", "-s", "synchronous_mode_strict=%s" % str(value).lower(),
               "--force")


def get_health(query=""):
    resp = ft.request("GET", "/api/health" + query, timeout=ft.ceiling(30))
    return resp.status, resp.json()


def replication_health(pred):
    """(status, body) of /api/health once it shows no synchronous standby and pred holds
    for {"attente": attente_synchrone}; None before."""
    status, body = get_health()
    r = body.get("replication", {})
    if r.get("standbys_synchrones") == 0 and pred({"attente": r.get("attente_synchrone")}):
        return status, body
    return None


if __name__ == "__main__":
    unittest.main(verbosity=2)
