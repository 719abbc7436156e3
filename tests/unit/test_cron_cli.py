"""Every program of cron/ answers --help, --version and a wrong option the same way
(lib/cli.c), without a database, a configuration or a network.

Usage: test_cron_cli.py SOURCE_DIR CRON_BUILD_DIR VERSION. The programs are those of
SOURCE_DIR/cron/*.c (fiable-NAME for NAME.c): a new one is covered without editing this file.
"""
import os
import subprocess
import sys
import unittest

SOURCE_DIR, BUILD_DIR, VERSION = sys.argv[1:4]
USAGE = 64  # what the programs have always returned on bad usage (sysexits' EX_USAGE)
TIMEOUT = 60 * float(os.environ.get("FIABLE_TEST_SLOWDOWN", "1"))

# Options each program had before the shared parser: its help must still name them.
KNOWN_OPTIONS = {
    "audit-sealer": ["--watch", "--period-ms MILLISECONDES"],
    "backup-submissions": ["--verify-after"],
    "check-alerts": ["--dry-run", "--rules FICHIER"],
    "cleanup-old-backups": ["--dry-run"],
    "flags": ["--actor NOM"],
    "mail-outbox": ["--watch"],
    "reminders": ["--dry-run"],
    "restore-backup": ["--list", "--verify ID", "--apply ID|OBJET", "--email ADRESSE",
                       "--confirm", "--limit N"],
    "verify-audit": ["--manifest FICHIER"],
}


def programs():
    return sorted(f[:-2] for f in os.listdir(os.path.join(SOURCE_DIR, "cron"))
                  if f.endswith(".c"))


def run(name, *args):
    # Nothing of the stack: a database that cannot be reached, no secret. --help and
    # --version must not need them; a usage error is found before they are read.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "FIABLE_DATABASE_URL": "host=/nonexistent dbname=nothing connect_timeout=1",
           "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", ""),
           "UBSAN_OPTIONS": os.environ.get("UBSAN_OPTIONS", "")}
    return subprocess.run([os.path.join(BUILD_DIR, "fiable-" + name), *args], env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)


class CronCli(unittest.TestCase):

    def test_every_program_is_listed(self):
        self.assertEqual(sorted(programs()), sorted(KNOWN_OPTIONS),
                         "a program of cron/ without its options in KNOWN_OPTIONS")

    def test_help(self):
        for name in programs():
            for flag in ("--help", "-h"):
                with self.subTest(program=name, flag=flag):
                    proc = run(name, flag)
                    self.assertEqual(proc.returncode, 0, proc.stderr)
                    self.assertEqual(proc.stderr, "")
                    self.assertTrue(proc.stdout.startswith("fiable-%s — " % name),
                                    proc.stdout[:200])
                    self.assertIn("\nUsage :", proc.stdout)
                    self.assertIn("\nOptions :\n", proc.stdout)
                    for option in KNOWN_OPTIONS[name] + ["--help", "--version"]:
                        self.assertRegex(proc.stdout, r"\n  %s  +\S" % option.replace(
                            "|", r"\|"))
                    self.assertIn("Code de sortie", proc.stdout)
                    self.assertIn("%d usage" % USAGE, proc.stdout)
                    self.assertIn("\nVariables d'environnement :\n", proc.stdout)

    def test_version(self):
        for name in programs():
            with self.subTest(program=name):
                proc = run(name, "--version")
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assertEqual(proc.stdout, "fiable-%s (Fiable) %s\n" % (name, VERSION))
                self.assertEqual(proc.stderr, "")

    def test_unknown_option(self):
        for name in programs():
            for args, said in ((["--inconnu"], "argument inconnu : --inconnu"),
                               (["--inconnu=1"], "argument inconnu : --inconnu=1"),
                               (["-z"], "argument inconnu : -z"),
                               (["--help=oui"], "l'option --help ne prend pas de valeur")):
                with self.subTest(program=name, args=args):
                    proc = run(name, *args)
                    self.assertEqual(proc.returncode, USAGE, proc.stdout + proc.stderr)
                    self.assertEqual(proc.stdout, "")
                    self.assertEqual(proc.stderr, "fiable-%s : %s\nEssayez « fiable-%s "
                                     "--help » pour l'aide.\n" % (name, said, name))

    def test_abbreviation_is_not_a_name(self):
        # getopt_long alone would take --verify-a for --verify-after, --conf for --confirm.
        for name, args, word in (("backup-submissions", ["--verify-a"], "--verify-a"),
                                 ("cleanup-old-backups", ["--dry"], "--dry"),
                                 ("restore-backup", ["--apply", "1", "--conf"], "--conf"),
                                 ("check-alerts", ["--rul", "x"], "--rul")):
            with self.subTest(program=name, args=args):
                proc = run(name, *args)
                self.assertEqual(proc.returncode, USAGE, proc.stderr)
                self.assertIn("argument inconnu : %s\n" % word, proc.stderr)

    def test_missing_argument(self):
        for name, option, argname in (("check-alerts", "--rules", "FICHIER"),
                                      ("verify-audit", "--manifest", "FICHIER"),
                                      ("restore-backup", "--verify", "ID"),
                                      ("flags", "--actor", "NOM")):
            with self.subTest(program=name):
                proc = run(name, option)
                self.assertEqual(proc.returncode, USAGE, proc.stderr)
                self.assertIn("l'option %s demande une valeur (%s)" % (option, argname),
                              proc.stderr)

    def test_operands_refused_where_none_is_taken(self):
        for name in programs():
            if name == "flags":
                continue
            with self.subTest(program=name):
                proc = run(name, "quelque-chose")
                self.assertEqual(proc.returncode, USAGE, proc.stderr)
                self.assertIn("argument inconnu : quelque-chose", proc.stderr)


class JournalTest(unittest.TestCase):
    """lib/log.c under systemd: when stderr is the journal stream JOURNAL_STREAM names, each
    line starts with its syslog priority and carries no time (journald stamps it) and no pid
    when journald has it already (the parent is the manager: PID 1 or $MANAGERPID)."""

    def logged(self, journal=None, manager_pid=None, match="connexion à la base impossible"):
        """The log lines of fiable-check-alerts failing to reach the database (a warning of
        lib/db.c), with stderr a pipe; journal: "pipe" (JOURNAL_STREAM names the pipe),
        "other" (it names another file), None (not set)."""
        r, w = os.pipe()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
               "FIABLE_DATABASE_URL": "host=/nonexistent dbname=nothing connect_timeout=1",
               "FIABLE_SECRET": "0" * 64,
               "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", ""),
               "UBSAN_OPTIONS": os.environ.get("UBSAN_OPTIONS", "")}
        st = os.fstat(w) if journal == "pipe" else os.stat(os.devnull)
        if journal is not None:
            env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
        if manager_pid is not None:
            env["MANAGERPID"] = str(manager_pid)
        try:
            proc = subprocess.Popen([os.path.join(BUILD_DIR, "fiable-check-alerts"), "--rules",
                                     os.path.join(SOURCE_DIR, "cron", "alert-rules.json")],
                                    env=env, stdout=subprocess.DEVNULL, stderr=w)
        finally:
            os.close(w)
        with os.fdopen(r, encoding="utf-8", errors="replace") as f:
            err = f.read()
        proc.wait(timeout=TIMEOUT)
        lines = [ln for ln in err.splitlines() if match in ln]
        self.assertTrue(lines, err)
        return lines, proc.pid

    def test_priority_without_time_or_pid_in_the_journal(self):
        lines, _ = self.logged("pipe", manager_pid=os.getpid())
        for line in lines:
            self.assertRegex(line, r"^<4>fiable-check-alerts warn: db_[a-z_]+: ")

    def test_pid_kept_when_journald_has_another(self):
        lines, pid = self.logged("pipe")        # the parent is this test, not the manager
        for line in lines:
            self.assertTrue(line.startswith("<4>fiable-check-alerts[%d] warn: " % pid), line)

    def test_plain_lines_elsewhere(self):
        for journal in ("other", None):
            with self.subTest(journal=journal):
                lines, pid = self.logged(journal, manager_pid=os.getpid())
                for line in lines:
                    self.assertRegex(line, r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z "
                                     r"fiable-check-alerts\[%d\] warn: " % pid)

    REPORT = "fiable-check-alerts : base de données injoignable (FIABLE_DATABASE_URL)"

    def test_reports_carry_their_priority_in_the_journal(self):
        """A program's own report lines (log_report) too: journalctl -p err shows them."""
        lines, _ = self.logged("pipe", manager_pid=os.getpid(), match="injoignable")
        self.assertEqual(lines, ["<3>" + self.REPORT])

    def test_reports_as_written_elsewhere(self):
        for journal in ("other", None):
            with self.subTest(journal=journal):
                lines, _ = self.logged(journal, match="injoignable")
                self.assertEqual(lines, [self.REPORT])


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
