#!/usr/bin/python3
"""test_web_browser.py — the web console in a real browser (headless Chromium driven by
Selenium, Debian's chromium + chromium-driver + python3-selenium) against a running
sitemaild and real SMTP peers: sign in, read the site list, edit a key (valid and invalid),
set a secret and see only (set), Test connection against Postfix smtp-sink (OK) and against
a closed port (CONNECT_FAILED), retry a failed message (the daemon then delivers it), sign
out. With SITEMAIL_SCREENSHOTS=DIR it saves the two screenshots of docs/web-console.md there.
Exit 77 (skipped) when Selenium or Chromium is not installed."""
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from webenv import WebEnv, pick_port  # noqa: E402

try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    print("selenium is not installed (python3-selenium); skipped")
    sys.exit(77)

CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
if not CHROMIUM or not os.path.exists(DRIVER):
    print("chromium or chromium-driver is not installed; skipped")
    sys.exit(77)

SECRET = "Br0wser-secret-never-shown-42"


class WebBrowser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = WebEnv("browser")
        cls.profile = tempfile.mkdtemp(prefix="sitemail-chromium-")
        cls.driver = None
        try:
            env = cls.env
            sink = env.smtp_sink()
            env.ctl("keys", "set", "EMailSMTPServer", "127.0.0.1", "--site", "ACME")
            env.ctl("keys", "set", "EMailSMTPPort", str(sink), "--site", "ACME")
            env.ctl("keys", "set", "EMailFromAddress", "library@acme.example", "--site", "ACME")
            env.ctl("keys", "set", "EMailSMTPServer", "127.0.0.1", "--site", "BRANCH")
            env.ctl("keys", "set", "EMailSMTPPort", str(pick_port()), "--site", "BRANCH")  # nothing listens there
            env.ctl("keys", "set", "EMailFromAddress", "branch@acme.example", "--site", "BRANCH")
            env.ctl("keys", "set", "Timeout", "5", "--site", "BRANCH")
            env.ctl("keys", "set", "EMailFromAddress", "hq@acme.example", "--site", "HQ")  # no relay: invalid
            env.ctl("web", "add", "admin", "--role", "admin", input="browser-admin-pw\n")
            cls.failed_id = env.sql("INSERT INTO outbox (nvtgc, to_addrs, subject, status, attempts, last_error) VALUES "
                                    "('ACME', 'reader@acme.example', 'Your loan is due', 'failed', 3, "
                                    "'CONNECT_FAILED relay unreachable') RETURNING id")
            env.sql("UPDATE outbox SET next_attempt_at = now() - interval '2 hours' WHERE id = %s" % cls.failed_id)
            env.sql("INSERT INTO outbox (nvtgc, to_addrs, subject, status, sent_at) VALUES "
                    "('ACME', 'reader@acme.example', 'Welcome', 'sent', now() - interval '3 minutes')")
            env.start_daemon()
            opts = webdriver.ChromeOptions()
            opts.binary_location = CHROMIUM
            for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                      "--disable-background-networking", "--disable-component-update", "--disable-sync",
                      "--disable-dev-shm-usage", "--window-size=1200,900", "--user-data-dir=" + cls.profile):
                opts.add_argument(a)
            cls.driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
            cls.driver.set_page_load_timeout(90)
            cls.base = "http://127.0.0.1:%d" % env.port
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.driver is not None:
            cls.driver.quit()
            cls.driver = None
        shutil.rmtree(cls.profile, ignore_errors=True)
        cls.env.close()

    def shot(self, name):
        out = os.environ.get("SITEMAIL_SCREENSHOTS")
        if out:
            self.driver.save_screenshot(os.path.join(out, name))

    def click(self, element, confirm=False):
        """Clicks a submit button and waits until the next page has replaced this one."""
        old = self.driver.find_element(By.TAG_NAME, "html")
        element.click()
        if confirm:
            WebDriverWait(self.driver, 10).until(EC.alert_is_present())
            self.driver.switch_to.alert.accept()
        WebDriverWait(self.driver, 90).until(self.replaced(old))

    @staticmethod
    def replaced(old):
        """True once `old` left the document. Chromium sometimes answers a question about a
        node of a page being replaced with an inspector error instead of a stale-element
        error; that means the same."""
        def check(_driver):
            try:
                old.is_enabled()
                return False
            except StaleElementReferenceException:
                return True
            except WebDriverException as e:
                if "does not belong to the document" in str(e) or "No node with given id" in str(e):
                    return True
                raise
        return check

    def notice(self):
        return self.driver.find_element(By.ID, "notice").text

    def set_key(self, key, value):
        d = self.driver
        d.find_element(By.ID, "new-key").send_keys(key)
        d.find_element(By.ID, "new-value").send_keys(value)
        self.click(d.find_element(By.ID, "set-key"))

    def test_the_console_in_a_browser(self):
        d = self.driver
        # Without a session: the sign-in page.
        d.get(self.base + "/")
        self.assertTrue(d.current_url.endswith("/login"), d.current_url)
        d.find_element(By.NAME, "user").send_keys("admin")
        d.find_element(By.NAME, "password").send_keys("browser-admin-pw")
        self.click(d.find_element(By.ID, "signin"))

        # The site list: code, validity, counts, last delivery.
        rows = {r.get_attribute("data-site"): r.text for r in d.find_elements(By.CSS_SELECTOR, "#sites tbody tr")}
        if not rows:
            print(d.current_url, d.page_source[:3000], self.env.log()[-3000:])
        self.assertEqual(sorted(rows), ["ACME", "BRANCH", "HQ"])
        self.assertIn("valid", rows["ACME"])
        self.assertIn("sent 3 min ago", rows["ACME"])
        self.assertIn("invalid", rows["HQ"])
        t = d.find_element(By.CSS_SELECTOR, "#sites tr[data-site=ACME] time")
        self.assertTrue(t.get_attribute("title").endswith(" UTC"))
        self.shot("web-console-sites.png")

        # A site: a valid edit, an invalid one (check's words), a secret that shows only (set).
        self.click(d.find_element(By.LINK_TEXT, "ACME"))
        self.set_key("EMailFromName", "ACME Library")
        self.assertIn("db:ACME EMailFromName = ACME Library", self.notice())
        self.assertIn("EMailFromName = ACME Library", d.find_element(By.ID, "effective").text)
        self.set_key("EMailSMTPPort", "not-a-port")
        self.assertIn("db:ACME: EMailSMTPPort: error:", self.notice())
        self.set_key("SMTPPassword", SECRET)
        self.assertIn("db:ACME SMTPPassword = (set)", self.notice())
        row = d.find_element(By.CSS_SELECTOR, "#keys tr[data-key=SMTPPassword]")
        self.assertIn("(set)", row.text)
        self.assertNotIn(SECRET, d.page_source)
        # smtp-sink offers no AUTH: take the password away again before the test.
        self.click(d.find_element(By.CSS_SELECTOR, "#keys tr[data-key=SMTPPassword] button.danger"), confirm=True)
        self.assertIn("SMTPPassword unset", self.notice())

        # Test connection against a real relay: OK, with the transcript.
        self.click(d.find_element(By.ID, "test-connection"))
        self.assertTrue(d.find_element(By.ID, "verdict").text.startswith("OK "), d.find_element(By.ID, "verdict").text)
        self.assertIn("EHLO", d.find_element(By.ID, "transcript").text)
        self.assertEqual(d.find_element(By.ID, "send_to").get_attribute("value"), "library@acme.example")
        self.click(d.find_element(By.ID, "send-test"))
        self.assertIn("sent=", d.find_element(By.ID, "verdict").text)
        self.shot("web-console-site.png")

        # ... and against a closed port: CONNECT_FAILED.
        d.get(self.base + "/sites/BRANCH")
        self.click(d.find_element(By.ID, "test-connection"))
        self.assertTrue(d.find_element(By.ID, "verdict").text.startswith("CONNECT_FAILED"), d.find_element(By.ID, "verdict").text)

        # Retry a failed message; the daemon then delivers it to smtp-sink.
        d.get(self.base + "/sites/ACME/queue?status=failed")
        row = d.find_element(By.CSS_SELECTOR, "#queue tr[data-id='%s']" % self.failed_id)
        self.assertIn("Your loan is due", row.text)
        self.click(row.find_element(By.CSS_SELECTOR, "button.retry"))
        self.assertIn("requeued %s" % self.failed_id, self.notice())
        end = time.time() + 30
        while time.time() < end and self.env.sql("SELECT status FROM outbox WHERE id = %s" % self.failed_id) != "sent":
            time.sleep(0.3)
        self.assertEqual(self.env.sql("SELECT status FROM outbox WHERE id = %s" % self.failed_id), "sent")

        # Sign out: back to the sign-in page, and the pages are closed again.
        self.click(d.find_element(By.ID, "logout"))
        self.assertTrue(d.current_url.endswith("/login"), d.current_url)
        d.get(self.base + "/sites/ACME")
        self.assertTrue(d.current_url.endswith("/login"), d.current_url)
        self.assertNotIn(SECRET, self.env.log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
