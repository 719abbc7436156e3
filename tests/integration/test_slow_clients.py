#!/usr/bin/env python3
"""Slow clients: nginx cuts a client whose headers never end at
client_header_timeout (a total for the headers, however slowly the bytes come) and one whose
body stalls at client_body_timeout, while other clients are served meanwhile; a client that
trickles its body (a byte within each timeout: never cut by it) holds no more than
`limit_conn` connections of its address. Refusals by limit_conn or limit_req are not logged
at error level.

The test configuration shortens the two timeouts (scripts/dev, NGINX_TEST_SETTINGS); the
values are read from the configuration nginx runs with. 127.0.0.1 is exempt from the limits
by address: the slow clients come from other loopback addresses."""

import os
import re
import select
import socket
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fiable_test as ft  # noqa: E402

HEADER_SOURCE = "127.0.0.245"
BODY_SOURCE = "127.0.0.246"
CONN_SOURCE = "127.0.0.247"
OTHER_SOURCE = ("127.0.0.248", 0)
# How late after its timeout nginx may cut (its timers are exact; this is the machine, and
# this test's own loop: scaled by FIABLE_TEST_SLOWDOWN on a loaded one).
MARGIN_S = ft.ceiling(3.0)
# How long another client may wait meanwhile (it is never queued behind the slow one).
OTHER_S = ft.ceiling(5.0)


def setUpModule():
    ft.require_env()
    if not os.environ.get("FIABLE_VAR"):
        raise ft.EnvironmentMissing("FIABLE_VAR is not set: run the tests with `scripts/dev test`")


def nginx_conf():
    with open(os.path.join(os.environ["FIABLE_VAR"], "nginx", "nginx.conf"),
              encoding="utf-8") as f:
        return f.read()


def directive(pattern):
    """The one integer captured by pattern in the running configuration."""
    found = re.findall(pattern, nginx_conf(), re.M)
    if len(found) != 1:
        raise AssertionError("%r found %d times in nginx.conf" % (pattern, len(found)))
    return int(found[0])


def seconds(name):
    return directive(r"^\s*%s (\d+)s;" % name)


def error_log_size():
    return os.path.getsize(os.path.join(os.environ["FIABLE_VAR"], "log", "nginx-error.log"))


def error_log_since(offset):
    with open(os.path.join(os.environ["FIABLE_VAR"], "log", "nginx-error.log"), "rb") as f:
        f.seek(offset)
        return f.read().decode("utf-8", "replace")


def connect(source):
    host, port, _ = ft._split_base()
    s = socket.create_connection((host, port), timeout=30, source_address=(source, 0))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def closed_by_server(s):
    """True once the server closed (FIN or RST) or answered; never blocks."""
    readable, _, _ = select.select([s], [], [], 0)
    if not readable:
        return False
    try:
        s.recv(65536)
    except (ConnectionResetError, BrokenPipeError):
        pass
    return True


def request_head(method, path, extra=""):
    host, port, netloc = ft._split_base()
    return ("%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: fiable-itest-lent\r\n%s\r\n"
            % (method, path, netloc, extra)).encode("ascii")


class SlowClientTest(ft.FiableTestCase):

    def cut_while_others_are_served(self, s, feed, timeout, start):
        """Feeds s (feed() sends the next slice, or nothing) every 0.2 s until the server cuts
        it; serves a normal request from another address meanwhile. Returns the time the cut
        was seen, relative to start."""
        served = []
        deadline = start + timeout + MARGIN_S + 10   # a ceiling; the assertion is below
        while time.monotonic() < deadline:
            try:
                feed()
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - start, served
            if closed_by_server(s):
                return time.monotonic() - start, served
            if len(served) < 3:
                t0 = time.monotonic()
                resp = ft.get(ft.HEALTH, source_address=OTHER_SOURCE)
                served.append((resp.status, time.monotonic() - t0))
            select.select([s], [], [], 0.2)
        self.fail("the slow connection was still open %.0f s after its %d s timeout"
                  % (deadline - start - timeout, timeout))

    def assertCutInTime(self, elapsed, served, timeout, what):
        self.assertGreaterEqual(elapsed, timeout * 0.8,
                                "%s cut after %.2f s, before its %d s timeout" % (what, elapsed,
                                                                                 timeout))
        self.assertLessEqual(elapsed, timeout + MARGIN_S,
                             "%s cut only after %.2f s (timeout %d s)" % (what, elapsed, timeout))
        self.assertTrue(served, "no other request was made while the slow one was open")
        for status, took in served:
            self.assertEqual(status, 200, served)
            self.assertLess(took, OTHER_S, "another client waited %.1f s behind the slow one" % took)

    def test_headers_sent_byte_by_byte_are_cut_at_the_header_timeout(self):
        timeout = seconds("client_header_timeout")
        head = request_head("GET", ft.HEALTH, "X-Lent: " + "a" * 2000)  # never ends
        s = connect(HEADER_SOURCE)
        self.addCleanup(s.close)
        start = time.monotonic()
        sent = [0]

        def one_byte():
            s.send(head[sent[0]:sent[0] + 1])
            sent[0] += 1
        elapsed, served = self.cut_while_others_are_served(s, one_byte, timeout, start)
        self.assertCutInTime(elapsed, served, timeout, "headers trickled byte by byte")
        self.assertGreater(sent[0], 5, "the bytes were not trickled")

    def test_stalled_body_is_cut_at_the_body_timeout(self):
        timeout = seconds("client_body_timeout")
        s = connect(BODY_SOURCE)
        self.addCleanup(s.close)
        s.sendall(request_head("POST", ft.SUBMIT, "Content-Type: application/json\r\n"
                               "Content-Length: 1000\r\n") + b'{"email":')
        start = time.monotonic()
        elapsed, served = self.cut_while_others_are_served(s, lambda: None, timeout, start)
        self.assertCutInTime(elapsed, served, timeout, "a stalled body")

    def test_trickled_bodies_hold_at_most_limit_conn_connections(self):
        limit = directive(r"^\s*limit_conn connexions (\d+);")
        body_timeout = seconds("client_body_timeout")
        log_offset = error_log_size()
        held = []

        def hold():
            s = connect(CONN_SOURCE)
            held.append(s)
            s.sendall(request_head("POST", ft.SUBMIT, "Content-Type: application/json\r\n"
                                   "Content-Length: 100000\r\n") + b"{")

        def trickle():
            # A byte to each still waiting, well within the body timeout: none of them is
            # ever cut by it.
            for s in held:
                if s not in answers:
                    s.send(b" ")

        answers = {}

        def read_answers():
            for s in held:
                if s not in answers and select.select([s], [], [], 0)[0]:
                    try:
                        answers[s] = s.recv(65536)
                    except (ConnectionResetError, BrokenPipeError):
                        answers[s] = b""
            return answers

        try:
            # One more than the limit: nginx counts each as it reads its headers, in whatever
            # order they come, and refuses the one that finds `limit` already in progress.
            for _ in range(limit + 1):
                hold()
            last = time.monotonic()
            deadline = last + 20
            while not read_answers() and time.monotonic() < deadline:
                if time.monotonic() - last > body_timeout / 3:
                    trickle()
                    last = time.monotonic()
                select.select(held, [], [], 0.1)
            self.assertEqual(len(answers), 1, "%d connections of one address trickling a body, "
                             "%d answered: %r" % (limit + 1, len(answers),
                                                 [a[:40] for a in answers.values()]))
            refused, refusal = list(answers.items())[0]
            refused.settimeout(10)
            while b"}" not in refusal:     # the rest of the answer, if it came in two parts
                more = refused.recv(65536)
                if not more:
                    break
                refusal += more
            self.assertTrue(refusal.startswith(b"HTTP/1.1 429 "), refusal[:300])
            self.assertIn(b'"code":"rate_limited"', refusal)
            # While `limit` of them are in progress, the address gets nothing more; everyone
            # else is served meanwhile.
            trickle()
            self.assertProblem(ft.get(ft.HEALTH, source_address=(CONN_SOURCE, 0)), 429,
                               "rate_limited")
            self.assertStatus(ft.get(ft.HEALTH, source_address=OTHER_SOURCE), 200)
            self.assertStatus(ft.get(ft.HEALTH), 200)
            trickle()
            self.assertEqual(len(read_answers()), 1, "a trickling connection was cut")
        finally:
            for s in held:
                s.close()
        # The address is served again once its connections are gone.
        self.wait_for(lambda: ft.get(ft.HEALTH, source_address=(CONN_SOURCE, 0)).status == 200,
                      15, "the address stayed refused after closing its connections")
        log = error_log_since(log_offset)
        self.assertNotRegex(log, r"\[error\][^\n]*limiting connections", log[-2000:])


if __name__ == "__main__":
    unittest.main(verbosity=2)
