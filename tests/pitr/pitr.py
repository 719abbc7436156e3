"""Helpers of the point-in-time recovery tests (test_pitr*.py): pgBackRest and pg_ctl run as
the cluster's user on the test stack's stanza, the restore commands of docs/DEPLOIEMENT.md
(its ```sh pitr:NAME``` blocks) run as written, and a scratch cluster started from them.

`scripts/dev test` exports, besides what fiable_test lists:

  FIABLE_TEST_PGBACKREST_CONFIG_PATH  pgbackrest.conf (from deploy/pgbackrest.conf.in) and its
                                      conf.d/, the stanza « fiable », a repository in FIABLE_VAR
  FIABLE_TEST_PG_BIN                  PostgreSQL's programs (pg_ctl)
"""

import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import time
import urllib.parse
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import backup_helpers as bh  # noqa: E402
import fiable_test as ft  # noqa: E402

STANZA = "fiable"
# The scratch cluster's number (its socket's name): assigned to this branch's tests.
SCRATCH_PGPORT = int(os.environ.get("FIABLE_TEST_PITR_PGPORT", "5474"))
DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs",
                   "DEPLOIEMENT.md")
IS_ROOT = os.geteuid() == 0
# The unit the timers start (weekly full, daily diff): its ExecStart= is what the tests run.
BACKUP_UNIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy",
                           "systemd", "fiable-pgbackrest@.service")


def require_pitr_env():
    bh.require_backup_env()
    for name in ("FIABLE_TEST_PGBACKREST_CONFIG_PATH", "FIABLE_TEST_PG_BIN"):
        if not os.environ.get(name):
            raise ft.EnvironmentMissing("%s is not set: run the tests with `scripts/dev test`"
                                        % name)
    if not shutil.which("pgbackrest"):
        raise AssertionError("pgbackrest not found: scripts/dev installs the Debian package")


def as_postgres():
    """The prefix that runs a command as the cluster's user (none when not root: scripts/dev
    then runs the cluster as the current user)."""
    return ["runuser", "-u", "postgres", "--"] if IS_ROOT else []


def pgbackrest_argv():
    return ["pgbackrest", "--config-path=" + os.environ["FIABLE_TEST_PGBACKREST_CONFIG_PATH"],
            "--stanza=" + STANZA]


def run(argv, timeout, env=None):
    """Runs argv (from /, which the cluster's user can enter); the CompletedProcess, text."""
    proc = subprocess.run(argv, cwd="/", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=env, timeout=ft.ceiling(timeout))
    proc.stdout = proc.stdout.decode("utf-8", "replace")
    proc.stderr = proc.stderr.decode("utf-8", "replace")
    return proc


def pgbackrest(*args, timeout=300):
    """pgbackrest ARGS on the test stanza as the cluster's user; fails unless it succeeds."""
    proc = run(as_postgres() + pgbackrest_argv() + list(args), timeout)
    if proc.returncode != 0:
        raise AssertionError("pgbackrest %s failed: %s" % (" ".join(args), bh.describe(proc)))
    return proc.stdout


def unit_backup(kind, extra=(), timeout=600):
    """Runs the ExecStart= of fiable-pgbackrest@KIND.service as the cluster's user, with the
    test's configuration instead of /etc/pgbackrest; fails unless it succeeds."""
    with open(BACKUP_UNIT, encoding="utf-8") as f:
        lines = [line for line in f if line.startswith("ExecStart=")]
    if len(lines) != 1:
        raise AssertionError("%s has %d ExecStart= lines, not 1" % (BACKUP_UNIT, len(lines)))
    argv = shlex.split(lines[0][len("ExecStart="):].replace("%i", kind))
    if os.path.basename(argv[0]) != "pgbackrest" or not os.access(argv[0], os.X_OK):
        raise AssertionError("the unit does not start an installed pgbackrest: %r" % argv)
    argv[1:1] = ["--config-path=" + os.environ["FIABLE_TEST_PGBACKREST_CONFIG_PATH"]]
    argv += list(extra)
    proc = run(as_postgres() + argv, timeout)
    if proc.returncode != 0:
        raise AssertionError("fiable-pgbackrest@%s.service's command failed: %s"
                             % (kind, bh.describe(proc)))


def doc_block(name):
    """The text of the ```sh pitr:NAME``` block of docs/DEPLOIEMENT.md."""
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    found = re.findall(r"^```sh pitr:%s\n(.*?)^```" % re.escape(name), text, re.M | re.S)
    if len(found) != 1:
        raise AssertionError("docs/DEPLOIEMENT.md has %d blocks sh pitr:%s, not 1"
                             % (len(found), name))
    return found[0]


def run_doc_block(name, settings, timeout=300):
    """Runs the block as written by bash -euo pipefail with settings in its environment."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8"}
    env.update(settings)
    proc = run(["bash", "-euo", "pipefail", "-c", doc_block(name)], timeout, env=env)
    if proc.returncode != 0:
        raise AssertionError("the block sh pitr:%s of docs/DEPLOIEMENT.md failed: %s"
                             % (name, bh.describe(proc)))
    return proc


def mkdir_for_postgres(path, mode):
    os.makedirs(path, mode=mode)
    os.chmod(path, mode)
    if IS_ROOT:
        shutil.chown(path, "postgres", "postgres")


def wait_archived(timeout=90):
    """Closes the current WAL segment and waits until the archiver has pushed it (and every
    one before it): what a restore to a time before now needs. Returns the segment's name."""
    segment = ft.sql_one("SELECT pg_walfile_name(pg_switch_wal())")
    deadline = time.monotonic() + ft.ceiling(timeout)
    while True:
        row = ft.sql("SELECT coalesce(last_archived_wal, ''), failed_count, "
                     "coalesce(last_failed_wal, '') FROM pg_stat_archiver")[0]
        # Same timeline: names order like the segments (the history files end in .history).
        if row[0] and not row[0].endswith(".history") and row[0] >= segment:
            return segment
        if time.monotonic() > deadline:
            raise AssertionError("WAL segment %s not archived after %.0f s (pg_stat_archiver: "
                                 "last archived %r, %s failures, last failed %r); see %s"
                                 % (segment, ft.ceiling(timeout), row[0], row[1], row[2],
                                    os.path.join(os.environ["FIABLE_VAR"], "log", "pgbackrest")))
        time.sleep(0.2)


def next_second_and_wait():
    """The next whole second of the database's clock (UTC, as an operator would type it),
    once that clock has passed it: every commit before this call is before it, every commit
    after this call is after it."""
    target = ft.sql_one("SELECT to_char(date_trunc('second', clock_timestamp()) "
                        "+ interval '1 second', 'YYYY-MM-DD HH24:MI:SSOF')")
    deadline = time.monotonic() + ft.ceiling(10)
    while ft.sql_one("SELECT clock_timestamp() > :'p1'::timestamptz", target) != "t":
        if time.monotonic() > deadline:
            raise AssertionError("the database's clock did not pass %s" % target)
        time.sleep(0.05)
    return target


class ScratchCluster:
    """A directory under FIABLE_VAR for a restored cluster and its socket; stop() stops the
    cluster if it runs and removes everything."""

    def __init__(self):
        self.root = os.path.join(os.environ["FIABLE_VAR"], "pitr-" + uuid.uuid4().hex[:8])
        mkdir_for_postgres(self.root, 0o755)
        self.data = os.path.join(self.root, "pg")  # created by the restore block itself
        self.sockets = os.path.join(self.root, "run")
        mkdir_for_postgres(self.sockets, 0o755)
        self.port = SCRATCH_PGPORT

    def conninfo(self, user="postgres"):
        return "host=%s port=%d dbname=fiable user=%s" % (self.sockets, self.port, user)

    def doc_settings(self, **extra):
        """The variables of the blocks sh pitr:* for this scratch cluster."""
        settings = {"DESTINATION": self.data, "SOCKETS": self.sockets,
                    "PORT_RESTAURE": str(self.port), "COMME_POSTGRES": " ".join(as_postgres()),
                    "PGBACKREST": " ".join(pgbackrest_argv()[:2])}
        settings.update(extra)
        return settings

    def sql(self, query, *params):
        return ft.sql(query, *params, conninfo=self.conninfo())

    def auto_conf(self):
        """postgresql.auto.conf of the restored cluster: what pgbackrest restore wrote."""
        with open(os.path.join(self.data, "postgresql.auto.conf"), encoding="utf-8") as f:
            return f.read()

    def stop(self):
        pg_ctl = os.path.join(os.environ["FIABLE_TEST_PG_BIN"], "pg_ctl")
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            run(as_postgres() + [pg_ctl, "stop", "-D", self.data, "-m", "immediate", "-w"], 60)
        shutil.rmtree(self.root, ignore_errors=True)


class TlsRelay:
    """A TLS front on an ephemeral loopback port for the test S3 server, which speaks plain
    HTTP: pgBackRest 2.45 talks to S3 over HTTPS only (src/storage/s3/helper.c parses the
    endpoint with .type = httpProtocolTypeHttps). Bytes are relayed unchanged, so the test
    server still checks every SigV4 signature (the Host header is the relay's address, as
    pgBackRest signed it). The certificate is made here, for 127.0.0.1, and pgBackRest verifies
    it (repo2-storage-ca-file). close() stops the relay."""

    def __init__(self, directory, upstream_port):
        import socket
        import ssl
        import threading
        self.cert = os.path.join(directory, "s3-relay.crt")
        key = os.path.join(directory, "s3-relay.key")
        proc = run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", self.cert], 60)
        if proc.returncode != 0:
            raise AssertionError("openssl req failed: " + bh.describe(proc))
        os.chmod(self.cert, 0o644)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(self.cert, key)
        self.upstream = ("127.0.0.1", upstream_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.closed = threading.Event()
        self.threading = threading
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        import socket
        import ssl
        while not self.closed.is_set():
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            try:
                raw.settimeout(60)
                client = self.context.wrap_socket(raw, server_side=True)
                upstream = socket.create_connection(self.upstream, timeout=60)
            except (OSError, ssl.SSLError):
                raw.close()
                continue
            self.connections += 1
            self.threading.Thread(target=self.relay, args=(client, upstream), daemon=True).start()

    @staticmethod
    def relay(client, upstream):
        """Both directions in one thread: an SSL object must not be read and written by two
        threads at once. Bytes already decrypted (pending) are relayed before waiting."""
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(client, selectors.EVENT_READ)
        sel.register(upstream, selectors.EVENT_READ)
        try:
            while True:
                ready = [client] if client.pending() else [k.fileobj for k, _ in sel.select(60)]
                if not ready:
                    return
                for src in ready:
                    data = src.recv(65536)
                    if not data:
                        return
                    (upstream if src is client else client).sendall(data)
        except OSError:
            pass
        finally:
            sel.close()
            for s in (client, upstream):
                try:
                    s.close()
                except OSError:
                    pass

    def close(self):
        self.closed.set()
        self.listener.close()


# --- The S3 repository (repo2), for ha.pitr_s3 -------------------------------------------------

S3_CONF_NAME = "s3-pitr-test.conf"


def s3_port():
    port = urllib.parse.urlsplit(os.environ["FIABLE_TEST_S3_ENDPOINT"]).port
    if not port:
        raise ft.EnvironmentMissing("no port in FIABLE_TEST_S3_ENDPOINT")
    return port


def s3_conf_path():
    return os.path.join(os.environ["FIABLE_TEST_PGBACKREST_CONFIG_PATH"], "conf.d", S3_CONF_NAME)


def add_s3_repository(relay):
    """repo2 on the test S3 server, with the settings docs/DEPLOIEMENT.md names for an S3 of
    the institution (path style, TLS verified, encrypted), under a prefix of its own."""
    settings = [
        "[global]",
        "repo2-type=s3",
        "repo2-path=/pitr-" + uuid.uuid4().hex[:12],
        "repo2-s3-endpoint=127.0.0.1:%d" % relay.port,
        "repo2-s3-bucket=" + os.environ["FIABLE_TEST_S3_BUCKET"],
        "repo2-s3-region=" + os.environ["FIABLE_TEST_S3_REGION"],
        "repo2-s3-uri-style=path",
        "repo2-s3-key=" + os.environ["FIABLE_TEST_S3_ACCESS_KEY_ID"],
        "repo2-s3-key-secret=" + os.environ["FIABLE_TEST_S3_SECRET_ACCESS_KEY"],
        "repo2-storage-verify-tls=y",
        "repo2-storage-ca-file=" + relay.cert,
        "repo2-cipher-type=aes-256-cbc",
        "repo2-cipher-pass=" + secrets.token_urlsafe(36),
        "repo2-retention-full=1",
        "repo2-bundle=y",
    ]
    path = s3_conf_path()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(settings) + "\n")
    if IS_ROOT:
        shutil.chown(path, "postgres", "postgres")


def remove_s3_repository():
    """Back to the folder alone: archive_command stops pushing to S3 at its next segment."""
    try:
        os.unlink(s3_conf_path())
    except FileNotFoundError:
        pass


def s3_accepted():
    """How many signed requests the test S3 server has accepted so far."""
    status, body = bh.s3_control("stats")
    if status != 200:
        raise AssertionError("GET /__fiable/stats: %d" % status)
    return int(json.loads(body)["accepted"])
