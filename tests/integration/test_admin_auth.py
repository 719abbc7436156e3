#!/usr/bin/env python3
"""The administration's password: a bcrypt password file, a limit of nginx
per address on /admin/ and /api/admin/ (its own zone, checked before the password), every
refused login counted in the metrics (JSON, Prometheus) and logged without the credentials,
and `scripts/dev admin-password` to change it.

The test configuration exempts 127.0.0.1 from the limits by address: the limit is checked
from other loopback addresses, each used by one test only (a fresh bucket)."""

import base64
import concurrent.futures
import os
import re
import stat
import subprocess
import sys
import time
import unittest
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fiable_test as ft  # noqa: E402
from fiable_test import get, sql_int  # noqa: E402

METRICS = "/api/admin/metrics"
PROMETHEUS = "/api/admin/metrics/prometheus"
AUTH_ENDPOINT = "/admin/authentification"   # METRICS_ADMIN_AUTH_ENDPOINT (lib/metrics.h)
REALM = 'Basic realm="Fiable - administration"'
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
# One loopback address per test that sends from outside the exemption (fresh bucket).
BURST_SOURCE = ("127.0.0.251", 0)
NO_CREDENTIALS_SOURCE = ("127.0.0.252", 0)


def setUpModule():
    ft.require_dev()
    if not os.environ.get("FIABLE_VAR"):
        raise ft.EnvironmentMissing("FIABLE_VAR is not set: run the tests with `scripts/dev test`")


def var_path(*parts):
    return os.path.join(os.environ["FIABLE_VAR"], *parts)


def nginx_conf():
    """The configuration nginx runs with (rendered by scripts/dev from deploy/nginx/fiable)."""
    with open(var_path("nginx", "nginx.conf"), encoding="utf-8") as f:
        return f.read()


def admin_limit():
    """(rate per second, burst) of the administration's zone, as configured."""
    conf = nginx_conf()
    rate = re.search(r"limit_req_zone \S+ zone=administration:\S+ rate=(\d+)r/s;", conf)
    bursts = set(re.findall(r"limit_req zone=administration burst=(\d+) nodelay;", conf))
    if rate is None or len(bursts) != 1:
        raise AssertionError("no single limit of zone administration in nginx.conf")
    return int(rate.group(1)), int(bursts.pop())


def right():
    return {"Authorization": ft.basic_auth("admin", ft.admin_password())}


def wrong(password=None):
    return {"Authorization": ft.basic_auth("admin", password or "faux-" + uuid.uuid4().hex)}


def refused_logins(window="15m"):
    """The count the administration shows (from 127.0.0.1, exempt from the limit)."""
    resp = get(METRICS + "?window=" + window, headers=right())
    if resp.status != 200:
        raise AssertionError("metrics unreadable\n" + resp.describe())
    value = resp.json()["indicateurs"].get("echecs_authentification_admin")
    if not isinstance(value, int):
        raise AssertionError("indicateurs.echecs_authentification_admin is not a number\n"
                             + resp.describe())
    return value


def refused_rows():
    return sql_int("SELECT count(*) FROM request_metrics WHERE endpoint = :'p1' AND status = 401",
                   AUTH_ENDPOINT)


def metrics_log():
    with open(var_path("log", "fiable-metrics.log"), encoding="utf-8", errors="replace") as f:
        return f.read()


class AdminAuthTestCase(ft.FiableTestCase):

    def assertRefusedLogin(self, resp):
        """nginx refused the credentials: 401 in French problem+json with ONE Basic challenge
        (auth_basic's: the program adds none)."""
        self.assertProblem(resp, 401, "admin_auth_failed")
        self.assertEqual(resp.header_all("WWW-Authenticate"), [REALM], resp.describe())


class PasswordFileTest(AdminAuthTestCase):

    def test_password_file_is_bcrypt_readable_by_nginx_only(self):
        with open(os.path.join(ROOT, "scripts", "dev"), encoding="utf-8") as f:
            cost = int(re.search(r"^ADMIN_BCRYPT_COST=(\d+)$", f.read(), re.M).group(1))
        with open(var_path("htpasswd"), encoding="ascii") as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertRegex(lines[0], r"^admin:\$2y\$%02d\$[./A-Za-z0-9]{53}$" % cost)
        self.assertNotIn(ft.admin_password(), lines[0])
        self.assertEqual(stat.S_IMODE(os.stat(var_path("htpasswd")).st_mode), 0o640)
        self.assertEqual(stat.S_IMODE(os.stat(var_path("admin-password")).st_mode), 0o600)
        # The hash is the one nginx checks: the password opens /admin/.
        self.assertStatus(get("/admin/", headers=right()), 200)


class RefusedLoginTest(AdminAuthTestCase):

    def test_burst_of_wrong_passwords_is_slowed_counted_and_the_right_one_still_works(self):
        rate, burst = admin_limit()
        before_count, before_rows = refused_logins(), refused_rows()
        password = "essai-" + uuid.uuid4().hex
        sent = burst + 30

        def attempt(i):
            path = METRICS if i % 2 else "/admin/"
            return get(path, headers=wrong(password), source_address=BURST_SOURCE)

        start = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(attempt, range(sent)))
        elapsed = time.monotonic() - start

        statuses = sorted(r.status for r in answers)
        self.assertEqual(set(statuses) - {401, 429}, set(), statuses)
        checked = [r for r in answers if r.status == 401]
        limited = [r for r in answers if r.status == 429]
        # nodelay: a fresh address gets burst + 1 at once, then `rate` a second.
        self.assertGreaterEqual(len(checked), burst + 1, statuses)
        self.assertLessEqual(len(checked), burst + 1 + rate * (elapsed + 1), statuses)
        self.assertTrue(limited, "%d wrong passwords in %.1f s were never slowed: %r"
                        % (sent, elapsed, statuses))
        for resp in checked:
            self.assertRefusedLogin(resp)
        for resp in limited:
            self.assertProblem(resp, 429, "rate_limited")
            self.assertTrue((resp.header("Retry-After") or "").isdigit(), resp.describe())

        # Every password actually checked and refused is counted, once: in the table, in the
        # administration's JSON and in the Prometheus output.
        self.assertEqual(refused_rows() - before_rows, len(checked))
        self.assertEqual(refused_logins() - before_count, len(checked))
        prom = get(PROMETHEUS, headers=right())
        self.assertStatus(prom, 200)
        sample = re.search(r'^fiable_http_requests_total\{endpoint="/admin/authentification",'
                           r'status="401"\} (\d+)$', prom.body.decode("utf-8"), re.M)
        self.assertIsNotNone(sample, prom.body.decode("utf-8")[-2000:])
        self.assertEqual(int(sample.group(1)), refused_rows())

        # Logged by the program with the address, never with the credentials.
        log = metrics_log()
        self.assertIn("identifiants refusés (GET /admin/ depuis 127.0.0.251)", log)
        self.assertIn("identifiants refusés (GET %s depuis 127.0.0.251)" % METRICS, log)
        encoded = base64.b64encode(("admin:" + password).encode()).decode()
        for secret in (password, encoded):
            self.assertNotIn(secret, log)

        # No lock-out: the right password works at once from another address, and from the
        # same one as soon as the limit lets a request through again.
        self.assertStatus(get(METRICS, headers=right()), 200)
        seen = []

        def right_one_passes():
            resp = get(METRICS, headers=right(), source_address=BURST_SOURCE)
            seen.append(resp.status)
            return resp.status == 200
        self.wait_for(right_one_passes, 15 + burst / rate,
                      "the right password never worked again from the address of the burst")
        self.assertEqual(set(seen) - {200, 429}, set(), seen)

    def test_no_credentials_is_a_challenge_not_a_failure(self):
        before = refused_rows()
        for path in ("/admin/", "/admin/metrics", METRICS, "/api/admin/fonctionnalites"):
            with self.subTest(path=path):
                self.assertRefusedLogin(get(path, source_address=NO_CREDENTIALS_SOURCE))
        self.assertEqual(refused_rows(), before, "a visit without credentials was counted")

    def test_wrong_password_on_a_write_changes_nothing(self):
        flags = ft.sql("SELECT name, enabled::text FROM feature_flags ORDER BY name")
        before = refused_rows()
        resp = ft.request("PUT", "/api/admin/fonctionnalites",
                          body=ft.encode_json({"nom": "modification", "active": False}),
                          headers=dict(wrong(), **{"Content-Type": ft.JSON,
                                                   "Origin": ft.own_origin()}))
        self.assertRefusedLogin(resp)
        self.assertEqual(ft.sql("SELECT name, enabled::text FROM feature_flags ORDER BY name"),
                         flags)
        self.assertEqual(refused_rows(), before + 1)
        self.assertEqual(ft.sql("SELECT method FROM request_metrics WHERE endpoint = :'p1' "
                                "ORDER BY id DESC LIMIT 1", AUTH_ENDPOINT), [["PUT"]])

    def test_the_internal_location_is_not_an_address(self):
        before = refused_rows()
        for path in ("/@authentification_refusee", "/@authentification_refusee_nginx",
                     "/api/@authentification_refusee"):
            with self.subTest(path=path):
                resp = get(path, headers=wrong())
                self.assertStatus(resp, 404)
        # A header cannot pose as nginx's parameters (headers arrive as HTTP_*).
        resp = get(METRICS, headers={"Fiable-Authentification-Refusee": "1",
                                     "Fiable-Identifiants-Envoyes": "1"})
        self.assertRefusedLogin(resp)
        self.assertEqual(refused_rows(), before)

    def test_refusal_still_answered_when_fiable_metrics_is_away(self):
        # Its socket moved away: nginx cannot reach the program (502) and answers the refusal
        # itself; the administration stays open to whoever has the password.
        sock = var_path("run", "fiable-metrics.sock")
        os.rename(sock, sock + ".ailleurs")
        self.addCleanup(os.rename, sock + ".ailleurs", sock)
        before = refused_rows()
        self.assertRefusedLogin(get("/admin/", headers=wrong()))
        self.assertRefusedLogin(get(METRICS))
        self.assertStatus(get("/admin/", headers=right()), 200)
        self.assertEqual(refused_rows(), before)


class AdminPasswordCommandTest(AdminAuthTestCase):
    """scripts/dev admin-password on the test environment (FIABLE_VAR)."""

    def run_dev(self, *args, stdin=b""):
        return subprocess.run([os.environ["FIABLE_TEST_DEV"], "admin-password"] + list(args),
                              input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=60)

    def test_new_random_password_replaces_the_old_at_once(self):
        old = ft.admin_password()
        run = self.run_dev()
        self.assertEqual(run.returncode, 0, run.stderr)
        new = ft.admin_password()
        self.assertNotEqual(new, old)
        self.assertRegex(new, r"^[0-9a-f]{24}$")
        self.assertNotIn(new.encode(), run.stdout + run.stderr)
        # nginx reads the file on each request: no reload.
        self.assertRefusedLogin(get(METRICS, headers=wrong(old)))
        self.assertStatus(get(METRICS, headers=right()), 200)
        with open(var_path("htpasswd"), encoding="ascii") as f:
            self.assertTrue(f.read().startswith("admin:$2y$"))

    def test_chosen_password_from_stdin(self):
        chosen = "mot de passe choisi " + uuid.uuid4().hex[:8]
        run = self.run_dev("--stdin", stdin=chosen.encode() + b"\n")
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(ft.admin_password(), chosen)
        self.assertStatus(get(METRICS, headers=right()), 200)
        for bad, why in ((b"court\n", "trop court"), (b"x" * 73 + b"\n", "trop long"),
                         (b"", "aucun mot de passe")):
            with self.subTest(why=why):
                run = self.run_dev("--stdin", stdin=bad)
                self.assertNotEqual(run.returncode, 0)
                self.assertIn(why, run.stderr.decode("utf-8"))
                self.assertEqual(ft.admin_password(), chosen, "a refused password was kept")
                self.assertStatus(get(METRICS, headers=right()), 200)
        # Leave a random password, as the environment started with.
        self.assertEqual(self.run_dev().returncode, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
