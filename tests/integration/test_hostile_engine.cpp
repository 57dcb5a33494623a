// test_hostile_engine.cpp — issue 9, network side: the delivery engine and `sitemailctl
// test` against our own hostile relay and hostile proxy on 127.0.0.1. Each attack must end
// as a clear failure of that attempt (verdict word + the error naming the limit or defect),
// never a crash, a hang or unbounded memory (VmHWM of this process / of sitemailctl).
#define BOOST_TEST_MODULE sitemail_integration_hostile
#include <boost/test/unit_test.hpp>

#include "engine_fixture.hpp"
#include "hostile_peers.hpp"

using namespace sitemail;
using namespace sitemail::test;

namespace {

std::string relay_at(int port, const std::string& more = "") {
  return "<EMailSMTPPort>" + std::to_string(port) + "</EMailSMTPPort>" + more;
}

std::string via_proxy(const char* type, int proxy_port) {
  return "<EMailSMTPPort>25</EMailSMTPPort><FirewallType>" + std::string(type) +
         "</FirewallType><FirewallHost>127.0.0.1</FirewallHost><FirewallPort>" + std::to_string(proxy_port) + "</FirewallPort>";
}

bool has(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

// `sitemailctl test` on a site file of its own.
struct CtlSite {
  TestDb db{"hostile_ctl"};
  TempDir dir{"hostile_ctl"};
  CtlSite() { BOOST_REQUIRE(run(ctl() + " db migrate --database " + db.quoted()).code == 0); }
  RunResult test(const std::string& xml) const {
    dir.write("ACME.config", "<MailSettings><Host>127.0.0.1</Host><From>ill@acme.example</From>" + xml + "</MailSettings>");
    return run(ctl() + " --database " + db.quoted() + " --config-dir " + dir.path() + " test --site ACME");
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(hostile_relay)

// Finding 1: TargetInfo offset 2^32 - 16, length 32 passed `off + len <= size` by wrap-around
// and substr threw out of the session (the verdict was an empty line).
BOOST_AUTO_TEST_CASE(evil_ntlm_challenge_is_an_auth_failure_naming_the_field) {
  HostileRelay relay("ntlm-evil");
  auto d = deliver(
      site_settings(relay_at(relay.port(), "<User>DOM\\alice</User><Password>pw</Password><AuthMethod>NTLM</AuthMethod>")),
      {message(1)});
  BOOST_TEST(d.verdict() == "AUTH_FAILED", d.why());
  BOOST_REQUIRE(d.open_failure);
  BOOST_TEST(d.open_failure->detail ==
                 "AUTH NTLM could not continue: the NTLM challenge's TargetInfo field (offset 4294967280, length 32) lies "
                 "outside the 56-byte message",
             d.why());
  BOOST_TEST(!has(relay.served(), "MAIL FROM"));  // nothing was sent after the failed AUTH
}

BOOST_AUTO_TEST_CASE(evil_ntlm_challenge_via_sitemailctl_test) {
  HostileRelay relay("ntlm-evil");
  CtlSite s;
  auto r = s.test(relay_at(relay.port(), "<User>alice</User><Password>pw</Password><AuthMethod>NTLM</AuthMethod>"));
  BOOST_TEST(r.code == 1);
  BOOST_TEST(r.out.starts_with("AUTH_FAILED "), r.out << r.err);
  BOOST_TEST(has(r.out, "NTLM challenge's TargetInfo field (offset 4294967280, length 32)"), r.out);
}

// Finding 5: 300 MB of "250-" lines grew the daemon to 600 MB. The reply is capped by lines
// and bytes; the relay is cut off long before it has sent its 300 MB.
BOOST_AUTO_TEST_CASE(huge_continuation_reply_is_cut_at_the_line_cap_in_bounded_memory) {
  HostileRelay relay("huge-ehlo", "--megabytes 300");
  auto d = deliver(site_settings(relay_at(relay.port())), {message(1)});
  BOOST_TEST(d.verdict() == "FAILED", d.why());
  BOOST_REQUIRE(d.open_failure);
  BOOST_TEST(d.open_failure->describe() == "helo: bad reply during ehlo: reply of more than 512 lines (limit)", d.why());
  const long rss = peak_rss_kib();
  BOOST_TEST(rss > 0);
  BOOST_TEST(rss < kRssBoundKib, "VmHWM " << rss << " KiB");
}

BOOST_AUTO_TEST_CASE(huge_continuation_reply_via_sitemailctl_test_in_bounded_memory) {
  HostileRelay relay("huge-ehlo", "--megabytes 300");
  CtlSite s;
  auto r = s.test(relay_at(relay.port()));
  BOOST_TEST(r.code == 1);
  BOOST_TEST(r.out == "FAILED Test connection failed. (helo: bad reply during ehlo: reply of more than 512 lines (limit))\n",
             r.out << r.err);
  BOOST_TEST(children_peak_rss_kib() < kRssBoundKib, "children's peak RSS " << children_peak_rss_kib() << " KiB");
}

// A reply line that never ends: the read buffer is bounded by the line cap.
BOOST_AUTO_TEST_CASE(endless_reply_line_is_cut_at_the_line_length_cap) {
  HostileRelay relay("endless-line", "--megabytes 200");
  auto d = deliver(site_settings(relay_at(relay.port())), {message(1)});
  BOOST_TEST(d.verdict() == "FAILED", d.why());
  BOOST_REQUIRE(d.open_failure);
  BOOST_TEST(d.open_failure->describe() == "helo: bad reply during ehlo: reply line longer than 12288 bytes (limit)", d.why());
  BOOST_TEST(peak_rss_kib() < kRssBoundKib);
}

// A relay that accepts and never greets: the inactivity timeout ends the attempt.
BOOST_AUTO_TEST_CASE(silent_relay_times_out) {
  HostileRelay relay("silent");
  auto d = deliver(site_settings(relay_at(relay.port(), "<Timeout>2</Timeout>")), {message(1)});
  BOOST_TEST(d.verdict() == "FAILED", d.why());
  BOOST_REQUIRE(d.open_failure);
  BOOST_TEST(d.open_failure->describe() == "greeting: read failed during greeting: timed out after 2 s", d.why());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(hostile_proxy)

BOOST_AUTO_TEST_CASE(endless_connect_reply_headers_are_cut_at_the_header_line_cap) {
  HostileProxy proxy("http-endless-headers");
  auto d = deliver(site_settings(via_proxy("fwTunnel", proxy.port())), {message(1)});
  BOOST_TEST(d.verdict() == "PROXY_FAILED", d.why());
  BOOST_REQUIRE(d.open_failure);
  BOOST_TEST(d.open_failure->detail == "the proxy's reply has more than 64 header lines (limit)", d.why());
  BOOST_TEST(peak_rss_kib() < kRssBoundKib);
}

BOOST_AUTO_TEST_CASE(endless_connect_status_line_is_cut_at_its_cap) {
  HostileProxy proxy("http-endless-line");
  auto d = deliver(site_settings(via_proxy("fwTunnel", proxy.port())), {message(1)});
  BOOST_TEST(d.verdict() == "PROXY_FAILED", d.why());
  BOOST_REQUIRE(d.open_failure);
  BOOST_TEST(d.open_failure->detail == "the proxy's status line is longer than 1024 bytes (limit)", d.why());
}

BOOST_AUTO_TEST_CASE(a_connect_reply_that_is_not_http_is_named) {
  HostileProxy proxy("http-garbage");
  auto d = deliver(site_settings(via_proxy("fwTunnel", proxy.port())), {message(1)});
  BOOST_TEST(d.verdict() == "PROXY_FAILED", d.why());
  BOOST_REQUIRE(d.open_failure);
  BOOST_TEST(d.open_failure->detail == "the proxy did not answer with an HTTP status line: \"SSH-2.0-OpenSSH_9.2\"", d.why());
}

BOOST_AUTO_TEST_CASE(bogus_socks_replies_are_proxy_failures) {
  {
    HostileProxy proxy("socks5-bad-atyp");
    auto d = deliver(site_settings(via_proxy("fwSOCKS5", proxy.port())), {message(1)});
    BOOST_TEST(d.verdict() == "PROXY_FAILED", d.why());
    BOOST_REQUIRE(d.open_failure);
    BOOST_TEST(d.open_failure->detail == "the SOCKS5 proxy's CONNECT reply has an unknown address type 9", d.why());
  }
  {
    HostileProxy proxy("socks5-bad-version");
    auto d = deliver(site_settings(via_proxy("fwSOCKS5", proxy.port())), {message(1)});
    BOOST_TEST(d.verdict() == "PROXY_FAILED", d.why());
    BOOST_REQUIRE(d.open_failure);
    BOOST_TEST(d.open_failure->detail == "the SOCKS5 proxy's CONNECT reply is malformed (version 4, expected 5)", d.why());
  }
  {
    HostileProxy proxy("socks4-bad-version");
    auto d = deliver(site_settings(via_proxy("fwSOCKS4A", proxy.port())), {message(1)});
    BOOST_TEST(d.verdict() == "PROXY_FAILED", d.why());
    BOOST_REQUIRE(d.open_failure);
    BOOST_TEST(d.open_failure->detail == "not a SOCKS4 proxy (reply version 72, expected 0)", d.why());
  }
}

BOOST_AUTO_TEST_SUITE_END()
