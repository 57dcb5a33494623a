// test_proxy.cpp — delivery through real proxies: microsocks (SOCKS5 with RFC 1929
// user/password), dante-server (SOCKS4 and SOCKS4A), tinyproxy (HTTP CONNECT with Basic
// auth). Each case asserts the message arrived, the proxy's own log shows it carried the
// connection, and bad credentials give PROXY_FAILED with the reason.
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <fstream>

#include "engine_fixture.hpp"
#include "support.hpp"

using namespace sitemail;
using namespace sitemail::test;

namespace {

std::string via(const char* type, int proxy_port, int relay_port, const std::string& user = "", const std::string& pass = "") {
  std::string x = "<EMailSMTPPort>" + std::to_string(relay_port) + "</EMailSMTPPort><FirewallType>" + type +
                  "</FirewallType><FirewallHost>127.0.0.1</FirewallHost><FirewallPort>" + std::to_string(proxy_port) +
                  "</FirewallPort>";
  if (!user.empty()) x += "<FirewallUser>" + user + "</FirewallUser>";
  if (!pass.empty()) x += "<FirewallPassword>" + pass + "</FirewallPassword>";
  return x;
}

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

BOOST_AUTO_TEST_SUITE(proxies)

BOOST_AUTO_TEST_CASE(socks5_with_user_and_password_via_microsocks) {
  PyRelay relay("");
  int port = free_port();
  Peer proxy("microsocks", "/usr/bin/microsocks -i 127.0.0.1 -p " + std::to_string(port) + " -u pxuser -P pxpass", port);
  auto d = deliver(site_settings(via("fwSOCKS5", port, relay.port(), "pxuser", "pxpass")), {message(1)});
  BOOST_REQUIRE_MESSAGE(d.verdict() == "OK", d.why());
  BOOST_TEST(relay.received().size() == 1u);
  BOOST_TEST(proxy.log().find(":" + std::to_string(relay.port())) != std::string::npos, proxy.log());
  auto bad = deliver(site_settings(via("fwSOCKS5", port, relay.port(), "pxuser", "wrong")), {message(2)});
  BOOST_TEST(bad.verdict() == "PROXY_FAILED", bad.why());
  BOOST_TEST(bad.open_failure->detail == "proxy authentication failed");
  auto none = deliver(site_settings(via("fwSOCKS5", port, relay.port())), {message(3)});
  BOOST_TEST(none.verdict() == "PROXY_FAILED", none.why());
  BOOST_TEST(none.open_failure->detail.find("requires authentication") != std::string::npos, none.why());
  BOOST_TEST(relay.received().size() == 1u);
}

BOOST_AUTO_TEST_CASE(socks4_via_dante) {
  PyRelay relay("");
  int port = free_port();
  TempDir dir("dante");
  std::string conf = "logoutput: " + dir.path() + "/danted.log\ninternal: 127.0.0.1 port = " + std::to_string(port) +
                     "\nexternal: 127.0.0.1\nclientmethod: none\nsocksmethod: none\n";
  if (getuid() == 0) conf += "user.privileged: root\nuser.unprivileged: nobody\n";
  conf += "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 log: connect }\n"
          "socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 log: connect }\n";
  write_file(dir.path() + "/danted.conf", conf);
  run("chmod 777 " + dir.path());
  Peer proxy("dante", "/usr/sbin/danted -f " + dir.path() + "/danted.conf", port);
  auto d4 = deliver(site_settings(via("fwSOCKS4", port, relay.port(), "ill")), {message(1)});
  BOOST_TEST(d4.verdict() == "OK", d4.why());
  BOOST_TEST(relay.received().size() == 1u);
  auto log = slurp(dir.path() + "/danted.log");
  BOOST_TEST(log.find("127.0.0.1." + std::to_string(relay.port())) != std::string::npos, log);
  int closed = free_port();
  auto refused = deliver(site_settings(via("fwSOCKS4", port, closed)), {message(3)});
  BOOST_TEST(refused.verdict() == "PROXY_FAILED", refused.why());
  BOOST_TEST(refused.open_failure->remote == "reply code 91");
}

BOOST_AUTO_TEST_CASE(socks4a_sends_the_host_name_to_the_proxy) {
  PyRelay relay("");
  int port = free_port();
  Peer proxy("socks4a",
             "/usr/bin/python3 " + std::string(SITEMAIL_SOURCE_DIR) + "/tests/integration/peers/socks4a_proxy.py --port " +
                 std::to_string(port) + " --log requests.log",
             port);
  auto s = site_settings(via("fwSOCKS4A", port, relay.port(), "ill") + "<EMailSMTPServer>localhost</EMailSMTPServer>");
  auto d = deliver(s, {message(1)});
  BOOST_TEST(d.verdict() == "OK", d.why());
  BOOST_TEST(relay.received().size() == 1u);
  BOOST_TEST(slurp(proxy.dir() + "/requests.log") == "CONNECT ill localhost:" + std::to_string(relay.port()) + "\n");
}

BOOST_AUTO_TEST_CASE(http_connect_with_basic_auth_via_tinyproxy) {
  PyRelay relay("");
  int port = free_port();
  TempDir dir("tinyproxy");
  std::string conf = "Port " + std::to_string(port) +
                     "\nListen 127.0.0.1\nTimeout 30\nAllow 127.0.0.1\nBasicAuth pxuser pxpass\n"
                     "LogFile \"" +
                     dir.path() + "/tinyproxy.log\"\nLogLevel Connect\nMaxClients 20\n";
  if (getuid() == 0) conf += "User nobody\nGroup nogroup\n";
  write_file(dir.path() + "/tinyproxy.conf", conf);
  run("chmod 777 " + dir.path());
  Peer proxy("tinyproxy", "/usr/bin/tinyproxy -d -c " + dir.path() + "/tinyproxy.conf", port);
  auto d = deliver(site_settings(via("fwTunnel", port, relay.port(), "pxuser", "pxpass")), {message(1)});
  BOOST_REQUIRE_MESSAGE(d.verdict() == "OK", d.why());
  BOOST_TEST(relay.received().size() == 1u);
  auto log = slurp(dir.path() + "/tinyproxy.log");
  BOOST_TEST(log.find("127.0.0.1:" + std::to_string(relay.port())) != std::string::npos, log);
  auto bad = deliver(site_settings(via("fwTunnel", port, relay.port(), "pxuser", "nope")), {message(2)});
  BOOST_TEST(bad.verdict() == "PROXY_FAILED", bad.why());
  BOOST_TEST(bad.open_failure->detail == "proxy authentication failed");
  BOOST_TEST(bad.open_failure->remote.find(" 40") != std::string::npos, bad.open_failure->remote);  // 407 (tinyproxy: 401)
}

BOOST_AUTO_TEST_CASE(proxy_down_is_proxy_failed) {
  PyRelay relay("");
  auto d = deliver(site_settings(via("fwSOCKS5", free_port(), relay.port())), {message(1)});
  BOOST_TEST(d.verdict() == "PROXY_FAILED", d.why());
  BOOST_TEST(d.open_failure->detail.find("Connection refused") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
