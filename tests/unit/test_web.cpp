// test_web.cpp — the web console's pure parts (server/web/): the router (the stable
// addresses of CONTRACT §10), the one HTML escaping function (a site code or value holding
// <script> or quotes is shown as text, never markup), the form/query decoder, sessions,
// CSRF comparison, the sign-in throttle, and the [web] keys of sitemaild.conf.
#include <boost/test/unit_test.hpp>

#include "daemon_conf.hpp"
#include "form.hpp"
#include "html.hpp"
#include "pages.hpp"
#include "router.hpp"
#include "web_session.hpp"

using namespace sitemail;
using namespace sitemail::web;

BOOST_AUTO_TEST_SUITE(web_console)

BOOST_AUTO_TEST_CASE(router_maps_every_stable_address) {
  BOOST_TEST((route("GET", "/login").id == RouteId::login_page));
  BOOST_TEST((route("POST", "/login").id == RouteId::login));
  BOOST_TEST((route("POST", "/logout").id == RouteId::logout));
  BOOST_TEST((route("GET", "/").id == RouteId::site_list));
  BOOST_TEST((route("HEAD", "/").id == RouteId::site_list));
  auto s = route("GET", "/sites/ACME");
  BOOST_TEST((s.id == RouteId::site_page));
  BOOST_TEST(s.site == "ACME");
  auto q = route("GET", "/sites/ACME/queue?status=failed");
  BOOST_TEST((q.id == RouteId::site_queue));
  BOOST_TEST(q.query.get("status") == "failed");
  auto m = route("GET", "/queue/42");
  BOOST_TEST((m.id == RouteId::message_page));
  BOOST_TEST(m.message_id == "42");
  BOOST_TEST((route("POST", "/sites/ACME/keys").id == RouteId::set_key));
  BOOST_TEST((route("POST", "/sites/ACME/test").id == RouteId::test_site));
  BOOST_TEST((route("POST", "/queue/42/retry").id == RouteId::retry_message));
  BOOST_TEST((route("POST", "/queue/42/cancel").id == RouteId::cancel_message));
  BOOST_TEST((route("POST", "/reload").id == RouteId::reload));
  BOOST_TEST((route("GET", "/static/console.css").id == RouteId::static_css));
}

BOOST_AUTO_TEST_CASE(router_refuses_what_is_not_an_address) {
  BOOST_TEST((route("GET", "/queue/abc").id == RouteId::not_found));
  BOOST_TEST((route("GET", "/queue/1234567890123456789").id == RouteId::not_found));  // not a bigint
  BOOST_TEST((route("GET", "/sites/").id == RouteId::not_found));
  BOOST_TEST((route("GET", "/sites/A%2FB").id == RouteId::not_found));  // a slash smuggled into a site code
  BOOST_TEST((route("GET", "/sites/A/other").id == RouteId::not_found));
  BOOST_TEST((route("GET", "/etc/passwd").id == RouteId::not_found));
  BOOST_TEST((route("GET", "/sites/A?x=%zz").id == RouteId::not_found));
  auto r = route("GET", "/reload");
  BOOST_TEST((r.id == RouteId::method_not_allowed));
  BOOST_TEST(r.allow == "POST");
  BOOST_TEST((route("POST", "/sites/A").id == RouteId::method_not_allowed));
  BOOST_TEST(route("GET", "/sites/A%20B%3Cx%3E").site == "A B<x>");
}

BOOST_AUTO_TEST_CASE(escaping_turns_markup_into_text) {
  BOOST_TEST(esc("<script>alert('x')</script>") == "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
  BOOST_TEST(esc("a\"b&c") == "a&quot;b&amp;c");
  BOOST_TEST(esc(std::string("a\x01"
                             "b")) == "a\xEF\xBF\xBD"
                                      "b");
  BOOST_TEST(esc("plain ASCII and ü") == "plain ASCII and ü");
}

BOOST_AUTO_TEST_CASE(a_hostile_site_code_and_value_render_as_text) {
  PageContext ctx{"tok\"en", "ad<min>", true, 1700000000};
  SiteRow row;
  row.code = "<script>alert(1)</script>";
  row.valid = false;
  row.first_problem = "db:X: EMailSMTPServer: error: '\"><img src=x onerror=alert(1)>' is bad";
  const std::string list = site_list_page(ctx, {row}, {});
  BOOST_TEST(list.find("<script>alert") == std::string::npos);
  BOOST_TEST(list.find("<img") == std::string::npos);
  BOOST_TEST(list.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  BOOST_TEST(list.find("/sites/%3Cscript%3Ealert%281%29%3C%2Fscript%3E") != std::string::npos);
  BOOST_TEST(list.find("content=\"tok&quot;en\"") != std::string::npos);
  BOOST_TEST(list.find("ad&lt;min&gt;") != std::string::npos);
  SitePage p;
  p.row = row;
  p.keys.push_back({"EMailFromName", "EMailFromName", "\"><script>x()</script>", false});
  p.from_address = "\"onfocus=\"x";
  const std::string page = site_page(ctx, p);
  BOOST_TEST(page.find("<script>x()") == std::string::npos);
  BOOST_TEST(page.find("value=\"&quot;&gt;&lt;script&gt;x()&lt;/script&gt;\"") != std::string::npos);
  BOOST_TEST(page.find("value=\"&quot;onfocus=&quot;x\"") != std::string::npos);
  // No inline script anywhere: only the one external file.
  std::size_t scripts = 0;
  for (auto pos = page.find("<script"); pos != std::string::npos; pos = page.find("<script", pos + 1)) ++scripts;
  BOOST_TEST(scripts == 1u);
  BOOST_TEST(page.find("<script src=\"/static/console.js\" defer></script>") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(every_form_carries_the_csrf_token_and_every_page_the_meta) {
  PageContext ctx{"CSRF123", "ann", true, 1700000000};
  SitePage p;
  p.row.code = "ACME";
  p.row.valid = true;
  p.keys.push_back({"SMTPPassword", "SMTPPassword", "(set)", true});
  p.keys.push_back({"EMailSMTPPort", "EMailSMTPPort", "587", false});
  for (const std::string& page : {site_page(ctx, p), site_list_page(ctx, {}, {}), login_page(ctx, ""),
                                  queue_page(ctx, "ACME", "", {{"7", "failed", "3", "", "a@x.example", "s", "e", false}}, "", {}),
                                  message_page(ctx, "7", "ACME", "failed", "id: 7\n", {})}) {
    BOOST_TEST(page.find("<meta name=\"csrf-token\" content=\"CSRF123\">") != std::string::npos);
    BOOST_TEST(page.find("name=\"viewport\"") != std::string::npos);
    std::size_t forms = 0, tokens = 0;
    for (auto pos = page.find("<form"); pos != std::string::npos; pos = page.find("<form", pos + 1)) ++forms;
    for (auto pos = page.find("name=\"csrf\" value=\"CSRF123\""); pos != std::string::npos;
         pos = page.find("name=\"csrf\" value=\"CSRF123\"", pos + 1))
      ++tokens;
    BOOST_TEST(forms > 0u);
    BOOST_TEST(forms == tokens);
  }
  // A secret is write-only: its row shows (set) and an empty password input.
  const std::string page = site_page(ctx, p);
  BOOST_TEST(page.find("<span class=\"secret\">(set)</span>") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(form_decoder_decodes_and_bounds) {
  auto f = decode_form("user=ann&password=a+b%26c%3D&empty=&flag&user=second");
  BOOST_REQUIRE(f);
  BOOST_TEST(f->get("user") == "ann");
  BOOST_TEST(f->get("password") == "a b&c=");
  BOOST_TEST(f->has("empty"));
  BOOST_TEST(f->get("flag") == "");
  BOOST_TEST(f->fields.size() == 5u);
  BOOST_TEST(!decode_form("a=%zz"));
  BOOST_TEST(!decode_form("a=%4"));
  BOOST_TEST(!decode_form("a=%"));
  BOOST_TEST(!decode_form("a=%00"));
  std::string many;
  for (std::size_t i = 0; i <= kMaxFormFields; ++i) many += "k=v&";
  BOOST_TEST(!decode_form(many));
  BOOST_TEST(decode_form("")->fields.empty());
  BOOST_TEST(url_encode("A B/<é>") == "A%20B%2F%3C%C3%A9%3E");
  BOOST_TEST(*percent_decode(url_encode("x+y z"), false) == "x+y z");
}

BOOST_AUTO_TEST_CASE(relative_times_with_utc_on_hover) {
  const std::time_t now = 1700000000;  // 2023-11-14T22:13:20Z
  BOOST_TEST(relative_time("2023-11-14T22:10:20Z", now) == "3 min ago");
  BOOST_TEST(relative_time("2023-11-14T22:13:00Z", now) == "just now");
  BOOST_TEST(relative_time("2023-11-14T20:13:20Z", now) == "2 h ago");
  BOOST_TEST(relative_time("2023-11-12T22:13:20Z", now) == "2 days ago");
  BOOST_TEST(relative_time("2023-11-14T22:17:20Z", now) == "in 4 min");
  BOOST_TEST(relative_time("garbage", now) == "");
  BOOST_TEST(time_html("2023-11-14T22:10:20Z", now) ==
             "<time datetime=\"2023-11-14T22:10:20Z\" title=\"2023-11-14 22:10:20 UTC\">3 min ago</time>");
}

BOOST_AUTO_TEST_CASE(sessions_expire_after_30_idle_minutes_and_end_at_sign_out) {
  SessionStore store;
  const std::string t = store.create("ann", "site", {"ACME"});
  BOOST_TEST(t.size() == 43u);
  auto s = store.touch(t);
  BOOST_REQUIRE(s);
  BOOST_TEST(s->manages("ACME"));
  BOOST_TEST(!s->manages("OTHER"));
  BOOST_TEST(s->csrf.size() == 43u);
  BOOST_TEST(s->csrf != t);
  BOOST_TEST(store.touch(t, Clock::now() + std::chrono::minutes(29)).has_value());   // restarts the idle clock
  BOOST_TEST(!store.touch(t, Clock::now() + std::chrono::minutes(60)).has_value());  // 31 idle minutes later
  BOOST_TEST(!store.touch(t).has_value());                                           // and forgotten
  const std::string t2 = store.create("bob", "admin", {});
  store.end(t2);
  BOOST_TEST(!store.touch(t2).has_value());
  BOOST_TEST(!store.touch("").has_value());
}

BOOST_AUTO_TEST_CASE(csrf_tokens_compare_exactly) {
  const std::string a = random_token(), b = random_token();
  BOOST_TEST(a != b);
  BOOST_TEST(tokens_equal(a, a));
  BOOST_TEST(!tokens_equal(a, b));
  BOOST_TEST(!tokens_equal(a, a.substr(1)));
  BOOST_TEST(!tokens_equal("", ""));
}

BOOST_AUTO_TEST_CASE(sign_in_throttle_after_5_failures_in_10_minutes) {
  LoginThrottle th;
  const auto t0 = Clock::now();
  for (int i = 0; i < 4; ++i) th.failed("192.0.2.1", t0 + std::chrono::seconds(i));
  BOOST_TEST(!th.blocked("192.0.2.1", t0 + std::chrono::seconds(5)));
  th.failed("192.0.2.1", t0 + std::chrono::seconds(5));
  BOOST_TEST(th.blocked("192.0.2.1", t0 + std::chrono::seconds(6)));
  BOOST_TEST(!th.blocked("192.0.2.2", t0 + std::chrono::seconds(6)));   // per client address
  BOOST_TEST(!th.blocked("192.0.2.1", t0 + std::chrono::minutes(11)));  // the window passed
}

BOOST_AUTO_TEST_CASE(web_keys_of_sitemaild_conf) {
  DaemonConf c;
  BOOST_TEST(c.web_listen.empty());
  BOOST_TEST(parse_daemon_conf("[web]\nlisten = 127.0.0.1:8080\n", "sitemaild.conf", c).empty());
  BOOST_TEST(c.web_listen == "127.0.0.1:8080");
  DaemonConf c2;
  BOOST_TEST(parse_daemon_conf("[web]\nlisten = [::1]:8080\n", "sitemaild.conf", c2).empty());
  DaemonConf c3;
  auto d = parse_daemon_conf("[database]\nurl = x\n[web]\nlisten = 0.0.0.0:8443\n", "/etc/sitemail/sitemaild.conf", c3);
  BOOST_REQUIRE(d.size() == 1u);
  BOOST_TEST(d[0].where == "/etc/sitemail/sitemaild.conf:4");
  BOOST_TEST(d[0].setting == "web.listen");
  BOOST_TEST(d[0].message.find("not a loopback address") != std::string::npos);
  DaemonConf c4;
  BOOST_TEST(parse_daemon_conf("[web]\nlisten = 0.0.0.0:8443\ntls_cert = /c.pem\ntls_key = /k.pem\n", "f", c4).empty());
  DaemonConf c5;
  auto d5 = parse_daemon_conf("[web]\nlisten = 127.0.0.1:8443\ntls_cert = /c.pem\n", "f", c5);
  BOOST_REQUIRE(d5.size() == 1u);
  BOOST_TEST(d5[0].message == "web.tls_cert needs web.tls_key too");
  DaemonConf c6;
  BOOST_TEST(parse_daemon_conf("[web]\nlisten = nonsense\n", "f", c6).size() == 1u);
  DaemonConf c7;
  BOOST_TEST(parse_daemon_conf("[web]\nlisen = 127.0.0.1:1\n", "f", c7).size() == 1u);  // unknown key
}

BOOST_AUTO_TEST_SUITE_END()
