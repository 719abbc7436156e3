"""Deployment test: docs/DEPLOIEMENT.md, run as written, against a copy installed from source.

Every fenced block marked ```sh deploy:NAME``` of docs/DEPLOIEMENT.md and of README.md (its
development section « Installer depuis les sources » holds the blocks that install from the
source tree: cmake --install, a private nginx, the code's rollback) is run by bash (after the
`reglages` block, with this test's values exported first), in the order of the document, with
checks in between: install into a temporary prefix, migrate a FRESH database of the test
cluster with the installed fiable-migrate, verify, start the INSTALLED FastCGI programs as
their systemd units say (socket on descriptor 0, the unit's ExecStart line, its
EnvironmentFile) behind a private nginx configured from the installed site file, validate, restart
without losing a request, run the scheduled programs by hand, monitor, switch a feature off,
then roll back (restore of the pre-deployment pg_dump; down scripts in reverse order; code).
The test fails if the documents hold a deploy block it did not run. The package's own path
(apt-get, Debian's nginx) is tests/package.

Needs the stack of `scripts/dev test` (FIABLE_TEST_PG: its PostgreSQL cluster; FIABLE_VAR,
FIABLE_BUILD). Standard library only.
"""

import filecmp
import glob
import grp
import os
import pwd
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.error
import urllib.request

# The stack's description (FIABLE_TEST_ENV_FILE, written by the ctest fixture) when the
# environment does not hold it: the loader of the integration tests, read on import.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import fiable_test.env  # noqa: E402,F401

ROOT = os.environ.get("FIABLE_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
DOCS = [os.path.join(ROOT, "docs", "DEPLOIEMENT.md"), os.path.join(ROOT, "README.md")]
FCGI = ["submit", "form", "health", "modify", "restore", "metrics", "campaigns"]
DB = "fiable_deploy"
IS_ROOT = os.geteuid() == 0
# Waiting ceilings scale with the machine's load (see tests/integration/fiable_test.py).
SLOWDOWN = max(1.0, float(os.environ.get("FIABLE_TEST_SLOWDOWN") or 1))


def log(msg):
    print("deploy: " + msg, flush=True)


def conninfo_fields(conninfo):
    return dict(kv.split("=", 1) for kv in shlex.split(conninfo) if "=" in kv)


def doc_blocks():
    """[(name, text)] of the ```sh deploy:NAME``` blocks, in document order."""
    blocks = []
    for doc in DOCS:
        with open(doc, encoding="utf-8") as f:
            blocks += re.findall(r"^```sh deploy:([a-z0-9-]+)\n(.*?)^```", f.read(), re.M | re.S)
    return blocks


def free_port(start):
    for port in range(start, start + 50):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise AssertionError("no free port near %d" % start)


def http(url, auth=None, timeout=10):
    req = urllib.request.Request(url)
    if auth:
        import base64
        req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def unit_value(path, key):
    """Values of KEY= in a unit file (all of them)."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith(key + "="):
                out.append(line[len(key) + 1:].rstrip("\n"))
    return out


class Deploy(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        for name in ("FIABLE_TEST_PG", "FIABLE_VAR", "FIABLE_BUILD"):
            if not os.environ.get(name):
                raise AssertionError("%s is not set: run `scripts/dev test -R deploy`" % name)
        pg = conninfo_fields(os.environ["FIABLE_TEST_PG"])
        cls.pghost, cls.pgport = pg["host"], pg.get("port", "5432")
        cls.work = os.path.join(os.environ["FIABLE_VAR"], "deploy")
        cls.prefix = os.path.join(cls.work, "prefix")
        cls.etc = os.path.join(cls.prefix, "etc")
        cls.run_dir = os.path.join(cls.work, "run")
        cls.logs = os.path.join(cls.work, "log")
        cls.user = "www-data" if IS_ROOT else pwd.getpwuid(os.getuid()).pw_name
        cls.port = free_port(int(os.environ.get("PORT", "18080")) + 7)
        cls.url = "http://127.0.0.1:%d" % cls.port
        cls.admin = "admin:" + secrets.token_hex(8)
        cls.procs = {}
        cls.sockets = {}
        cls.ran = []
        shutil.rmtree(cls.work, ignore_errors=True)
        for d in (cls.work, cls.logs, cls.run_dir):
            os.makedirs(d, exist_ok=True)
        for d in ("spool", "backups", "mail"):
            p = os.path.join(cls.work, d)
            os.makedirs(p, mode=0o750)
            if IS_ROOT:
                shutil.chown(p, cls.user, cls.user)
        os.chmod(cls.work, 0o755)
        cls.env = dict(os.environ)
        cls.env.update({
            "SRC": ROOT,
            "BUILD": os.path.join(os.environ["FIABLE_BUILD"], "deploy-release"),
            "BUILD_PRECEDENT": os.path.join(os.environ["FIABLE_BUILD"], "deploy-release"),
            "PREFIX": cls.prefix, "ETC": cls.etc, "SERVICE_USER": cls.user,
            "SAUVEGARDES": os.path.join(cls.work, "sauvegardes"),
            "PGHOST": cls.pghost, "PGPORT": cls.pgport, "PGUSER": "postgres", "PGDATABASE": DB,
            "NGINX_CONF": os.path.join(cls.etc, "fiable", "nginx.conf"),
            "NGINX_PREFIX": os.path.join(cls.work, "nginx"),
            "LOGS": cls.logs, "RUN": cls.run_dir, "LISTEN": "127.0.0.1:%d" % cls.port,
            "URL": cls.url, "ADMIN": cls.admin,
        })
        # The instrumented build of the harness is not what is installed here (Release).
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            cls.env.pop(k, None)
        cls.psql_admin("DROP DATABASE IF EXISTS %s WITH (FORCE)" % DB)
        for (name,) in cls.psql_rows("SELECT datname FROM pg_database WHERE datname LIKE '%s_echec_%%'" % DB):
            cls.psql_admin('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        cls.psql_admin("CREATE DATABASE %s TEMPLATE template0" % DB)

    @classmethod
    def tearDownClass(cls):
        cls.stop_programs()
        if "nginx" in cls.procs:
            cls.stop_proc("nginx", signal.SIGQUIT)
        for (name,) in cls.psql_rows("SELECT datname FROM pg_database WHERE datname LIKE '%s%%'" % DB):
            cls.psql_admin('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)

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
    def psql_admin(cls, sql):
        return cls.psql(sql, db="postgres")

    @classmethod
    def psql_rows(cls, sql):
        out = cls.psql(sql, db="postgres")
        return [tuple(line.split("|")) for line in out.splitlines() if line]

    def block(self, name, extra_env=None):
        blocks = dict(doc_blocks())
        self.assertIn(name, blocks, "docs/DEPLOIEMENT.md and README.md have no block sh deploy:%s" % name)
        script = blocks["reglages"] + "\n" + blocks[name]
        env = dict(self.env, **(extra_env or {}))
        log("bloc deploy:%s" % name)
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], env=env, cwd=self.work,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
        sys.stdout.write(r.stdout[-6000:])
        sys.stdout.write(r.stderr[-6000:])
        self.assertEqual(r.returncode, 0, "the block sh deploy:%s (docs/DEPLOIEMENT.md, README.md) failed "
                         "(exit %d):\n%s" % (name, r.returncode, r.stderr[-3000:]))
        self.ran.append(name)
        return r.stdout

    def unit(self, name):
        return os.path.join(self.prefix, "lib", "systemd", "system", name)

    def service_env(self):
        """The environment a unit gets from EnvironmentFile= (read as sh reads it)."""
        envfile = unit_value(self.unit("fiable-submit.service"), "EnvironmentFile")[0]
        self.assertEqual(envfile, os.path.join(self.etc, "fiable", "fiable.env"))
        r = subprocess.run(["env", "-i", "/bin/sh", "-c", 'set -a; . "$0"; env -0', envfile],
                           capture_output=True, check=True)
        env = dict(item.split("=", 1) for item in r.stdout.decode().split("\0") if "=" in item)
        env.pop("PWD", None)
        env.pop("SHLVL", None)
        env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
        return env

    def start_service(self, name):
        """Runs the unit's ExecStart as systemd would: User=, EnvironmentFile=, and with a
        .socket unit, the listening socket on descriptor 0 (StandardInput=socket)."""
        path = self.unit("fiable-%s.service" % name)
        argv = shlex.split(unit_value(path, "ExecStart")[0])
        as_user = []
        if IS_ROOT:
            as_user = ["setpriv", "--reuid", self.user, "--regid", self.user, "--init-groups"]
        stdin = subprocess.DEVNULL
        sock_unit = self.unit("fiable-%s.socket" % name)
        if os.path.exists(sock_unit):
            self.assertEqual(unit_value(path, "StandardInput"), ["socket"])
            listen = unit_value(sock_unit, "ListenStream")[0]
            self.assertEqual(listen, "/run/fiable/fiable-%s.sock" % name)
            sock = self.sockets.get(name)
            if sock is None:
                addr = os.path.join(self.run_dir, os.path.basename(listen))
                if os.path.exists(addr):
                    os.unlink(addr)
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.bind(addr)
                sock.listen(int(unit_value(sock_unit, "Backlog")[0]))
                os.chmod(addr, int(unit_value(sock_unit, "SocketMode")[0], 8))
                if IS_ROOT:
                    shutil.chown(addr, self.user, unit_value(sock_unit, "SocketGroup")[0])
                self.sockets[name] = sock
            stdin = sock.fileno()
        logf = open(os.path.join(self.logs, "fiable-%s.log" % name), "ab")
        self.procs[name] = subprocess.Popen(as_user + argv, stdin=stdin, stdout=logf, stderr=logf,
                                            env=self.service_env(), cwd="/",
                                            start_new_session=True)
        logf.close()

    @classmethod
    def stop_proc(cls, name, sig=signal.SIGTERM):
        p = cls.procs.pop(name, None)
        if p is None or p.poll() is not None:
            return
        p.send_signal(sig)       # KillMode=mixed: the main process only
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)

    @classmethod
    def stop_programs(cls):
        for name in FCGI + ["mail-outbox", "audit-sealer"]:
            cls.stop_proc(name)

    def wait_health(self, want=200, secs=20):
        secs *= SLOWDOWN
        deadline = time.time() + secs
        status = None
        while time.time() < deadline:
            try:
                status, body = http(self.url + "/api/health", timeout=3)
                if status == want:
                    return body
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError("health: %r (wanted %d) after %d s; logs in %s" %
                             (status, want, secs, self.logs))

    # --- the procedure, in the order of the document ------------------------------------

    def test_deployment(self):
        self.block("sauvegarde")
        self.block("installer")
        self.check_installed()
        self.block("configurer")
        self.configure_for_test()
        self.block("migrer")
        self.check_migrations()
        self.block("mots-de-passe")
        self.block("verifier")
        # Test fixture, not a deployment step: the institution's catalogue of slots.
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f",
                        os.path.join(ROOT, "sql", "demo", "creneaux-demo.sql")],
                       env=self.env, check=True, capture_output=True)
        self.block("nginx")
        self.check_units()
        self.start_stack()
        self.block("valider")
        self.check_static()
        self.restart_without_loss()
        self.block("taches")
        self.block("surveiller")
        self.scenario2()
        self.stop_programs()                   # systemctl stop (scenario 1)
        out = self.block("retour-base")
        self.check_restored(out)
        self.block("retour-code")
        self.assertEqual(sorted(self.ran), sorted(n for n, _ in doc_blocks() if n != "reglages"),
                         "docs/DEPLOIEMENT.md or README.md holds deploy blocks that this test did not run")

    def check_installed(self):
        p = self.prefix
        build = self.env["BUILD"]
        # Every program built from cgi-bin/ and cron/ is installed (new ones included).
        built = sorted(os.path.basename(f) for d in ("cgi-bin", "cron")
                       for f in glob.glob(os.path.join(build, d, "fiable-*"))
                       if os.access(f, os.X_OK) and os.path.isfile(f))
        self.assertTrue(set("fiable-" + n for n in FCGI) <= set(built), built)
        for prog in built:
            self.assertTrue(os.access(os.path.join(p, "libexec", "fiable", prog), os.X_OK),
                            "not installed: libexec/fiable/" + prog)
        # The FastCGI programs queue mail but never send it: the release build must not load
        # libcurl and the libraries it brings (worker memory: tests/bench/README.md).
        for n in FCGI:
            libs = subprocess.run(["ldd", os.path.join(p, "libexec", "fiable", "fiable-" + n)],
                                  stdout=subprocess.PIPE, check=True, text=True).stdout
            self.assertNotIn("libcurl", libs, "fiable-%s loads libcurl" % n)
        src_sql = sorted(os.path.basename(f) for f in glob.glob(os.path.join(ROOT, "sql", "[0-9]*.sql")))
        inst_sql = sorted(os.listdir(os.path.join(p, "share", "fiable", "sql")))
        self.assertEqual(inst_sql, src_sql, "share/fiable/sql differs from sql/")
        cmp = filecmp.dircmp(os.path.join(ROOT, "static"), os.path.join(p, "share", "fiable", "static"))
        self.assertFalse(cmp.left_only or cmp.right_only or cmp.diff_files,
                         "share/fiable/static differs from static/")
        with open(os.path.join(p, "bin", "fiable-migrate"), encoding="utf-8") as f:
            text = f.read()
        self.assertIn('SQL_DIR="%s/share/fiable/sql"' % p, text)
        for f in ("fiable.env.example", "alert-rules.json"):
            self.assertTrue(os.path.isfile(os.path.join(self.etc, "fiable", f)), f)
        for f in ("nginx-site-fiable", "crontab.example", "logrotate", "sysusers.conf",
                  "tmpfiles.conf", "fiable.env.example", "pgbackrest.conf.in"):
            self.assertTrue(os.path.isfile(os.path.join(p, "share", "doc", "fiable", "examples", f)), f)
        self.assertTrue(os.path.isfile(os.path.join(p, "share", "doc", "fiable", "DEPLOIEMENT.md")))
        # Each migration has its down script, or says in its header why it has none.
        for f in sorted(glob.glob(os.path.join(ROOT, "sql", "[0-9][0-9][0-9][0-9]_*.sql"))):
            if f.endswith(".down.sql"):
                continue
            if not os.path.exists(f[:-4] + ".down.sql"):
                with open(f, encoding="utf-8") as fh:
                    head = "".join(fh.readlines()[:15]).lower()
                self.assertRegex(head, "irréversible|ne peut pas être annulée",
                                 "%s: no down script and no header saying why" % f)
        # Installed units name installed paths only.
        for u in glob.glob(self.unit("fiable-*")):
            with open(u, encoding="utf-8") as fh:
                self.assertNotIn("/usr/local/libexec", fh.read(), u)
        # The example documents every setting the programs read.
        with open(os.path.join(ROOT, "lib", "config.c"), encoding="utf-8") as fh:
            names = set(re.findall(r'^\s*\{ "([A-Z0-9_]+)",', fh.read(), re.M))
        for src in glob.glob(os.path.join(ROOT, "lib", "*.c")) + \
                glob.glob(os.path.join(ROOT, "cgi-bin", "*.c")) + glob.glob(os.path.join(ROOT, "cron", "*.c")):
            with open(src, encoding="utf-8") as fh:
                names |= set(re.findall(r'getenv\("([A-Z0-9_]+)"\)', fh.read()))
        with open(os.path.join(ROOT, "deploy", "fiable.env.example"), encoding="utf-8") as fh:
            example = fh.read()
        # What systemd itself sets for a service (lib/log.c reads them): not settings.
        names -= {"JOURNAL_STREAM", "MANAGERPID"}
        missing = sorted(n for n in names if not re.search(r"^#?%s=" % n, example, re.M))
        self.assertEqual(missing, [], "deploy/fiable.env.example does not document these")

    def configure_for_test(self):
        envfile = os.path.join(self.etc, "fiable", "fiable.env")
        st = os.stat(envfile)
        self.assertEqual(st.st_mode & 0o777, 0o640)
        self.assertEqual(st.st_uid, 0 if IS_ROOT else os.getuid())
        if IS_ROOT:
            self.assertEqual(grp.getgrgid(st.st_gid).gr_name, self.user)
        base = "host=%s port=%s dbname=%s" % (self.pghost, self.pgport, DB)
        with open(envfile, "a", encoding="utf-8") as f:
            f.write("\n# deploy test\n")
            f.write("FIABLE_DATABASE_URL='%s user=fiable_app application_name=fiable-deploy'\n" % base)
            f.write("BACKUP_DATABASE_URL='%s user=fiable_backup'\n" % base)
            f.write("PUBLIC_URL=%s\n" % self.url)
            f.write("FIABLE_SPOOL_DIR=%s/spool\n" % self.work)
            f.write("BACKUP_DESTINATION=%s/backups\n" % self.work)
            f.write("FIABLE_MAIL_DIR=%s/mail\n" % self.work)

    def check_migrations(self):
        mig = os.path.join(self.prefix, "bin", "fiable-migrate")
        conn = "dbname=" + DB
        r = subprocess.run([mig, "--status", conn], env=self.env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("en attente", r.stdout)
        self.assertIn(os.path.join(self.prefix, "share", "fiable", "sql"), r.stdout)
        # Rerun: nothing to do. An unknown newer migration: refusal (2), nothing changed.
        r = subprocess.run([mig, conn], env=self.env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("aucune en attente", r.stdout)
        self.psql("INSERT INTO schema_migrations (version) VALUES ('9999_du_futur')")
        try:
            for args in ([mig, conn], [mig, "--status", conn]):
                r = subprocess.run(args, env=self.env, capture_output=True, text=True)
                self.assertEqual(r.returncode, 2, "%s: %s%s" % (args, r.stdout, r.stderr))
                self.assertIn("9999_du_futur", r.stdout + r.stderr)
        finally:
            self.psql("DELETE FROM schema_migrations WHERE version = '9999_du_futur'")

    def check_units(self):
        units = sorted(glob.glob(self.unit("fiable-*")))
        names = [os.path.basename(u) for u in units]
        for n in FCGI:
            self.assertIn("fiable-%s.socket" % n, names)
            self.assertIn("fiable-%s.service" % n, names)
        self.assertNotIn("fiable-nginx.service", names, "nginx is Debian's nginx.service")
        for n in ("fiable-mail-outbox.service", "fiable-audit-sealer.service",
                  "fiable-backup-submissions.timer", "fiable-cleanup-old-backups.timer",
                  "fiable-check-alerts.timer", "fiable-verify-audit.timer",
                  "fiable-pgbackrest@.service", "fiable-pgbackrest-full.timer",
                  "fiable-pgbackrest-diff.timer"):
            self.assertIn(n, names)
        # pgBackRest (docs/DEPLOIEMENT.md, « Archivage continu »): weekly full, daily diff.
        self.assertEqual(unit_value(self.unit("fiable-pgbackrest-full.timer"), "OnCalendar"),
                         ["Sun *-*-* 01:00:00"])
        self.assertEqual(unit_value(self.unit("fiable-pgbackrest-diff.timer"), "OnCalendar"),
                         ["Mon..Sat *-*-* 01:00:00"])
        self.assertEqual(unit_value(self.unit("fiable-backup-submissions.timer"), "OnCalendar"),
                         ["*-*-* 02:00:00"])
        self.assertEqual(unit_value(self.unit("fiable-check-alerts.timer"), "OnCalendar"), ["*:0/5"])
        for u in units:
            if u.endswith(".service"):
                # pgbackrest reads the cluster's files: the cluster's account, not fiable.
                user = "postgres" if "pgbackrest" in u else "fiable"
                for key, want in (("User", user), ("NoNewPrivileges", "yes"),
                                  ("ProtectSystem", "strict"), ("CapabilityBoundingSet", ""),
                                  ("PrivateTmp", "yes"), ("ProtectHome", "yes")):
                    self.assertEqual(unit_value(u, key), [want], "%s: %s" % (u, key))
        if shutil.which("systemd-analyze"):
            r = subprocess.run(["systemd-analyze", "verify", "--man=no"] + units,
                               capture_output=True, text=True)
            out = r.stdout + r.stderr
            log("systemd-analyze verify: exit %d\n%s" % (r.returncode, out))
            # Without systemd as PID 1 nothing more can be checked than the files themselves.
            bad = [l for l in out.splitlines()
                   if "fiable-" in l and not re.search(r"Failed to connect|bus|not executable.*(multiwatch|nginx)|Unit configured to use KillMode=", l)]
            self.assertEqual(bad, [], "systemd-analyze verify complains")
        else:
            log("systemd-analyze absent: units not verified")

    def start_stack(self):
        for name in FCGI:
            self.start_service(name)
        self.start_service("mail-outbox")
        self.start_service("audit-sealer")
        # The private nginx of README's « Installer depuis les sources » (deploy:nginx).
        fixed = [shutil.which("nginx") or "/usr/sbin/nginx", "-p", self.env["NGINX_PREFIX"] + "/",
                 "-c", self.env["NGINX_CONF"], "-e", os.path.join(self.logs, "nginx-error.log"),
                 "-g", "daemon off;"]
        logf = open(os.path.join(self.logs, "nginx-start.log"), "ab")
        self.procs["nginx"] = subprocess.Popen(fixed, stdin=subprocess.DEVNULL, stdout=logf,
                                               stderr=logf, start_new_session=True)
        logf.close()
        body = self.wait_health()
        log("health: %s" % body.decode(errors="replace"))

    def check_static(self):
        for path in ("/", "/app.js", "/sw.js", "/admin/metrics.js"):
            status, body = http(self.url + path, auth=self.admin if path.startswith("/admin") else None)
            self.assertEqual(status, 200, path)
            src = "index.html" if path == "/" else path.lstrip("/")
            with open(os.path.join(ROOT, "static", src), "rb") as f:
                self.assertEqual(body, f.read(), path + " is not the installed file")
        status, _ = http(self.url + "/admin/")
        self.assertEqual(status, 401)
        # A wrong password reaches the installed fiable-metrics (counted) through nginx's
        # internal location; the file nginx checks is in bcrypt.
        status, body = http(self.url + "/api/admin/metrics", auth="admin:faux")
        self.assertEqual(status, 401)
        self.assertIn(b'"code":"admin_auth_failed"', body)
        self.assertEqual(self.psql("SELECT count(*) FROM request_metrics WHERE "
                                   "endpoint = '/admin/authentification' AND status = 401"), "1")
        with open(os.path.join(self.etc, "fiable", "htpasswd"), encoding="ascii") as f:
            self.assertRegex(f.read(), r"^admin:\$2y\$08\$")

    def restart_without_loss(self):
        """systemctl restart fiable-form.service while requests flow: the socket stays open
        (systemd holds it; here, this test), so none is lost. Plus an nginx reload."""
        results = []
        stop = threading.Event()

        def hammer():
            while not stop.is_set():
                try:
                    results.append(http(self.url + "/api/form", timeout=20)[0])
                except OSError as e:
                    results.append(repr(e))

        def wait_answers(count, what):
            deadline = time.monotonic() + 60 * SLOWDOWN
            while len(results) < count:
                if time.monotonic() >= deadline:
                    raise AssertionError("%d answers only, %s" % (len(results), what))
                time.sleep(0.05)

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            wait_answers(8, "before the restart")
            for name in ("form", "health"):
                self.stop_proc(name)
                # The scenario itself, not a wait for an event: the program stays stopped a
                # moment, while requests wait in the socket's backlog.
                time.sleep(0.3)
                self.start_service(name)
            self.procs["nginx"].send_signal(signal.SIGHUP)     # systemctl reload nginx
            # Requests keep flowing after the restart and the reload: answered by the new
            # processes (the old nginx workers finish theirs and leave).
            wait_answers(len(results) + 20, "after the restart and the reload")
        finally:
            stop.set()
            for t in threads:
                t.join()
        bad = [r for r in results if r != 200]
        log("restart under load: %d requests, %d failed" % (len(results), len(bad)))
        self.assertGreater(len(results), 20)
        # The socket is never closed: no request is refused (nginx would log connect() failed).
        with open(os.path.join(self.logs, "nginx-error.log"), encoding="utf-8") as f:
            refused = [l for l in f if "connect() to unix:" in l and "fiable-form" in l]
        self.assertEqual(refused, [], "a request was refused during the restart")
        # A stopped worker finishes the request it holds (lib/server.c): none is cut.
        self.assertEqual(bad, [], "requests failed during the restart")

    def scenario2(self):
        flags = os.path.join(self.prefix, "libexec", "fiable", "fiable-flags")
        self.assertTrue(os.access(flags, os.X_OK), "fiable-flags is not installed")
        self.block("retour-fonctionnalite")
        rows = self.psql("SELECT count(*) FROM audit_logs WHERE action = 'feature_flag.update'")
        self.assertGreaterEqual(int(rows), 2)

    def check_restored(self, out):
        m = re.search(r"gardée sous le nom (\S+)", out)
        self.assertTrue(m, out)
        echec = m.group(1)
        # The database is back to its pre-deployment state: here, empty.
        self.assertEqual(self.psql("SELECT to_regclass('soumissions_disponibilites') IS NULL"), "t")
        r = subprocess.run([os.path.join(self.prefix, "bin", "fiable-migrate"), "--status",
                            "dbname=" + DB], env=self.env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("appliquée", r.stdout)
        # The deployed database was kept, with what was received meanwhile.
        self.assertGreaterEqual(int(self.psql("SELECT count(*) FROM soumissions_disponibilites", db=echec)), 1)
        # Down scripts, newest first, on the kept database: nothing of Fiable remains.
        self.block("retour-migrations", {"PGDATABASE": echec, "JUSQUA": "0000"})
        left = self.psql("SELECT string_agg(relname, ', ' ORDER BY relname) FROM pg_class "
                         "WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r','v','m','p','f') "
                         "AND relname <> 'schema_migrations'", db=echec)
        self.assertEqual(left, "", "left after every down script")
        funcs = self.psql("SELECT string_agg(proname, ', ') FROM pg_proc "
                          "WHERE pronamespace = 'public'::regnamespace", db=echec)
        self.assertEqual(funcs, "", "functions left after every down script")
        self.assertEqual(self.psql("SELECT count(*) FROM schema_migrations", db=echec), "0")


if __name__ == "__main__":
    unittest.main(verbosity=2)
