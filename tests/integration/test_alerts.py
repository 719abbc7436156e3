#!/usr/bin/env python3
"""cron/fiable-check-alerts against a real SMTP server (aiosmtpd, started by `scripts/dev
test`): a burst of failures fires exactly one alert mail, the rule then stays quiet while it
keeps firing, and the recovery sends exactly one "resolved" mail; a mail that could not be
sent is sent on the next run; --dry-run changes nothing; the states and events reach
GET /api/admin/metrics.

The failure rate is global, so the tests do not rely on the traffic of the other tests: they
add rows to request_metrics (on their own endpoint, removed afterwards) sized from what the
window already holds, to push the rate well above 5 %; the recovery removes those failures
(as time would) and adds successes. The rule on refused administration logins is driven the
same way, with 401 rows of their pseudo-endpoint."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fiable_test as ft  # noqa: E402
from fiable_test import dev, sql, sql_int  # noqa: E402

ENDPOINT = "/api/itest-alertes"
RULE = "taux_echec"
FIRING_SUBJECT = "[Fiable] ALERTE : Taux d'échec élevé"
RESOLVED_SUBJECT = "[Fiable] Résolu : Taux d'échec élevé"
WINDOW = "15 minutes"   # the window of the default rule
AUTH_RULE = "authentification_admin"
AUTH_ENDPOINT = "/admin/authentification"   # METRICS_ADMIN_AUTH_ENDPOINT (lib/metrics.h)
AUTH_TITLE = "Rafale de mots de passe d'administration refusés"


def setUpModule():
    ft.require_dev()
    for name in ("FIABLE_TEST_CHECK_ALERTS", "FIABLE_TEST_ALERT_RULES", "FIABLE_TEST_SPOOL_DIR",
                 "FIABLE_TEST_SMTP_PORT", "FIABLE_TEST_APP_PG"):
        if not os.environ.get(name):
            raise ft.EnvironmentMissing("%s is not set: run the tests with `scripts/dev test`"
                                        % name)


def check_alerts(address, *args, rules=None, **env):
    """Runs fiable-check-alerts once with the workers' environment and ALERT_EMAIL=address."""
    environment = ft.outbox_environment(
        ALERT_EMAIL=address,
        FIABLE_ALERT_RULES=rules or os.environ["FIABLE_TEST_ALERT_RULES"],
        FIABLE_SPOOL_DIR=os.environ["FIABLE_TEST_SPOOL_DIR"], **env)
    proc = subprocess.run([os.environ["FIABLE_TEST_CHECK_ALERTS"]] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment,
                          timeout=ft.ceiling(120))
    proc.stdout = proc.stdout.decode("utf-8", "replace")
    proc.stderr = proc.stderr.decode("utf-8", "replace")
    if ft._SANITIZER.search(proc.stderr):
        raise AssertionError("sanitizer report from fiable-check-alerts:\n" + proc.stderr)
    return proc


def add_requests(count, status):
    """count rows of ENDPOINT with this status, dated now (duration 1 ms)."""
    sql("INSERT INTO request_metrics (endpoint, method, status, duration_us) "
        "SELECT :'p1', 'POST', :'p2'::smallint, 1000 FROM generate_series(1, :'p3'::integer)",
        ENDPOINT, status, count)


def window_counts():
    row = sql("SELECT count(*), count(*) FILTER (WHERE status >= 500) FROM request_metrics "
              "WHERE created_at > now() - :'p1'::interval", WINDOW)[0]
    return int(row[0]), int(row[1])


def make_healthy():
    """The failures of the burst leave the window (as if time had passed) and enough
    successes come that the failure rate of the window is far below 5 %."""
    sql("DELETE FROM request_metrics WHERE endpoint = :'p1' AND status >= 500", ENDPOINT)
    _, failures = window_counts()
    add_requests(30 * failures + 100, 200)


def add_refused_logins(count):
    """count refused administration logins, dated now."""
    sql("INSERT INTO request_metrics (endpoint, method, status, duration_us) "
        "SELECT :'p1', 'GET', 401, 1000 FROM generate_series(1, :'p2'::integer)",
        AUTH_ENDPOINT, count)


def clear_refused_logins():
    """The refused logins of the last hour leave the window (as time would; other tests make
    real ones); the hours they were in are aggregated again."""
    sql("WITH gone AS (DELETE FROM request_metrics WHERE endpoint = :'p1' "
        "  AND created_at > now() - interval '1 hour' RETURNING date_trunc('hour', created_at) AS h),"
        " b AS (SELECT DISTINCT h FROM gone),"
        " d1 AS (DELETE FROM request_metrics_hours_done WHERE bucket IN (SELECT h FROM b)),"
        " d2 AS (DELETE FROM request_metrics_hourly WHERE bucket IN (SELECT h FROM b)),"
        " d3 AS (DELETE FROM request_metrics_hourly_errors WHERE bucket IN (SELECT h FROM b))"
        " DELETE FROM request_metrics_hourly_hist WHERE bucket IN (SELECT h FROM b)",
        AUTH_ENDPOINT)


def shipped_rule(name):
    with open(os.environ["FIABLE_TEST_ALERT_RULES"], encoding="utf-8") as f:
        rules = {r["nom"]: r for r in json.load(f)["regles"]}
    return rules[name]


def make_failing():
    """Enough failures that the failure rate of the window is far above 5 %."""
    total, _ = window_counts()
    add_requests(total + 100, 503)


def subjects(mails):
    return [str(m["Subject"]) for m in mails]


class AlertTest(ft.FiableTestCase):

    def setUp(self):
        dev("smtp-start")
        self.addCleanup(sql, "DELETE FROM request_metrics WHERE endpoint = :'p1'", ENDPOINT)
        self.address = "alertes-%s@example.org" % uuid.uuid4().hex
        # Start from a rule that is not firing (an earlier test may have left it firing).
        make_healthy()
        settle = check_alerts(self.address)
        self.assertIn(settle.returncode, (0, 3), settle.stderr)
        self.assertEqual(self.state(RULE), "f", "the rule should be normal before the burst")

    def state(self, rule):
        rows = sql("SELECT firing FROM alert_states WHERE rule = :'p1'", rule)
        return rows[0][0] if rows else None

    def mails_about_the_rule(self, since, count=1, timeout=10.0):
        mails = ft.wait_for_mail(self.address, timeout=timeout, since=since, count=count)
        return [m for m in mails if "Taux d'échec élevé" in str(m["Subject"])]

    def mails_about_the_rule_so_far(self, since):
        """What has arrived, without waiting: fiable-check-alerts sends its mails itself
        (not through the outbox) and has exited, and the test SMTP server stores a message
        before it accepts it, so every mail of the runs so far is already in the maildir."""
        return [m for m in ft.mails_to(self.address, since)
                if "Taux d'échec élevé" in str(m["Subject"])]

    def test_burst_fires_one_mail_then_one_resolved_mail(self):
        since = time.time()
        make_failing()
        run = check_alerts(self.address)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(self.state(RULE), "t")
        mails = self.mails_about_the_rule(since)
        self.assertEqual(subjects(mails), [FIRING_SUBJECT])
        text = ft.mail_text(mails[0])
        self.assertIn("Taux d'échec élevé", text)
        self.assertIn("Seuil : > 5 %", text)
        self.assertIn("/admin/metrics", text)
        event = sql("SELECT kind, mail_status FROM alert_events WHERE rule = :'p1' "
                    "ORDER BY id DESC LIMIT 1", RULE)[0]
        self.assertEqual(event, ["firing", "sent"])

        # Still failing on the next runs: no other mail.
        for _ in range(2):
            again = check_alerts(self.address)
            self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(self.state(RULE), "t")
        self.assertEqual(subjects(self.mails_about_the_rule_so_far(since)),
                         [FIRING_SUBJECT], "the rule mailed again while still firing")

        # Recovery: exactly one resolved mail.
        make_healthy()
        recovered = check_alerts(self.address)
        self.assertEqual(recovered.returncode, 0, recovered.stderr)
        self.assertEqual(self.state(RULE), "f")
        mails = self.mails_about_the_rule(since, count=2)
        self.assertEqual(subjects(mails), [FIRING_SUBJECT, RESOLVED_SUBJECT])
        self.assertIn("résolue", ft.mail_text(mails[1]))
        quiet = check_alerts(self.address)
        self.assertEqual(quiet.returncode, 0, quiet.stderr)
        self.assertEqual(len(self.mails_about_the_rule_so_far(since)), 2)

        # The administration sees the state and both events.
        metrics = ft.get("/api/admin/metrics", headers={
            "Authorization": ft.basic_auth("admin", ft.admin_password())})
        self.assertStatus(metrics, 200)
        alertes = metrics.json()["alertes"]
        states = {a["regle"]: a for a in alertes["etats"]}
        self.assertIn(RULE, states)
        self.assertFalse(states[RULE]["declenchee"])
        kinds = [e["type"] for e in alertes["evenements"] if e["regle"] == RULE][:2]
        self.assertEqual(kinds, ["resolved", "firing"])

    def test_burst_of_refused_admin_logins_fires_one_mail_then_one_resolved(self):
        rule = shipped_rule(AUTH_RULE)
        self.assertEqual((rule["indicateur"], rule["comparaison"]),
                         ("echecs_authentification_admin", ">"))
        threshold = int(rule["seuil"])
        self.addCleanup(clear_refused_logins)
        clear_refused_logins()
        # Settle: an earlier burst (test_admin_auth) may have left the rule firing; its
        # "resolved" mail goes to this address, the rest of the test uses another.
        self.assertIn(check_alerts(self.address).returncode, (0, 3))
        self.assertEqual(self.state(AUTH_RULE), "f")
        address = "alertes-%s@example.org" % uuid.uuid4().hex

        def about_logins(count, timeout):
            mails = ft.wait_for_mail(address, timeout=timeout, count=count)
            return [m for m in mails if AUTH_TITLE in str(m["Subject"])]

        # At the threshold: quiet (the rule is "more than").
        add_refused_logins(threshold)
        self.assertEqual(check_alerts(address).returncode, 0)
        self.assertEqual(self.state(AUTH_RULE), "f")
        self.assertEqual(about_logins(1, 1), [])

        add_refused_logins(1)
        self.assertEqual(check_alerts(address).returncode, 0)
        self.assertEqual(self.state(AUTH_RULE), "t")
        mails = about_logins(1, 10)
        self.assertEqual(subjects(mails), ["[Fiable] ALERTE : " + AUTH_TITLE])
        self.assertIn("Seuil : > %d refus" % threshold, ft.mail_text(mails[0]))
        self.assertEqual(sql("SELECT value FROM alert_states WHERE rule = :'p1'", AUTH_RULE),
                         [[str(threshold + 1)]])

        # Still firing: no other mail. Then the burst leaves the window: one resolved mail.
        self.assertEqual(check_alerts(address).returncode, 0)
        self.assertEqual(len(about_logins(2, 2)), 1, "the rule mailed again while still firing")
        clear_refused_logins()
        self.assertEqual(check_alerts(address).returncode, 0)
        self.assertEqual(self.state(AUTH_RULE), "f")
        self.assertEqual(subjects(about_logins(2, 10)), ["[Fiable] ALERTE : " + AUTH_TITLE,
                                                         "[Fiable] Résolu : " + AUTH_TITLE])

    def test_a_rule_under_its_minimum_of_requests_stays_quiet(self):
        with open(os.environ["FIABLE_TEST_ALERT_RULES"], encoding="utf-8") as f:
            rules = json.load(f)
        rules["regles"].append({
            "nom": "itest_peu_de_requetes", "titre": "Règle de test jamais assez de requêtes",
            "indicateur": "taux_echec", "comparaison": ">", "seuil": 5, "unite": "%",
            "fenetre_minutes": 15, "requetes_min": 1000000000})
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(rules, f, ensure_ascii=False)
        self.addCleanup(os.unlink, f.name)
        self.addCleanup(sql, "DELETE FROM alert_states WHERE rule = 'itest_peu_de_requetes'")
        make_failing()
        run = check_alerts(self.address, rules=f.name)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(self.state(RULE), "t")
        self.assertEqual(self.state("itest_peu_de_requetes"), "f")
        make_healthy()
        self.assertEqual(check_alerts(self.address, rules=f.name).returncode, 0)

    def test_dry_run_changes_nothing(self):
        since = time.time()
        make_failing()
        events = sql_int("SELECT count(*) FROM alert_events")
        run = check_alerts(self.address, "--dry-run")
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("DÉCLENCHÉE", run.stdout)
        self.assertIn("enverrait à %s : %s" % (self.address, FIRING_SUBJECT), run.stdout)
        self.assertEqual(self.state(RULE), "f", "--dry-run changed the state")
        self.assertEqual(sql_int("SELECT count(*) FROM alert_events"), events)
        self.assertEqual(self.mails_about_the_rule_so_far(since), [])
        make_healthy()

    def test_mail_retried_when_the_smtp_server_was_down(self):
        since = time.time()
        make_failing()
        dev("smtp-stop")
        self.addCleanup(dev, "smtp-start")
        down = check_alerts(self.address)
        self.assertEqual(down.returncode, 3, down.stdout + down.stderr)
        self.assertEqual(self.state(RULE), "t")
        event = sql("SELECT mail_status, mail_attempts FROM alert_events WHERE rule = :'p1' "
                    "ORDER BY id DESC LIMIT 1", RULE)[0]
        self.assertEqual(event, ["pending", "1"])
        dev("smtp-start")
        up = check_alerts(self.address)
        self.assertEqual(up.returncode, 0, up.stderr)
        self.assertEqual(subjects(self.mails_about_the_rule(since)), [FIRING_SUBJECT])
        make_healthy()
        self.assertEqual(check_alerts(self.address).returncode, 0)
        self.assertEqual(subjects(self.mails_about_the_rule(since, count=2)),
                         [FIRING_SUBJECT, RESOLVED_SUBJECT])

    def test_backup_rule_follows_backup_metadata(self):
        run = check_alerts(self.address)
        self.assertIn(run.returncode, (0, 3), run.stderr)
        recent = sql_int("SELECT count(*) FROM backup_metadata WHERE status = 'success' "
                         "AND deleted_at IS NULL AND finished_at > now() - interval '26 hours'")
        self.assertEqual(self.state("sauvegarde"), "f" if recent else "t")

    def test_bad_rules_file_is_refused(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({"regles": [{"nom": "Mauvais Nom", "titre": "x", "indicateur": "x",
                                   "comparaison": ">", "seuil": 1, "fenetre_minutes": 5}]}, f)
        self.addCleanup(os.unlink, f.name)
        run = check_alerts(self.address, rules=f.name)
        self.assertEqual(run.returncode, 1)
        self.assertIn("nom", run.stderr)


CAMPAIGN_RULE = "campagne_taux_reponse"
PROMETHEUS_RULES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "cron",
                                "prometheus-rules.example.yml")


def campaign_with_rate(prefix, closes_in, participants, answered, withdrawn=0):
    """A campaign open now, closing in closes_in (an interval), with its participants of
    whom `answered` have an active answer and `withdrawn` only a withdrawn one. Its slug."""
    slug = "%s-%s" % (prefix, uuid.uuid4().hex[:8])
    cid = sql("INSERT INTO campagnes (slug, titre, etat, fermeture) VALUES (:'p1', :'p2', "
              "'ouverte', now() + :'p3'::interval) RETURNING id", slug, "Taux %s" % slug,
              closes_in)[0][0]
    sql("INSERT INTO creneaux (id, campagne_id, starts_at, ends_at, label) VALUES (:'p1', "
        ":'p2'::bigint, now() + interval '30 days', now() + interval '30 days 1 hour', 'Matin')",
        slug + "-0", cid)
    sql("INSERT INTO participants (campagne_id, email, nom) SELECT :'p1'::bigint, "
        "'p' || i || '@' || :'p2' || '.example.org', 'Personne ' || i "
        "FROM generate_series(1, :'p3'::integer) AS i", cid, slug, participants)
    # Answers written as the e-mail was typed (another case): the view ignores the case.
    sql("INSERT INTO soumissions_disponibilites (email, nom, creneaux, campagne_id, "
        "edit_token_hash, deleted_at) SELECT 'P' || i || '@' || :'p2' || '.example.org', "
        "'Personne ' || i, jsonb_build_array(:'p2' || '-0'), :'p1'::bigint, "
        "sha256(convert_to(gen_random_uuid()::text, 'UTF8')), "
        "CASE WHEN i > :'p3'::integer THEN now() END "
        "FROM generate_series(1, :'p3'::integer + :'p4'::integer) AS i",
        cid, slug, answered, withdrawn)
    return slug


class CampaignResponseRateTest(ft.FiableTestCase):
    """The response rate of each campaign with participants (who answered: the view
    participants_reponses) on GET /api/admin/metrics, in the Prometheus text, and the rule
    that fires when an open campaign closes within 24 hours under 80 % of answers."""

    def setUp(self):
        dev("smtp-start")
        self.admin = {"Authorization": ft.basic_auth("admin", ft.admin_password())}
        # soon_low: 10 h, 5 of 10 answered (one more withdrew); soon_high: 10 h, 9 of 10;
        # later_low: 3 days, 5 of 10.
        self.soon_low = campaign_with_rate("taux-bas", "10 hours", 10, 5, withdrawn=1)
        self.soon_high = campaign_with_rate("taux-haut", "10 hours", 10, 9)
        self.later_low = campaign_with_rate("taux-tard", "3 days", 10, 5)
        self.addCleanup(sql, "UPDATE campagnes SET etat = 'archivee' WHERE slug IN "
                        "(:'p1', :'p2', :'p3')", self.soon_low, self.soon_high, self.later_low)

    def campaigns(self):
        resp = ft.get("/api/admin/metrics", headers=self.admin)
        self.assertStatus(resp, 200)
        return {c["slug"]: c for c in resp.json()["campagnes"]}

    def test_rate_on_the_metrics_page_and_in_prometheus(self):
        c = self.campaigns()
        low = c[self.soon_low]
        self.assertEqual((low["participants"], low["repondu"], low["retire"],
                          low["sans_reponse"], low["phase"]), (10, 5, 1, 4, "ouverte"))
        self.assertEqual(low["taux_reponse"], 50)
        self.assertTrue(9 < low["heures_avant_fermeture"] <= 10, low)
        self.assertEqual(c[self.soon_high]["taux_reponse"], 90)
        self.assertTrue(71 < c[self.later_low]["heures_avant_fermeture"] <= 72)
        resp = ft.get("/api/admin/metrics/prometheus", headers=self.admin)
        self.assertStatus(resp, 200)
        text = resp.body.decode("utf-8")
        self.assertIn("# TYPE fiable_campagne_taux_reponse gauge", text)
        self.assertIn("# TYPE fiable_campagne_participants gauge", text)
        self.assertRegex(text, r'(?m)^fiable_campagne_taux_reponse\{campagne="%s"\} 0\.5$'
                         % self.soon_low)
        self.assertRegex(text, r'(?m)^fiable_campagne_taux_reponse\{campagne="%s"\} 0\.9$'
                         % self.soon_high)
        for state, n in (("repondu", 5), ("sans_reponse", 4), ("retire", 1)):
            self.assertRegex(text, r'(?m)^fiable_campagne_participants\{campagne="%s",'
                             r'reponse="%s"\} %d$' % (self.soon_low, state, n))
        self.assertRegex(text, r'(?m)^fiable_campagne_fermeture_secondes\{campagne="%s"\} '
                         r'3[0-9]{4}(\.[0-9]+)?$' % self.soon_low)
        # An archived campaign leaves the metrics.
        sql("UPDATE campagnes SET etat = 'archivee' WHERE slug = :'p1'", self.later_low)
        self.assertNotIn(self.later_low, self.campaigns())
        # The exposition and the example alerting rules as Prometheus's own tool reads them
        # (the Debian package prometheus brings promtool).
        promtool = shutil.which("promtool")
        if promtool is None:
            self.skipTest("promtool absent (apt-get install prometheus) : exposition et "
                          "règles non vérifiées par Prometheus")
        lint = subprocess.run([promtool, "check", "metrics"], input=resp.body,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=ft.ceiling(30))
        self.assertEqual(lint.returncode, 0, lint.stdout.decode("utf-8", "replace"))
        rules = subprocess.run([promtool, "check", "rules", PROMETHEUS_RULES],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=ft.ceiling(30))
        self.assertEqual(rules.returncode, 0, rules.stdout.decode("utf-8", "replace"))
        with open(PROMETHEUS_RULES, encoding="utf-8") as f:
            self.assertIn("FiableCampagneTauxReponseBas", f.read())

    def test_alert_names_the_campaign_closing_soon_under_the_rate(self):
        rule = shipped_rule(CAMPAIGN_RULE)
        self.assertEqual((rule["source"], rule["indicateur"], rule["comparaison"],
                          rule["seuil"], rule["fermeture_heures"]),
                         ("campagnes", "taux_reponse", "<", 80, 24))
        # The shipped rule under a name of this test's own: its state starts unknown, whatever
        # the campaigns of other tests left.
        rule["nom"] = "itest_taux_%s" % uuid.uuid4().hex[:8]
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({"regles": [rule]}, f, ensure_ascii=False)
        self.addCleanup(os.unlink, f.name)
        self.addCleanup(sql, "DELETE FROM alert_states WHERE rule = :'p1'", rule["nom"])
        address = "alertes-%s@example.org" % uuid.uuid4().hex
        since = time.time()

        dry = check_alerts(address, "--dry-run", rules=f.name)
        self.assertEqual(dry.returncode, 0, dry.stderr)
        named = [ln for ln in dry.stdout.splitlines() if ln.strip().startswith("campagne(s) :")]
        self.assertEqual(len(named), 1, dry.stdout)
        self.assertIn("« Taux %s » (%s) : 50 %%" % (self.soon_low, self.soon_low), named[0])
        self.assertNotIn(self.soon_high, named[0])
        self.assertNotIn(self.later_low, named[0])

        run = check_alerts(address, rules=f.name)
        self.assertEqual(run.returncode, 0, run.stderr)
        mails = ft.wait_for_mail(address, timeout=10, since=since)
        self.assertEqual(subjects(mails), ["[Fiable] ALERTE : " + rule["titre"]])
        text = ft.mail_text(mails[0])
        self.assertIn("« Taux %s » (%s) : 50 %%" % (self.soon_low, self.soon_low), text)
        self.assertIn("Seuil : < 80 %", text)
        self.assertNotIn(self.soon_high, text)
        self.assertNotIn(self.later_low, text)

        # Four more answers: 90 %. The rule resolves unless a campaign of another test still
        # closes soon under the rate (then only that one is named).
        sql("INSERT INTO soumissions_disponibilites (email, nom, creneaux, campagne_id, "
            "edit_token_hash) SELECT 'p' || i || '@' || c.slug || '.example.org', 'P', "
            "jsonb_build_array(c.slug || '-0'), c.id, "
            "sha256(convert_to(gen_random_uuid()::text, 'UTF8')) "
            "FROM campagnes c, generate_series(7, 10) AS i WHERE c.slug = :'p1'", self.soon_low)
        self.assertEqual(self.campaigns()[self.soon_low]["taux_reponse"], 90)
        others = [s for s, c in self.campaigns().items()
                  if c["phase"] == "ouverte" and c["heures_avant_fermeture"] is not None
                  and c["heures_avant_fermeture"] <= 24 and c["taux_reponse"] < 80]
        again = check_alerts(address, "--dry-run", rules=f.name)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertNotIn(self.soon_low, again.stdout)
        self.assertNotIn(self.soon_high, again.stdout)
        if not others:
            resolved = check_alerts(address, rules=f.name)
            self.assertEqual(resolved.returncode, 0, resolved.stderr)
            mails = ft.wait_for_mail(address, timeout=10, since=since, count=2)
            self.assertEqual(subjects(mails), ["[Fiable] ALERTE : " + rule["titre"],
                                               "[Fiable] Résolu : " + rule["titre"]])


if __name__ == "__main__":
    unittest.main(verbosity=2)
