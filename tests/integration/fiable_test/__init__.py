"""Shared helpers of the integration tests (standard library only), one module per concern:
env (where the stack is, waiting ceilings), web (HTTP and the endpoints), db (psql and stored
rows), mail (test SMTP server, outbox), procs (scripts/dev, programs run by hand), cases
(assertions). Everything is re-exported here: `import fiable_test as ft` and
`from fiable_test import sql` keep working.

The tests talk to a running stack (nginx in front of the FastCGI programs, PostgreSQL 15)
that the ctest fixture stack.up starts (`scripts/dev stack-up`) and describes in one file,
FIABLE_TEST_ENV_FILE (build-test/fiable-test.env), read into os.environ on import (env.py)
unless FIABLE_TEST_BASE_URL is already set. Its variables, among others:

  FIABLE_TEST_BASE_URL  e.g. http://127.0.0.1:18080
  FIABLE_TEST_PG        libpq conninfo of the superuser `postgres` on the test database
  FIABLE_TEST_DEV       path of scripts/dev (db-stop, db-start, db-restart, worker-pids,
                        smtp-stop, smtp-start)
  FIABLE_TEST_APP_PG    libpq conninfo of the application role fiable_app
  FIABLE_TEST_MAILBOX   maildir where the test SMTP server (aiosmtpd) stores what it receives
  FIABLE_TEST_SMTP_PORT port of that server on 127.0.0.1
  FIABLE_TEST_MAIL_OUTBOX  path of the cron program fiable-mail-outbox
  FIABLE_VAR            the test environment's state directory (holds the secret)
  FIABLE_TEST_SLOWDOWN  factor (default 1) applied to every waiting ceiling, for a loaded
                        machine: a wait ends as soon as its event happens, so raising it
                        makes a red run green, never a green run slower

Waiting: a test waits for a definite event (a row reaching a final state, a message with a
given subject, the server answering) with `ceiling(seconds)` as its limit, never for a fixed
time. A test that proves something does NOT happen first waits for what does happen.

Without FIABLE_TEST_BASE_URL and without that file every test file fails (it never skips):
run `scripts/dev test`, or ctest in the test build.
"""

# env first: it reads the fixture's file into os.environ before anything looks at it.
from .env import *  # noqa: F401,F403
from .env import _ENV_HELP, _split_base  # noqa: F401
from .db import *  # noqa: F401,F403
from .db import _NULL, _psql  # noqa: F401
from .web import *  # noqa: F401,F403
from .web import _DEFAULT  # noqa: F401
from .procs import *  # noqa: F401,F403
from .procs import _SANITIZER  # noqa: F401
from .mail import *  # noqa: F401,F403
from .mail import _mail_files, _recipients  # noqa: F401
from .cases import *  # noqa: F401,F403
