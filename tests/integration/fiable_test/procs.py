"""Processes: scripts/dev (services stopped and started, worker pids) and the environment of
a program run by hand."""

import os
import re
import subprocess

from .env import ceiling, require_dev

def dev(*args, timeout=120):
    require_dev()
    proc = subprocess.run([os.environ["FIABLE_TEST_DEV"]] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=ceiling(timeout))
    if proc.returncode != 0:
        raise AssertionError("`scripts/dev %s` failed (exit %d)\nstdout: %s\nstderr: %s"
                             % (" ".join(args), proc.returncode,
                                proc.stdout.decode("utf-8", "replace"),
                                proc.stderr.decode("utf-8", "replace")))
    return proc.stdout.decode("utf-8", "replace")


def worker_pids(family="submit"):
    out = dev("worker-pids", family, timeout=30)
    pids = []
    for line in out.splitlines():
        line = line.strip()
        if line:
            if not line.isdigit():
                raise AssertionError("`scripts/dev worker-pids %s` printed %r, not one pid a line"
                                     % (family, out))
            pids.append(int(line))
    return pids


def program_environment(settings, overrides):
    """The environment of a program run by hand: a bare PATH and locale, the instance's
    secret, the sanitizer options of the run, then settings, then overrides (a value of
    None removes a variable)."""
    with open(os.path.join(os.environ["FIABLE_VAR"], "secret"), encoding="ascii") as f:
        secret = f.read().strip()
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "FIABLE_SECRET": secret}
    for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    env.update(settings)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


_SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:")
