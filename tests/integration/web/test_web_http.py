#!/usr/bin/python3
"""test_web_http.py — the web console's security rules over real HTTP (CONTRACT §10, issue 16
item 4) against a running sitemaild: redirect without a session, cookie flags (HttpOnly,
SameSite=Strict; Secure under TLS), the CSP and nosniff headers, CSRF refusal (nothing
changed), a `site` account probing another site's pages, forms and queue ids (404 exactly
like a site that does not exist, nothing changed), admin-only actions, the sign-in
throttle, request size limits, no secret in any response or log, web_change log lines,
the same problem words as `sitemailctl keys set`, and the [web] listen rule."""
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from webenv import WebEnv, DAEMON  # noqa: E402

SECRET = "Zq9-very-secret-relay-password-77"
CSP = "default-src 'self'; script-src 'self'; frame-ancestors 'none'"


class WebHttp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = WebEnv("http")
        try:
            env = cls.env
            sink = env.smtp_sink()
            for site, port in (("ACME", sink), ("OTHER", sink)):
                env.ctl("keys", "set", "EMailSMTPServer", "127.0.0.1", "--site", site)
                env.ctl("keys", "set", "EMailSMTPPort", str(port), "--site", site)
                env.ctl("keys", "set", "EMailFromAddress", "mail@%s.example" % site.lower(), "--site", site)
            env.ctl("web", "add", "root", "--role", "admin", input="admin-password-1\n")
            env.ctl("web", "add", "acme", "--role", "site", "--site", "ACME", input="acme-password-1\n")
            cls.other_id = env.sql("INSERT INTO outbox (nvtgc, to_addrs, subject, status, last_error) "
                                   "VALUES ('OTHER', 'x@other.example', 'other mail', 'failed', 'boom') RETURNING id")
            cls.acme_id = env.sql("INSERT INTO outbox (nvtgc, to_addrs, subject, status, last_error) "
                                  "VALUES ('ACME', 'x@acme.example', 'acme mail', 'cancelled', 'x') RETURNING id")
            env.start_daemon()
        except BaseException:
            cls.env.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.env.close()

    def signed_in(self, user="root", password="admin-password-1"):
        c = self.env.client()
        r = c.login(user, password)
        self.assertEqual(r.status, 303, r.body)
        self.assertEqual(r.header("Location"), "/")
        return c

    def test_01_without_a_session_every_page_redirects_to_login(self):
        c = self.env.client()
        for path in ("/", "/sites/ACME", "/sites/NOSUCH", "/sites/ACME/queue?status=failed", "/queue/1", "/nothing"):
            r = c.get(path)
            self.assertEqual(r.status, 303, path)
            self.assertEqual(r.header("Location"), "/login", path)
        r = c.post("/sites/ACME/keys", {"key": "EMailFromName", "value": "x"})
        self.assertEqual(r.status, 303)
        self.assertEqual(self.env.sql("SELECT count(*) FROM customization WHERE custkey = 'EMailFromName'"), "0")

    def test_02_login_page_headers_and_cookie_flags(self):
        c = self.env.client()
        r = c.get("/login")
        self.assertEqual(r.status, 200)
        self.assertIn('name="user"', r.body)
        self.assertIn('name="password"', r.body)
        self.assertIn('name="csrf"', r.body)
        self.assertTrue(r.header("Content-Security-Policy").startswith(CSP), r.header("Content-Security-Policy"))
        self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
        self.assertNotIn("<script>", r.body)  # no inline script: only <script src=...>
        r = c.post("/login", {"user": "root", "password": "admin-password-1", "csrf": r.csrf()})
        self.assertEqual(r.status, 303)
        session = [v for v in r.all("Set-Cookie") if v.startswith("sitemail_session=")]
        self.assertEqual(len(session), 1)
        flags = [f.strip() for f in session[0].split(";")]
        self.assertIn("HttpOnly", flags)
        self.assertIn("SameSite=Strict", flags)
        self.assertNotIn("Secure", flags)  # plain HTTP on loopback
        self.assertEqual(c.get("/").status, 200)

    def test_03_wrong_password_and_unknown_account_get_the_same_answer(self):
        a = self.env.client().login("root", "wrong-password")
        b = self.env.client().login("nobody-here", "wrong-password")
        self.assertEqual(a.status, 401)
        self.assertEqual(b.status, 401)
        self.assertIn("Wrong account or password.", a.body)
        self.assertIn("Wrong account or password.", b.body)

    def test_04_a_post_without_the_csrf_token_changes_nothing(self):
        c = self.signed_in()
        for fields in ({"key": "EMailFromName", "value": "Evil"}, {"key": "EMailFromName", "value": "Evil", "csrf": "forged"}):
            r = c.post("/sites/ACME/keys", fields)
            self.assertEqual(r.status, 403, r.body)
            self.assertIn("CSRF", r.body)
        r = c.post("/queue/%s/retry" % self.acme_id, {"csrf": ""})
        self.assertEqual(r.status, 403)
        self.assertEqual(self.env.sql("SELECT count(*) FROM customization WHERE custkey = 'EMailFromName'"), "0")
        self.assertEqual(self.env.sql("SELECT status FROM outbox WHERE id = %s" % self.acme_id), "cancelled")

    def test_05_a_site_account_sees_other_sites_exactly_like_sites_that_do_not_exist(self):
        c = self.signed_in("acme", "acme-password-1")
        home = c.get("/")
        self.assertEqual(home.status, 200)
        self.assertIn("ACME", home.body)
        self.assertNotIn("OTHER", home.body)
        self.assertNotIn('id="reload"', home.body)
        self.assertEqual(c.get("/sites/ACME").status, 200)
        missing = c.get("/sites/NOSUCH")
        self.assertEqual(missing.status, 404)
        for path in ("/sites/OTHER", "/sites/OTHER/queue", "/sites/OTHER/queue?status=failed", "/sites/ILL",
                     "/queue/%s" % self.other_id):
            r = c.get(path)
            self.assertEqual(r.status, 404, path)
            self.assertEqual(r.body, missing.body, path)
            self.assertNotIn("other mail", r.body)
        nosuch_id = c.get("/queue/999999999")
        self.assertEqual(nosuch_id.status, 404)
        self.assertEqual(nosuch_id.body, missing.body)
        csrf = home.csrf()
        for path, fields in (("/sites/OTHER/keys", {"key": "EMailFromName", "value": "Pwned"}),
                             ("/sites/ILL/keys", {"key": "EMailFromName", "value": "Pwned"}),
                             ("/sites/OTHER/test", {"send_to": "a@b.example"}),
                             ("/queue/%s/retry" % self.other_id, {}),
                             ("/queue/%s/cancel" % self.other_id, {}),
                             ("/reload", {}),
                             ("/sites/NOSUCH/keys", {"key": "EMailFromName", "value": "Pwned"})):
            fields = dict(fields, csrf=csrf)
            r = c.post(path, fields)
            self.assertEqual(r.status, 404, path)
            self.assertEqual(r.body, missing.body, path)
        self.assertEqual(self.env.sql("SELECT count(*) FROM customization WHERE value = 'Pwned'"), "0")
        self.assertEqual(self.env.sql("SELECT status FROM outbox WHERE id = %s" % self.other_id), "failed")
        self.assertNotIn("event=web_change user=acme site=OTHER", self.env.log())

    def test_06_a_secret_is_write_only_and_never_in_a_page_or_log(self):
        c = self.signed_in("acme", "acme-password-1")
        page = c.get("/sites/ACME")
        r = c.post("/sites/ACME/keys", {"key": "SMTPPassword", "value": SECRET, "csrf": page.csrf()})
        self.assertEqual(r.status, 200, r.body)
        self.assertIn("db:ACME SMTPPassword = (set)", r.body)
        self.assertNotIn(SECRET, r.body)
        self.assertEqual(self.env.sql("SELECT value FROM customization WHERE nvtgc = 'ACME' AND custkey = 'SMTPPassword'"), SECRET)
        for path in ("/", "/sites/ACME", "/sites/ACME/queue", "/queue/%s" % self.acme_id):
            self.assertNotIn(SECRET, c.get(path).body, path)
        r = c.post("/sites/ACME/test", {"csrf": page.csrf()})
        self.assertNotIn(SECRET, r.body)
        self.assertIn('id="verdict"', r.body)
        self.assertNotIn(SECRET, self.env.log())
        self.assertIn("event=web_change user=acme site=ACME what=\"keys set SMTPPassword\"", self.env.log())
        c.post("/sites/ACME/keys", {"key": "SMTPPassword", "value": "", "unset": "1", "csrf": page.csrf()})
        self.assertEqual(self.env.sql("SELECT count(*) FROM customization WHERE custkey = 'SMTPPassword'"), "0")

    def test_07_a_refused_change_shows_the_problem_as_check_words_it(self):
        cli = self.env.ctl("keys", "set", "EMailSMTPPort", "notaport", "--site", "ACME", check=False)
        self.assertEqual(cli.returncode, 1)
        line = cli.stderr.strip().splitlines()[0]
        c = self.signed_in()
        page = c.get("/sites/ACME")
        r = c.post("/sites/ACME/keys", {"key": "EMailSMTPPort", "value": "notaport", "csrf": page.csrf()})
        self.assertEqual(r.status, 400)
        import html
        self.assertIn(html.escape(line, quote=True).replace("&#x27;", "&#39;"), r.body)
        cli = self.env.ctl("keys", "set", "NoSuchSetting", "1", "--site", "ACME", check=False)
        r = c.post("/sites/ACME/keys", {"key": "NoSuchSetting", "value": "1", "csrf": page.csrf()})
        self.assertEqual(r.status, 400)
        self.assertIn("unknown setting", r.body)

    def test_08_queue_retry_and_cancel_by_an_admin(self):
        c = self.signed_in()
        page = c.get("/queue/%s" % self.other_id)
        self.assertEqual(page.status, 200)
        self.assertIn("other mail", page.body)
        r = c.post("/queue/%s/cancel" % self.other_id, {"csrf": page.csrf()})
        self.assertIn("cancelled %s" % self.other_id, r.body)
        self.assertEqual(self.env.sql("SELECT status FROM outbox WHERE id = %s" % self.other_id), "cancelled")
        self.assertIn("event=web_change user=root site=OTHER what=\"queue cancel %s\"" % self.other_id, self.env.log())
        self.env.sql("UPDATE outbox SET status = 'failed' WHERE id = %s" % self.other_id)

    def test_09_reload_shows_the_acknowledgements(self):
        c = self.signed_in()
        r = c.post("/reload", {"csrf": c.get("/").csrf()})
        self.assertEqual(r.status, 200)
        self.assertIn("reload acknowledged by 1 daemon", r.body)

    def test_10_requests_are_bounded(self):
        c = self.signed_in()
        r = c.request("POST", "/sites/ACME/keys", raw_body="key=" + "x" * 200000)
        self.assertEqual(r.status, 413)
        r = c.request("POST", "/sites/ACME/keys", raw_body="key=a&csrf=b", content_type="text/plain")
        self.assertEqual(r.status, 400)

    def test_10b_connections_are_bounded(self):
        import socket
        idle = []
        try:
            for _ in range(64):  # the console's limit: idle connections hold their slots
                idle.append(socket.create_connection(("127.0.0.1", self.env.port), timeout=10))
            time.sleep(0.5)
            extra = socket.create_connection(("127.0.0.1", self.env.port), timeout=10)
            answer = extra.recv(200).decode("ascii", "replace")
            extra.close()
            self.assertTrue(answer.startswith("HTTP/1.1 503"), answer)
        finally:
            for s in idle:
                s.close()
        end = time.time() + 10
        while time.time() < end and self.env.client().get("/login").status != 200:
            time.sleep(0.2)
        self.assertEqual(self.env.client().get("/login").status, 200)

    def test_11_sign_out_ends_the_session(self):
        c = self.signed_in()
        old = dict(c.cookies)
        r = c.post("/logout", {"csrf": c.get("/").csrf()})
        self.assertEqual(r.status, 303)
        self.assertEqual(r.header("Location"), "/login")
        self.assertEqual(c.get("/").status, 303)
        c.cookies = old  # the old cookie is worth nothing now
        self.assertEqual(c.get("/").status, 303)

    def test_12_a_new_password_or_a_removed_account_ends_its_sessions(self):
        self.env.ctl("web", "add", "temp", "--role", "site", "--site", "ACME", input="temp-password-1\n")
        c = self.signed_in("temp", "temp-password-1")
        self.assertEqual(c.get("/sites/ACME").status, 200)
        self.env.ctl("web", "passwd", "temp", input="temp-password-2\n")
        self.assertEqual(c.get("/sites/ACME").status, 303)
        c = self.signed_in("temp", "temp-password-2")
        self.assertEqual(c.get("/").status, 200)
        self.env.ctl("web", "remove", "temp")
        self.assertEqual(c.get("/").status, 303)
        self.assertEqual(c.get("/").header("Location"), "/login")

    def test_99_sign_in_is_refused_after_5_failures_in_10_minutes(self):
        for _ in range(5):
            self.assertEqual(self.env.client().login("root", "nope-nope").status, 401)
        r = self.env.client().login("root", "admin-password-1")  # the right password, refused all the same
        self.assertEqual(r.status, 401)
        self.assertIn("Wrong account or password.", r.body)
        self.assertNotIn("sitemail_session=", " ".join(r.all("Set-Cookie")))


class WebAccounts(unittest.TestCase):
    def test_web_add_passwd_remove_list(self):
        with WebEnv("accounts") as env:
            r = env.ctl("web", "add", "ann", "--role", "admin", input="first-password\n")
            self.assertEqual(r.stdout, "added web account ann role=admin\n")
            r = env.ctl("web", "add", "bob", "--role", "site", "--site", "ACME,B2", "--generate")
            lines = r.stdout.splitlines()
            self.assertEqual(lines[0], "added web account bob role=site sites=ACME,B2")
            self.assertTrue(lines[1].startswith("password: ") and len(lines[1]) == len("password: ") + 20, lines)
            generated = lines[1][len("password: "):]
            r = env.ctl("web", "list")
            self.assertEqual(r.stdout, "ann admin\nbob site ACME,B2\n")
            hashes = env.sql("SELECT string_agg(password_hash, ' ') FROM web_account")
            self.assertTrue(all(h.startswith("$scrypt$") for h in hashes.split()), hashes)
            self.assertNotIn(generated, hashes)
            for out in (r.stdout, env.ctl("web", "list").stderr):
                self.assertNotIn("$scrypt$", out)
            self.assertEqual(env.ctl("web", "add", "ann", "--role", "admin", input="again-password\n", check=False).returncode, 1)
            self.assertEqual(env.ctl("web", "add", "eve", "--role", "site", input="x-password\n", check=False).returncode, 2)
            self.assertEqual(env.ctl("web", "add", "eve", "--role", "root", input="x-password\n", check=False).returncode, 2)
            self.assertEqual(env.ctl("web", "add", "e v", "--role", "admin", input="x-password\n", check=False).returncode, 2)
            self.assertEqual(env.ctl("web", "passwd", "ann", input="short\n", check=False).returncode, 2)
            before = env.sql("SELECT password_hash FROM web_account WHERE username = 'ann'")
            self.assertEqual(env.ctl("web", "passwd", "ann", input="second-password\n").stdout,
                             "changed the password of web account ann\n")
            self.assertNotEqual(env.sql("SELECT password_hash FROM web_account WHERE username = 'ann'"), before)
            self.assertEqual(env.ctl("web", "remove", "bob").stdout, "removed web account bob\n")
            self.assertEqual(env.ctl("web", "remove", "bob", check=False).returncode, 1)
            self.assertEqual(env.ctl("web", "list").stdout, "ann admin\n")


class WebConfig(unittest.TestCase):
    def test_non_loopback_listen_without_tls_is_a_config_error_naming_file_and_line(self):
        with WebEnv("conf") as env:
            conf = env.write_conf("0.0.0.0:8443")
            r = subprocess.run([DAEMON, "--config", conf, "--check-config"], capture_output=True, text=True,
                               env=dict(os.environ, SITEMAIL_DATABASE="", SITEMAIL_CONFIG_DIR=""))
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
            self.assertIn(conf + ":8: web.listen: error: '0.0.0.0:8443' is not a loopback address", r.stderr)

    def test_under_tls_the_session_cookie_is_secure(self):
        with WebEnv("tls") as env:
            cert, key = os.path.join(env.tmp, "c.pem"), os.path.join(env.tmp, "k.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                            "-days", "1", "-subj", "/CN=localhost"], check=True, capture_output=True)
            env.ctl("web", "add", "root", "--role", "admin", input="admin-password-1\n")
            env.start_daemon(tls_cert=cert, tls_key=key)
            c = env.client()
            r = c.login("root", "admin-password-1")
            self.assertEqual(r.status, 303)
            session = [v for v in r.all("Set-Cookie") if v.startswith("sitemail_session=")][0]
            self.assertIn("Secure", [f.strip() for f in session.split(";")])
            self.assertEqual(c.get("/").status, 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
