"""The stack the tests run against: found in the environment or in the file the ctest fixture
writes, and the waiting ceilings."""

import os
import urllib.parse

# The file `scripts/dev stack-up` (the ctest fixture stack.up) writes: one NAME=value line per
# variable, the value running to the end of the line. ctest names it in FIABLE_TEST_ENV_FILE.
ENV_FILE_NAME = "fiable-test.env"
_REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def env_file():
    """Where the description of the stack is: FIABLE_TEST_ENV_FILE, else
    FIABLE_TEST_BUILD/fiable-test.env, else build-test/fiable-test.env of the repository."""
    if os.environ.get("FIABLE_TEST_ENV_FILE"):
        return os.environ["FIABLE_TEST_ENV_FILE"]
    build = os.environ.get("FIABLE_TEST_BUILD") or os.path.join(_REPO, "build-test")
    return os.path.join(build, ENV_FILE_NAME)


def read_env_file(path):
    """{NAME: value} of an environment file (blank lines and # comments skipped)."""
    values = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            name, sep, value = line.partition("=")
            if not sep or not name.isidentifier():
                raise AssertionError("%s: not a NAME=value line: %r" % (path, line))
            values[name] = value
    return values


def load_stack_env(environ=None):
    """Fills environ (os.environ by default) from the fixture's file unless FIABLE_TEST_BASE_URL
    is already there. The file describes one stack as a whole, so its values replace those of
    the caller (a FIABLE_VAR exported for `scripts/dev up` must not leak into a test run).
    Returns the path read, or None."""
    environ = os.environ if environ is None else environ
    if environ.get("FIABLE_TEST_BASE_URL"):
        return None
    path = env_file()
    if not os.path.isfile(path):
        return None
    environ.update(read_env_file(path))
    return path


load_stack_env()


def _slowdown():
    value = os.environ.get("FIABLE_TEST_SLOWDOWN", "1") or "1"
    try:
        factor = float(value)
    except ValueError:
        raise AssertionError("FIABLE_TEST_SLOWDOWN must be a number, not %r" % value)
    if not factor >= 1:
        raise AssertionError("FIABLE_TEST_SLOWDOWN must be at least 1, not %r" % value)
    return factor


SLOWDOWN = _slowdown()


def ceiling(seconds):
    """The limit of a wait of `seconds` on a quiet machine, scaled by FIABLE_TEST_SLOWDOWN."""
    return seconds * SLOWDOWN


_ENV_HELP = ("FIABLE_TEST_BASE_URL is not set and %s does not exist: these tests need the "
             "test stack. Run them with `scripts/dev test` (for example `scripts/dev test -R "
             "submit`), or with ctest in the test build (`cd build-test && ctest -R submit`): "
             "ctest starts nginx, the FastCGI programs and PostgreSQL (fixture stack.up) and "
             "describes them in that file." % env_file())


class EnvironmentMissing(AssertionError):
    """Raised when the test stack is not described by the environment."""


def require_env():
    """Fails (never skips) when the tests were not started by `scripts/dev test`."""
    if not os.environ.get("FIABLE_TEST_BASE_URL"):
        raise EnvironmentMissing(_ENV_HELP)
    if not os.environ.get("FIABLE_TEST_PG"):
        raise EnvironmentMissing("FIABLE_TEST_PG is not set. " + _ENV_HELP)


def require_dev():
    require_env()
    if not os.environ.get("FIABLE_TEST_DEV"):
        raise EnvironmentMissing("FIABLE_TEST_DEV is not set. " + _ENV_HELP)


def base_url():
    require_env()
    return os.environ["FIABLE_TEST_BASE_URL"].rstrip("/")


def _split_base():
    parts = urllib.parse.urlsplit(base_url())
    if parts.scheme != "http" or not parts.hostname:
        raise EnvironmentMissing("FIABLE_TEST_BASE_URL must look like http://HOST:PORT, not %r"
                                 % base_url())
    return parts.hostname, parts.port or 80, parts.netloc


def own_origin():
    """The origin of the site itself, as a browser on the form page would send it."""
    _, _, netloc = _split_base()
    return "http://" + netloc
