#!/usr/bin/env python3
"""The administration's password (issue 13, part 3): a bcrypt password file, and
`scripts/dev admin-password` to change it."""

import os
import re
import stat
import subprocess
import sys
import unittest
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fiable_test as ft  # noqa: E402
from fiable_test import get  # noqa: E402

METRICS = "/api/admin/metrics"
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def setUpModule():
    ft.require_dev()
    if not os.environ.get("FIABLE_VAR"):
        raise ft.EnvironmentMissing("FIABLE_VAR is not set: run the tests with `scripts/dev test`")


def var_path(*parts):
    return os.path.join(os.environ["FIABLE_VAR"], *parts)


def right():
    return {"Authorization": ft.basic_auth("admin", ft.admin_password())}


def wrong(password=None):
    return {"Authorization": ft.basic_auth("admin", password or "faux-" + uuid.uuid4().hex)}


class AdminAuthTestCase(ft.FiableTestCase):

    def assertRefusedLogin(self, resp):
        self.assertStatus(resp, 401)


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
