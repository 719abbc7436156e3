"""Package test: the Debian package, installed on this machine, behind Debian's own nginx.

Builds the package (scripts/dev package), installs it with apt-get, configures it as
docs/DEPLOIEMENT.md says (fiable.env, htpasswd, the site file with this test's ports: conffile
edits), migrates a scratch database of the test cluster with the installed fiable-migrate,
starts the installed programs the way their systemd units start them, and submits an answer
over HTTPS through Debian's nginx with the shipped site file (snakeoil certificate, checked
against itself as the CA). Then builds a higher version holding one more migration, upgrades:
the answer is still there, the migration applies, the conffile edits are kept. Then remove
(conffiles and data stay) and purge (configuration gone; database, local backups and the
service account deliberately kept).

systemd is not PID 1 here: each unit's ExecStart runs as its User=, with its EnvironmentFile=
and, for a .socket unit, the listening socket on descriptor 0 (StandardInput=socket), bound
at the unit's ListenStream= with its SocketUser/SocketGroup/SocketMode.

The machine's nginx is shared: the test links its site into /etc/nginx/sites-enabled, starts
Debian's nginx if it was not running (stops it at the end) or reloads it, and in every case
(failure included) removes its link, purges the package, removes what it created (/run/fiable,
the fiable account if it did not exist, the scratch database). Needs root and the stack's
PostgreSQL (FIABLE_TEST_PG). Standard library only.
"""

import base64
import glob
import json
import os
import pwd
import re
import secrets
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import fiable_test.env  # noqa: E402,F401  (the stack's description, read on import)

ROOT = os.environ.get("FIABLE_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
FCGI = ["submit", "form", "health", "modify", "restore", "metrics", "campaigns"]
DB = "fiable_paquet"
HTTPS_PORT = int(os.environ.get("FIABLE_PACKAGE_HTTPS_PORT") or 18643)
HTTP_PORT = int(os.environ.get("FIABLE_PACKAGE_HTTP_PORT") or 18680)
SITE = "/etc/nginx/sites-available/fiable"
ENABLED = "/etc/nginx/sites-enabled/fiable"
ENV_FILE = "/etc/fiable/fiable.env"
UNITS = "/lib/systemd/system"
SNAKEOIL = "/etc/ssl/certs/ssl-cert-snakeoil.pem"
# Written while the package is installed by this test: a later run may purge it.
MARKER = "/run/fiable-test-paquet"
TRUSTED_PROXY = "127.0.0.3"     # set_real_ip_from in the edited site
OTHER_SOURCE = "127.0.0.4"
SLOWDOWN = max(1.0, float(os.environ.get("FIABLE_TEST_SLOWDOWN") or 1))
SKIP = 77


def log(msg):
    print("package: " + msg, flush=True)


def run(argv, check=True, quiet=False, **kw):
    """Runs argv and prints its output (the end of it), unless quiet."""
    if not quiet:
        log("$ " + " ".join(shlex.quote(a) for a in argv))
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, **kw)
    out = (r.stdout + r.stderr)[-4000:]
    if out.strip() and not quiet:
        print(out, flush=True)
    if check and r.returncode != 0:
        raise AssertionError("%s: exit %d\n%s" % (argv[0], r.returncode, out))
    return r


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def apt(*args):
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    return run(["apt-get", "-o", "DPkg::Lock::Timeout=600", "-y", "-q", *args], env=env)


def installed_version():
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status} ${Version}", "fiable"],
                       capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else ""


def unit_value(path, key):
    with open(path, encoding="utf-8") as f:
        return [l[len(key) + 1:].rstrip("\n") for l in f if l.startswith(key + "=")]


def nginx_master():
    """Pid of Debian's nginx (pid /run/nginx.pid) if it runs."""
    try:
        with open("/run/nginx.pid") as f:
            pid = int(f.read().strip())
        os.kill(pid, 0)
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return pid if b"nginx" in f.read() else None
    except (OSError, ValueError):
        return None


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name):
        return self.headers.get(name)

    def json(self):
        return json.loads(self.body.decode("utf-8"))


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kw):
        return None


def request(url, method="GET", body=None, headers=None, source=None):
    """One request; source: the local address to send from (127.0.0.x)."""
    ctx = ssl.create_default_context(cafile=SNAKEOIL)
    ctx.check_hostname = False       # the snakeoil certificate names the host, not 127.0.0.1
    handlers = [NoRedirect(), urllib.request.HTTPSHandler(context=ctx)]
    if source:
        import http.client

        class SourceHTTPS(http.client.HTTPSConnection):
            def __init__(self, *a, **k):
                k["source_address"] = (source, 0)
                super().__init__(*a, **k)

        class SourceHandler(urllib.request.HTTPSHandler):
            def https_open(self, req):
                return self.do_open(SourceHTTPS, req, context=ctx)
        handlers = [NoRedirect(), SourceHandler(context=ctx)]
    opener = urllib.request.build_opener(*handlers)
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with opener.open(req, timeout=15) as r:
            return Response(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, e.headers, e.read())


class Package(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        pg = dict(kv.split("=", 1) for kv in shlex.split(os.environ["FIABLE_TEST_PG"]) if "=" in kv)
        cls.pghost, cls.pgport = pg["host"], pg.get("port", "5432")
        cls.work = os.path.join(os.environ.get("FIABLE_TEST_BUILD") or os.path.join(ROOT, "build-test"),
                                "paquet")
        cls.base = "https://127.0.0.1:%d" % HTTPS_PORT
        cls.admin = ("admin", secrets.token_hex(8))
        cls.procs, cls.sockets = {}, {}
        cls.started_nginx = False
        cls.had_user = subprocess.run(["getent", "passwd", "fiable"],
                                      capture_output=True).returncode == 0
        cls.had_backups = os.path.exists("/var/lib/fiable/backups")
        status = installed_version()
        if status and not os.path.exists(MARKER):
            raise AssertionError("the package fiable is installed on this machine (%s) and was "
                                 "not installed by this test: it is left alone" % status)
        if status:
            log("a previous run left the package installed: purged first")
            cls.cleanup_machine()
        shutil.rmtree(cls.work, ignore_errors=True)
        os.makedirs(cls.work)
        cls.psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % DB, db="postgres")
        cls.psql("CREATE DATABASE %s TEMPLATE template0" % DB, db="postgres")

    @classmethod
    def tearDownClass(cls):
        cls.cleanup_machine()
        cls.psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % DB, db="postgres", check=False)

    # --- helpers ------------------------------------------------------------------------

    @classmethod
    def psql(cls, sql, db=DB, check=True):
        env = dict(os.environ, PGHOST=cls.pghost, PGPORT=cls.pgport, PGUSER="postgres")
        r = subprocess.run(["psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql],
                           env=env, capture_output=True, text=True)
        if check and r.returncode != 0:
            raise AssertionError("psql failed: %s\n%s" % (sql, r.stderr))
        return r.stdout.strip()

    @classmethod
    def cleanup_machine(cls):
        """Leaves the machine as it was, whatever happened (called on failure too)."""
        cls.stop_programs()
        for s in cls.sockets.values():
            s.close()
        cls.sockets = {}
        if os.path.islink(ENABLED):
            os.unlink(ENABLED)
        if installed_version():
            subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=600", "-y", "-q", "purge", "fiable"],
                           stdin=subprocess.DEVNULL, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        shutil.rmtree("/run/fiable", ignore_errors=True)
        if os.path.exists(MARKER):
            os.unlink(MARKER)
        pid = nginx_master()
        if pid and cls.started_nginx:
            os.kill(pid, signal.SIGQUIT)
            deadline = time.time() + 30 * SLOWDOWN
            while nginx_master() and time.time() < deadline:
                time.sleep(0.2)
        elif pid:
            subprocess.run(["nginx", "-s", "reload"])
        if not cls.had_backups:
            shutil.rmtree("/var/lib/fiable", ignore_errors=True)
        if not cls.had_user and subprocess.run(["getent", "passwd", "fiable"],
                                               capture_output=True).returncode == 0:
            subprocess.run(["userdel", "fiable"])
            subprocess.run(["groupdel", "fiable"], capture_output=True)

    @classmethod
    def stop_programs(cls):
        for name in list(cls.procs):
            p = cls.procs.pop(name)
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)      # KillMode=mixed: to multiwatch only
                try:
                    p.wait(20 * SLOWDOWN)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait(5)

    def service_env(self, unit):
        envfile = unit_value(unit, "EnvironmentFile")[0]
        self.assertEqual(envfile, ENV_FILE)
        r = subprocess.run(["env", "-i", "/bin/sh", "-c", 'set -a; . "$0"; env -0', envfile],
                           capture_output=True, check=True)
        env = dict(i.split("=", 1) for i in r.stdout.decode().split("\0") if "=" in i)
        for k in ("PWD", "SHLVL", "_"):
            env.pop(k, None)
        env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # systemd's
        return env

    def start_service(self, name):
        """The unit's ExecStart, as its User=/Group=, with the socket of its .socket unit on
        descriptor 0: what systemd does, by hand."""
        unit = os.path.join(UNITS, "fiable-%s.service" % name)
        argv = shlex.split(unit_value(unit, "ExecStart")[0])
        user, group = unit_value(unit, "User")[0], unit_value(unit, "Group")[0]
        self.assertEqual((user, group), ("fiable", "fiable"))
        sock_unit = os.path.join(UNITS, "fiable-%s.socket" % name)
        stdin = subprocess.DEVNULL
        if os.path.exists(sock_unit):
            self.assertEqual(unit_value(unit, "StandardInput"), ["socket"])
            if name not in self.sockets:
                path = unit_value(sock_unit, "ListenStream")[0]
                os.makedirs(os.path.dirname(path), mode=int(unit_value(sock_unit, "DirectoryMode")[0], 8),
                            exist_ok=True)
                if os.path.exists(path):
                    os.unlink(path)
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.bind(path)
                s.listen(int(unit_value(sock_unit, "Backlog")[0]))
                os.chmod(path, int(unit_value(sock_unit, "SocketMode")[0], 8))
                shutil.chown(path, unit_value(sock_unit, "SocketUser")[0],
                             unit_value(sock_unit, "SocketGroup")[0])
                self.sockets[name] = s
            stdin = self.sockets[name].fileno()
        logf = open(os.path.join(self.work, "fiable-%s.log" % name), "ab")
        self.procs[name] = subprocess.Popen(
            ["setpriv", "--reuid", user, "--regid", group, "--init-groups"] + argv,
            stdin=stdin, stdout=logf, stderr=logf, env=self.service_env(unit), cwd="/",
            start_new_session=True)
        logf.close()

    def start_programs(self):
        for name in FCGI:
            self.start_service(name)
        self.start_service("audit-sealer")    # fiable-audit-sealer --watch (sql/0026)
        self.wait_health()

    def wait_sealed(self):
        """Every audit row has its link: the installed sealer runs (woken by NOTIFY)."""
        deadline = time.time() + 30 * SLOWDOWN
        while self.psql("SELECT count(*) FROM audit_pending") != "0":
            self.assertLess(time.time(), deadline, "the installed sealer left audit rows unsealed")
            time.sleep(0.2)

    def wait_health(self):
        deadline = time.time() + 30 * SLOWDOWN
        last = None
        while time.time() < deadline:
            try:
                r = request(self.base + "/api/health")
                if r.status == 200:
                    return r
                last = r.status
            except OSError as e:
                last = e
            time.sleep(0.3)
        raise AssertionError("no healthy answer over HTTPS: %r (logs in %s)" % (last, self.work))

    def build(self, out, version=None, source=None):
        argv = ["bash", os.path.join(ROOT, "scripts", "dev"), "package", "--out", out]
        env = dict(os.environ)
        if version:
            argv += ["--version", version]
            # The unit tests ran in the first build, on the same code.
            env["DEB_BUILD_OPTIONS"] = "nocheck"
        if source:
            argv += ["--source", source]
        run(argv, timeout=3600 * SLOWDOWN, env=env)
        debs = glob.glob(os.path.join(out, "fiable_*.deb"))
        self.assertEqual(len(debs), 1, debs)
        return debs[0]

    def higher_version_tree(self):
        """A copy of the tree with one more migration: what an upgrade brings."""
        dest = os.path.join(self.work, "source-v2")
        files = subprocess.run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others",
                                "--exclude-standard"], capture_output=True, check=True).stdout
        for rel in files.decode().split("\0"):
            src = os.path.join(ROOT, rel)
            if rel and (os.path.exists(src) or os.path.islink(src)):
                os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
                if os.path.islink(src):
                    os.symlink(os.readlink(src), os.path.join(dest, rel))
                else:
                    shutil.copy2(src, os.path.join(dest, rel))
        with open(os.path.join(dest, "sql", "9990_essai_mise_a_jour.sql"), "w") as f:
            f.write("-- Test package.installation : la migration qu'apporte la mise à jour.\n"
                    "CREATE TABLE essai_mise_a_jour (id int PRIMARY KEY);\n")
        return dest

    # --- the test, in order -------------------------------------------------------------

    def test_install_upgrade_remove_purge(self):
        v1 = self.build(os.path.join(self.work, "v1"))
        version1 = subprocess.run(["dpkg-deb", "-f", v1, "Version"], capture_output=True,
                                  text=True, check=True).stdout.strip()
        version2 = version1 + "+essai1"
        v2 = self.build(os.path.join(self.work, "v2"), version2, self.higher_version_tree())

        with open(MARKER, "w") as f:
            f.write("installed by tests/package\n")
        apt("install", v1)
        self.assertEqual(installed_version(), "install ok installed " + version1)
        self.check_installed()
        self.configure()
        self.migrate(expect_pending=None)
        self.enable_site()
        self.start_programs()
        answer = self.check_https_and_submit()

        # --- upgrade: the edited conffiles are kept without a question (stdin is closed) ---
        env_before, site_before = read(ENV_FILE), read(SITE)
        apt("install", v2)
        self.assertEqual(installed_version(), "install ok installed " + version2)
        self.assertEqual(read(ENV_FILE), env_before, "fiable.env edits lost")
        self.assertEqual(read(SITE), site_before, "site file edits lost")
        self.assertFalse(glob.glob("/etc/fiable/*.dpkg-*") + glob.glob(SITE + ".dpkg-*"))
        self.stop_programs()                  # what systemctl try-restart does (postinst)
        self.migrate(expect_pending="9990_essai_mise_a_jour")
        self.assertEqual(self.psql("SELECT to_regclass('essai_mise_a_jour') IS NOT NULL"), "t")
        run(["nginx", "-t", "-q"])
        run(["nginx", "-s", "reload"])
        self.start_programs()
        r = request(self.base + "/api/modify", headers={"Authorization": "Bearer " + answer["edit_token"]})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["email"], answer["email"])
        self.stop_programs()

        # --- remove: programs gone; configuration, site and data kept ---
        with open("/var/lib/fiable/backups/garde", "w") as f:
            f.write("une sauvegarde locale\n")
        apt("remove", "fiable")
        self.assertTrue(installed_version().startswith("deinstall ok config-files"), installed_version())
        self.assertFalse(os.path.exists("/usr/libexec/fiable/fiable-submit"))
        self.assertFalse(os.path.exists("/usr/share/fiable"))
        for kept in (ENV_FILE, SITE, "/etc/fiable/htpasswd", "/etc/logrotate.d/fiable"):
            self.assertTrue(os.path.exists(kept), "removed by apt-get remove: " + kept)
        run(["nginx", "-t", "-q"])            # the site still names missing sockets: still valid
        self.assertEqual(self.psql("SELECT count(*) FROM soumissions_disponibilites WHERE email = '%s'"
                                   % answer["email"]), "1")

        # --- purge: configuration gone; database, backups, account deliberately kept ---
        apt("purge", "fiable")
        self.assertEqual(installed_version(), "")
        for gone in ("/etc/fiable", SITE, ENABLED, "/etc/logrotate.d/fiable", "/var/log/fiable",
                     "/var/lib/fiable/spool"):
            self.assertFalse(os.path.lexists(gone), "left by apt-get purge: " + gone)
        self.assertEqual(run(["dpkg-statoverride", "--list", "/etc/fiable*"], check=False).stdout, "")
        self.assertTrue(os.path.exists("/var/lib/fiable/backups/garde"), "purge removed the backups")
        self.assertEqual(subprocess.run(["getent", "passwd", "fiable"]).returncode, 0)
        self.assertEqual(self.psql("SELECT count(*) FROM soumissions_disponibilites WHERE email = '%s'"
                                   % answer["email"]), "1", "the database lost the answer")
        run(["nginx", "-t", "-q"])            # the dangling link was removed by postrm

    def check_installed(self):
        # The service account (sysusers), its directories (tmpfiles), the secrets' rights.
        pw = pwd.getpwnam("fiable")
        self.assertEqual(pw.pw_dir, "/var/lib/fiable")
        self.assertEqual(pw.pw_shell, "/usr/sbin/nologin")
        for path, owner, mode in (("/etc/fiable", "root:root", "755"),
                                  (ENV_FILE, "root:fiable", "640"),
                                  ("/var/lib/fiable", "fiable:fiable", "750"),
                                  ("/var/lib/fiable/spool", "fiable:fiable", "750"),
                                  ("/var/log/fiable", "fiable:adm", "750")):
            out = run(["stat", "-c", "%U:%G %a", path]).stdout.strip()
            self.assertEqual(out, "%s %s" % (owner, mode), path)
        conffiles = run(["dpkg-query", "--showformat=${Conffiles}", "-W", "fiable"]).stdout
        for c in (ENV_FILE, SITE, "/etc/fiable/alert-rules.json", "/etc/logrotate.d/fiable"):
            self.assertIn(c, conffiles)
        self.assertTrue(os.path.exists(SNAKEOIL), "postinst made no snakeoil certificate")
        self.assertFalse(os.path.exists(os.path.join(UNITS, "fiable-nginx.service")))
        # Debian's hardening: BIND_NOW, RELRO, fortified calls in every program.
        for prog in glob.glob("/usr/libexec/fiable/fiable-*"):
            dyn = run(["readelf", "-dW", prog], quiet=True).stdout
            self.assertRegex(dyn, r"\(FLAGS\)\s+BIND_NOW|FLAGS_1.*NOW", prog)
            self.assertIn("GNU_RELRO", run(["readelf", "-lW", prog], quiet=True).stdout, prog)
            syms = run(["readelf", "--dyn-syms", "-W", prog], quiet=True).stdout
            self.assertRegex(syms, r"__\w+_chk@", prog)
            self.assertIn("__stack_chk_fail", syms, prog)
        with open("/usr/bin/fiable-migrate") as f:
            self.assertIn('SQL_DIR="/usr/share/fiable/sql"', f.read())

    def configure(self):
        """The operator's edits (docs/DEPLOIEMENT.md): fiable.env, htpasswd, the site's ports
        and a trusted proxy. All of them must survive the upgrade."""
        with open(ENV_FILE) as f:
            text = f.read()
        conninfo = "host=%s port=%s dbname=%s user=fiable_app" % (self.pghost, self.pgport, DB)
        text, n = re.subn(r"(?m)^FIABLE_DATABASE_URL=.*$", "FIABLE_DATABASE_URL='%s'" % conninfo, text)
        self.assertEqual(n, 1)
        text, n = re.subn(r"(?m)^PUBLIC_URL=.*$", "PUBLIC_URL=" + self.base, text)
        self.assertEqual(n, 1)
        text += "FIABLE_SECRET=%s\n" % secrets.token_hex(32)
        with open(ENV_FILE, "w") as f:
            f.write(text)
        run(["stat", "-c", "%U:%G %a", ENV_FILE])
        pw = subprocess.run(["htpasswd", "-niB", "-C", "8", self.admin[0]], input=self.admin[1] + "\n",
                            capture_output=True, text=True, check=True).stdout.strip()
        with open("/etc/fiable/htpasswd", "w") as f:
            f.write(pw + "\n")
        shutil.chown("/etc/fiable/htpasswd", "root", "www-data")
        os.chmod("/etc/fiable/htpasswd", 0o640)
        with open(SITE) as f:
            site = f.read()
        for old, new in (("    listen 80;\n", "    listen 127.0.0.1:%d;\n" % HTTP_PORT),
                         ("    listen [::]:80;\n", ""),
                         ("    listen 443 ssl http2;\n", "    listen 127.0.0.1:%d ssl http2;\n" % HTTPS_PORT),
                         ("    listen [::]:443 ssl http2;\n", ""),
                         ("    #set_real_ip_from 192.0.2.10;\n", "    set_real_ip_from %s;\n" % TRUSTED_PROXY),
                         ("    #real_ip_header X-Forwarded-For;\n", "    real_ip_header X-Forwarded-For;\n")):
            self.assertEqual(site.count(old), 1, old)
            site = site.replace(old, new)
        with open(SITE, "w") as f:
            f.write(site)

    def migrate(self, expect_pending):
        su = "host=%s port=%s dbname=%s user=postgres" % (self.pghost, self.pgport, DB)
        status = run(["/usr/bin/fiable-migrate", "--status", su]).stdout
        if expect_pending:
            self.assertRegex(status, r"(?m)^.*%s" % expect_pending)
        run(["/usr/bin/fiable-migrate", su])
        count = int(self.psql("SELECT count(*) FROM schema_migrations"))
        files = [f for f in os.listdir("/usr/share/fiable/sql")
                 if re.match(r"^\d{4}_.*\.sql$", f) and not f.endswith(".down.sql")]
        self.assertEqual(count, len(files), "migrations applied != migrations installed")
        if expect_pending is None:
            env = dict(os.environ, PGHOST=self.pghost, PGPORT=self.pgport, PGUSER="postgres",
                       PGDATABASE=DB)
            run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f",
                 os.path.join(ROOT, "sql", "demo", "creneaux-demo.sql")], env=env)

    def enable_site(self):
        os.symlink("../sites-available/fiable", ENABLED)
        run(["nginx", "-t", "-q"])
        if nginx_master():
            run(["nginx", "-s", "reload"])
        else:
            # What Debian's nginx.service runs (its ExecStart).
            run(["/usr/sbin/nginx", "-g", "daemon on; master_process on;"])
            type(self).started_nginx = True

    def check_https_and_submit(self):
        b = self.base
        # HTTP → HTTPS.
        r = self.plain_http("/c/demo/?x=1")
        self.assertEqual(r.status, 301)
        self.assertEqual(r.header("Location"), "https://127.0.0.1/c/demo/?x=1")
        # TLS, HSTS, the security headers, the form's caching rules.
        r = request(b + "/")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Strict-Transport-Security"), "max-age=63072000")
        self.assertIn("frame-ancestors 'none'", r.header("Content-Security-Policy"))
        self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
        self.assertEqual(r.header("Cache-Control"), "no-cache")
        r = request(b + "/app.js")
        self.assertEqual(r.status, 200)
        self.assertRegex(r.header("Content-Type"), r"^(text|application)/javascript; charset=utf-8$")
        self.assertEqual(r.header("Cache-Control"), "no-cache")
        etag = r.header("ETag")
        self.assertTrue(etag)
        r = request(b + "/app.js", headers={"If-None-Match": etag})
        self.assertEqual(r.status, 304)
        with open("/usr/share/fiable/static/app.js", "rb") as f:
            self.assertEqual(request(b + "/app.js").body, f.read())
        # Administration: nginx's basic auth against /etc/fiable/htpasswd.
        self.assertEqual(request(b + "/admin/").status, 401)
        auth = "Basic " + base64.b64encode(("%s:%s" % self.admin).encode()).decode()
        self.assertEqual(request(b + "/admin/", headers={"Authorization": auth}).status, 200)
        # An answer, over HTTPS, through Debian's nginx and the installed programs.
        slots = self.psql("SELECT id FROM creneaux WHERE starts_at > now() ORDER BY starts_at, id LIMIT 2")
        payload = {"email": "paquet-%s@exemple.be" % secrets.token_hex(4), "nom": "Dominique Paquet",
                   "creneaux": slots.split("\n"), "commentaire": "Installé par le paquet."}
        key = str(uuid.uuid4())
        r = request(b + "/api/submit", "POST", json.dumps(payload).encode(),
                    {"Content-Type": "application/json", "Idempotency-Key": key, "Origin": b})
        self.assertEqual(r.status, 201, r.body)
        answer = r.json()
        self.assertEqual(self.psql("SELECT count(*) FROM soumissions_disponibilites WHERE email = '%s'"
                                   % payload["email"]), "1")
        self.wait_sealed()
        # real_ip: the trusted proxy's X-Forwarded-For is the client; anyone else's is ignored.
        self.assertEqual(request(b + "/api/health", headers={"X-Forwarded-For": "203.0.113.7"},
                                 source=TRUSTED_PROXY).status, 200)
        self.assertEqual(request(b + "/api/health", headers={"X-Forwarded-For": "203.0.113.8"},
                                 source=OTHER_SOURCE).status, 200)
        with open("/var/log/nginx/fiable-access.log") as f:
            logged = [l for l in f if "/api/health" in l]
        self.assertTrue(any(l.startswith("203.0.113.7 ") for l in logged), logged[-3:])
        self.assertTrue(any(l.startswith(OTHER_SOURCE + " ") for l in logged), logged[-3:])
        self.assertFalse(any(l.startswith("203.0.113.8 ") for l in logged), logged[-3:])
        return answer

    def plain_http(self, path):
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=10)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return Response(r.status, r.headers, r.read())
        finally:
            c.close()


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("package: needs root (apt-get install, Debian's nginx): skipped")
        sys.exit(SKIP)
    if not shutil.which("nginx") and not os.path.exists("/usr/sbin/nginx"):
        print("package: no nginx: skipped")
        sys.exit(SKIP)
    unittest.main(verbosity=2)
