// test_engine.cpp — the SMTP engine against real relays (aiosmtpd, Postfix smtp-sink):
// envelope, headers and exact body bytes as received, TLS modes and verification,
// pinning, client certificates of every store type, AUTH mechanisms, faults, timeouts,
// STARTTLS injection, smuggling, and several messages on one connection.
#define BOOST_TEST_MODULE sitemail_integration_engine
#include <boost/test/unit_test.hpp>
#include <fstream>

#include "codec.hpp"
#include "engine_fixture.hpp"
#include "support.hpp"

using namespace sitemail;
using namespace sitemail::test;

namespace {

std::string port_xml(int port, const std::string& suffix = "") {
  return "<EMailSMTPPort>" + std::to_string(port) + suffix + "</EMailSMTPPort>";
}
std::string relay_tls(const std::string& mode) {
  return "--tls " + mode + " --cert " + certs_dir() + "/relay.pem --key " + certs_dir() + "/relay.key";
}
const char* kVerify = "<SslCaFile>ca.pem</SslCaFile>";

}  // namespace

BOOST_AUTO_TEST_SUITE(plain)

BOOST_AUTO_TEST_CASE(envelope_headers_and_exact_body_arrive) {
  PyRelay relay("");
  auto s = site_settings(port_xml(relay.port()) + "<EMailFromName>Inter Library</EMailFromName>");
  auto m = message(7, "One <one@dest.example>, two@dest.example");
  m.cc = "three@dest.example";
  m.bcc = "hidden@dest.example";
  std::vector<smtp::BuiltMessage> built;
  auto d = deliver(s, {m}, &built);
  BOOST_REQUIRE_MESSAGE(d.verdict() == "OK", d.why());
  auto got = relay.received();
  BOOST_REQUIRE_EQUAL(got.size(), 1u);
  BOOST_TEST(got[0].mail_from == "ill@lib.example");
  BOOST_TEST(got[0].rcpt_tos ==
             (std::vector<std::string>{"one@dest.example", "two@dest.example", "three@dest.example", "hidden@dest.example"}));
  BOOST_TEST(got[0].data == built[0].data);
  BOOST_TEST(got[0].data.find("From: Inter Library <ill@lib.example>\r\n") != std::string::npos);
  BOOST_TEST(got[0].data.find("Message-ID: <sitemail.7.t@lib.example>\r\n") != std::string::npos);
  BOOST_TEST(got[0].data.find("hidden") == std::string::npos);
  BOOST_TEST(!got[0].tls);
  BOOST_TEST(got[0].auth.empty());
}

BOOST_AUTO_TEST_CASE(smuggling_attempt_arrives_as_one_message_with_exact_bytes) {
  PyRelay relay("");
  auto s = site_settings(port_xml(relay.port()));
  auto m = message(8);
  m.body_text = "line one\n.\nMAIL FROM:<evil@x.example>\nRCPT TO:<victim@x.example>\nDATA\n\r\n.\r\nbare\rcr\n";
  std::vector<smtp::BuiltMessage> built;
  auto d = deliver(s, {m}, &built);
  BOOST_REQUIRE_MESSAGE(d.verdict() == "OK", d.why());
  auto got = relay.received();
  BOOST_REQUIRE_EQUAL(got.size(), 1u);  // exactly one message: nothing was smuggled
  BOOST_TEST(got[0].rcpt_tos == std::vector<std::string>{"rcpt@dest.example"});
  BOOST_TEST(got[0].data == built[0].data);
  BOOST_TEST(got[0].data.find("\r\n.\r\nMAIL FROM:<evil@x.example>\r\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(several_messages_share_one_connection) {
  PyRelay relay("");
  auto s = site_settings(port_xml(relay.port()));
  auto d = deliver(s, {message(1), message(2), message(3)});
  BOOST_REQUIRE_MESSAGE(d.verdict() == "OK", d.why());
  auto got = relay.received();
  BOOST_REQUIRE_EQUAL(got.size(), 3u);
  BOOST_TEST(got[0].session == got[2].session);
  int rsets = 0;  // each message ended cleanly: nothing to reset between them
  for (const auto& l : d.transcript) rsets += l == "C: RSET";
  BOOST_TEST(rsets == 0);
}

BOOST_AUTO_TEST_CASE(helo_only_when_extensions_are_off) {
  PyRelay relay("");
  auto s = site_settings(port_xml(relay.port()) + "<AllowExtensions>false</AllowExtensions>");
  auto d = deliver(s, {message(1)});
  BOOST_REQUIRE_MESSAGE(d.verdict() == "OK", d.why());
  BOOST_TEST(d.transcript[1] == "C: HELO client.example");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(tls)

BOOST_AUTO_TEST_CASE(starttls_verified_against_the_ca) {
  PyRelay relay(relay_tls("starttls"));
  auto s =
      site_settings(port_xml(relay.port()) + "<EMailSecure>Yes</EMailSecure><SslStartMode>sslExplicit</SslStartMode>" + kVerify);
  auto d = deliver(s, {message(1)});
  BOOST_REQUIRE_MESSAGE(d.verdict() == "OK", d.why());
  BOOST_TEST(d.tls);
  BOOST_REQUIRE_EQUAL(relay.received().size(), 1u);
  BOOST_TEST(relay.received()[0].tls);
  int ehlos = 0;
  for (const auto& l : d.transcript) ehlos += l.starts_with("C: EHLO");
  BOOST_TEST(ehlos == 2);  // EHLO again after TLS starts
}

BOOST_AUTO_TEST_CASE(starttls_by_port_suffix_and_opportunistic) {
  PyRelay relay(relay_tls("starttls"));
  auto d = deliver(site_settings(port_xml(relay.port(), "-starttls") + kVerify), {message(1)});
  BOOST_TEST(d.verdict() == "OK", d.why());
  BOOST_TEST(d.tls);
  auto o = deliver(site_settings(port_xml(relay.port()) +
                                 "<EMailSecure>Yes</EMailSecure><SslStartMode>sslOpportunistic</SslStartMode>" + kVerify),
                   {message(2)});
  BOOST_TEST(o.verdict() == "OK", o.why());
  BOOST_TEST(o.tls);
  PyRelay plain("");
  auto p = deliver(site_settings(port_xml(plain.port()) + "<EMailSecure>Yes</EMailSecure><SslStartMode>4</SslStartMode>"),
                   {message(3)});
  BOOST_TEST(p.verdict() == "OK", p.why());
  BOOST_TEST(!p.tls);  // opportunistic: not offered, so plain
}

BOOST_AUTO_TEST_CASE(starttls_required_but_not_offered_sends_nothing) {
  PyRelay relay("");
  auto d = deliver(site_settings(port_xml(relay.port(), "-starttls")), {message(1)});
  BOOST_TEST(d.verdict() == "TLS_FAILED", d.why());
  BOOST_TEST(relay.received().empty());
}

BOOST_AUTO_TEST_CASE(implicit_tls) {
  PyRelay relay(relay_tls("implicit"));
  auto d = deliver(site_settings(port_xml(relay.port(), "-ssl") + kVerify), {message(1)});
  BOOST_REQUIRE_MESSAGE(d.verdict() == "OK", d.why());
  BOOST_TEST(relay.received().at(0).tls);
  auto auto_mode = deliver(site_settings(port_xml(relay.port()) + "<EMailSecure>Yes</EMailSecure>" + kVerify), {message(2)});
  BOOST_TEST(auto_mode.verdict() == "OK", auto_mode.why());  // sslAutomatic on a non-25/587/2525 port: implicit
}

BOOST_AUTO_TEST_CASE(unverifiable_relays_are_refused) {
  PyRelay relay(relay_tls("starttls"));
  auto no_ca = deliver(site_settings(port_xml(relay.port(), "-starttls")), {message(1)});
  BOOST_TEST(no_ca.verdict() == "TLS_FAILED", no_ca.why());
  BOOST_TEST(no_ca.open_failure->detail.find("certificate verification failed") != std::string::npos, no_ca.why());
  PyRelay wrong("--tls starttls --cert " + certs_dir() + "/wrong.pem --key " + certs_dir() + "/wrong.key");
  auto w = deliver(site_settings(port_xml(wrong.port(), "-starttls") + kVerify), {message(2)});
  BOOST_TEST(w.verdict() == "TLS_FAILED", w.why());
  BOOST_TEST(w.open_failure->detail.find("address mismatch") != std::string::npos, w.why());  // IP 127.0.0.1 not in wrong.pem
  BOOST_TEST(relay.received().empty());
  BOOST_TEST(wrong.received().empty());
}

BOOST_AUTO_TEST_CASE(pinning_by_pem_fingerprint_and_star) {
  PyRelay relay("--tls implicit --cert " + certs_dir() + "/selfsigned.pem --key " + certs_dir() + "/selfsigned.key");
  std::string pem = slurp(certs_dir() + "/selfsigned.pem");
  auto by_pem = deliver(site_settings(port_xml(relay.port(), "-ssl") + "<SslAcceptServerCert>" + pem + "</SslAcceptServerCert>"),
                        {message(1)});
  BOOST_TEST(by_pem.verdict() == "OK", by_pem.why());
  auto fp = run("openssl x509 -in " + certs_dir() + "/selfsigned.pem -noout -fingerprint -sha256 | cut -d= -f2").out;
  fp.pop_back();
  auto by_fp = deliver(site_settings(port_xml(relay.port(), "-ssl") + "<SslAcceptServerCert>" + fp + "</SslAcceptServerCert>"),
                       {message(2)});
  BOOST_TEST(by_fp.verdict() == "OK", by_fp.why());
  std::string other = slurp(certs_dir() + "/relay.pem");
  auto wrong = deliver(site_settings(port_xml(relay.port(), "-ssl") + "<SslAcceptServerCert>" + other + "</SslAcceptServerCert>"),
                       {message(3)});
  BOOST_TEST(wrong.verdict() == "TLS_FAILED", wrong.why());
  BOOST_TEST(wrong.open_failure->detail.find("is not the one pinned") != std::string::npos);
  auto star =
      deliver(site_settings(port_xml(relay.port(), "-ssl") + "<SslAcceptServerCert>*</SslAcceptServerCert>"), {message(4)});
  BOOST_TEST(star.verdict() == "OK", star.why());
  BOOST_TEST(relay.received().size() == 3u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(client_certificates)

BOOST_AUTO_TEST_CASE(every_store_type_presents_the_certificate) {
  PyRelay relay(relay_tls("implicit") + " --client-ca " + certs_dir() + "/ca.pem");
  const std::string base = port_xml(relay.port(), "-ssl") + kVerify;
  std::string pfx_blob = codec::base64(slurp(certs_dir() + "/client.pfx"));
  std::string inline_pem = slurp(certs_dir() + "/client.pem");
  run("mkdir -p " + certs_dir() + "/certs/MY && cp " + certs_dir() + "/other-full.pem " + certs_dir() + "/client.pem " +
      certs_dir() + "/certs/MY/");
  const std::pair<const char*, std::string> cases[] = {
      {"sstUser PEM file", "<SslCertStoreType>sstUser</SslCertStoreType><SslCertStore>client.pem</SslCertStore>"},
      {"sstPEMKey encrypted key", "<SslCertStoreType>sstPEMKey</SslCertStoreType><SslCertStore>client-enc.pem</SslCertStore>"
                                  "<SslCertStorePassword>pempass</SslCertStorePassword>"},
      {"sstPEMKey inline", "<SslCertStoreType>4</SslCertStoreType><SslCertStore>" + inline_pem + "</SslCertStore>"},
      {"sstPFXFile", "<SslCertStoreType>sstPFXFile</SslCertStoreType><SslCertStore>client.pfx</SslCertStore>"
                     "<SslCertStorePassword>pfxpass</SslCertStorePassword>"},
      {"sstPFXBlob", "<SslCertStoreType>sstPFXBlob</SslCertStoreType><SslCertStore>" + pfx_blob +
                         "</SslCertStore>"
                         "<SslCertStorePassword>pfxpass</SslCertStorePassword>"},
      {"sstMachine by subject substring", "<SslCertStoreType>sstMachine</SslCertStoreType><SslCertStore>MY</SslCertStore>"
                                          "<SslCertSubject>sitemail client</SslCertSubject>"},
      {"sstMachine by encoded cert", "<SslCertStoreType>sstMachine</SslCertStoreType><SslCertStore>MY</SslCertStore>"
                                     "<SslCertEncoded>" +
                                         slurp(certs_dir() + "/client.crt") + "</SslCertEncoded>"},
  };
  std::size_t n = 0;
  for (const auto& [name, xml] : cases) {
    BOOST_TEST_CONTEXT(name) {
      auto d = deliver(site_settings(base + xml), {message(static_cast<long long>(++n))});
      BOOST_TEST(d.verdict() == "OK", d.why());
      auto got = relay.received();
      BOOST_REQUIRE_EQUAL(got.size(), n);
      BOOST_TEST(got.back().client_subject.find("commonName=sitemail client") != std::string::npos, got.back().client_subject);
    }
  }
  auto none = deliver(site_settings(base), {message(99)});
  BOOST_TEST(none.verdict() != "OK");
  auto wrong_pw =
      deliver(site_settings(base + "<SslCertStoreType>sstPFXFile</SslCertStoreType><SslCertStore>client.pfx</SslCertStore>"
                                   "<SslCertStorePassword>nope</SslCertStorePassword>"),
              {message(100)});
  BOOST_TEST(wrong_pw.verdict() == "CONFIG_INVALID", wrong_pw.why());
  BOOST_TEST(wrong_pw.open_failure->detail.find("wrong SslCertStorePassword") != std::string::npos, wrong_pw.why());
  auto no_match = deliver(site_settings(base + "<SslCertStoreType>sstMachine</SslCertStoreType><SslCertStore>MY</SslCertStore>"
                                               "<SslCertSubject>nobody here</SslCertSubject>"),
                          {message(101)});
  BOOST_TEST(no_match.verdict() == "CONFIG_INVALID", no_match.why());
  BOOST_TEST(relay.received().size() == n);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(auth)

BOOST_AUTO_TEST_CASE(each_mechanism_and_auto_over_tls) {
  PyRelay relay(relay_tls("starttls") + " --user alice:s3cret");
  const std::string base = port_xml(relay.port(), "-starttls") + kVerify + "<User>alice</User><Password>s3cret</Password>";
  const std::pair<const char*, const char*> cases[] = {
      {"LoginPlainMethod", "PLAIN"}, {"AuthLoginMethod", "LOGIN"}, {"CramMD5Method", "CRAM-MD5"}, {"Auto", "CRAM-MD5"}};
  std::size_t n = 0;
  for (auto [method, used] : cases) {
    BOOST_TEST_CONTEXT(method) {
      auto d = deliver(site_settings(base + "<AuthMethod>" + method + "</AuthMethod>"), {message(static_cast<long long>(++n))});
      BOOST_TEST(d.verdict() == "OK", d.why());
      BOOST_TEST(d.auth == used);
      BOOST_REQUIRE_EQUAL(relay.received().size(), n);
      BOOST_TEST(relay.received().back().auth == used);
      for (const auto& l : d.transcript) BOOST_TEST(l.find("s3cret") == std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(xoauth2_with_a_bearer_token) {
  PyRelay relay(relay_tls("starttls") + " --user alice:unused --mechs PLAIN --token tok-123");
  const std::string base = port_xml(relay.port(), "-starttls") + kVerify + "<User>alice</User>";
  auto d = deliver(site_settings(base + "<OAuthToken>tok-123</OAuthToken>"), {message(1)});
  BOOST_TEST(d.verdict() == "OK", d.why());
  BOOST_TEST(d.auth == "XOAUTH2");  // Auto prefers the token when one is set
  BOOST_REQUIRE_EQUAL(relay.received().size(), 1u);
  BOOST_TEST(relay.received()[0].auth == "XOAUTH2");
  for (const auto& l : d.transcript) BOOST_TEST(l.find("tok-123") == std::string::npos);
  auto bad = deliver(site_settings(base + "<OAuthToken>expired</OAuthToken><AuthMethod>XOAUTH2</AuthMethod>"), {message(2)});
  BOOST_TEST(bad.verdict() == "AUTH_FAILED", bad.why());
  BOOST_TEST(relay.auth_log() == "XOAUTH2 ok\nXOAUTH2 fail\n");
}

BOOST_AUTO_TEST_CASE(wrong_password_is_auth_failed) {
  PyRelay relay(relay_tls("starttls") + " --user alice:s3cret");
  auto d = deliver(site_settings(port_xml(relay.port(), "-starttls") + kVerify + "<User>alice</User><Password>wrong</Password>"),
                   {message(1)});
  BOOST_TEST(d.verdict() == "AUTH_FAILED", d.why());
  BOOST_TEST((d.open_failure->kind == smtp::FailureKind::auth));
  BOOST_TEST(relay.received().empty());
}

BOOST_AUTO_TEST_CASE(no_clear_password_without_tls_unless_named) {
  PyRelay relay("--user alice:s3cret --mechs PLAIN,LOGIN");
  const std::string base = port_xml(relay.port()) + "<User>alice</User><Password>s3cret</Password>";
  auto d = deliver(site_settings(base), {message(1)});
  BOOST_TEST(d.verdict() == "AUTH_FAILED", d.why());
  BOOST_TEST(relay.auth_log().empty());  // the password never left
  auto named = deliver(site_settings(base + "<AuthMethod>PLAIN</AuthMethod>"), {message(2)});
  BOOST_TEST(named.verdict() == "OK", named.why());
  BOOST_TEST(relay.auth_log() == "PLAIN ok\n");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(faults)

BOOST_AUTO_TEST_CASE(smtp_sink_faults_are_classified) {
  struct Case {
    const char* flags;
    const char* verdict;
    smtp::FailureKind kind;
  };
  const Case cases[] = {
      {"-f rcpt", "REJECTED", smtp::FailureKind::permanent}, {"-f mail", "REJECTED", smtp::FailureKind::permanent},
      {"-f .", "REJECTED", smtp::FailureKind::permanent},    {"-r rcpt", "FAILED", smtp::FailureKind::transient},
      {"-r data", "FAILED", smtp::FailureKind::transient},   {"-q rcpt", "FAILED", smtp::FailureKind::transient},
      {"-Q mail", "FAILED", smtp::FailureKind::transient},   {"-q connect", "FAILED", smtp::FailureKind::transient},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.flags) {
      SmtpSink sink(c.flags);
      auto d = deliver(site_settings(port_xml(sink.port())), {message(1)});
      BOOST_TEST(d.verdict() == c.verdict, d.why());
      const auto& f = d.open_failure ? *d.open_failure : *d.results.at(0).failure;
      BOOST_TEST((f.kind == c.kind), smtp::kind_name(f.kind));
      // smtp-sink -d writes a file per transaction it saw begin (even one it then refused),
      // so "nothing arrived" is only checkable when MAIL itself never succeeded.
      const std::string flags = c.flags;
      if (flags == "-f mail" || flags == "-Q mail" || flags == "-q connect") BOOST_TEST(sink.messages() == 0);
    }
  }
  SmtpSink ok;
  auto d = deliver(site_settings(port_xml(ok.port())), {message(1), message(2)});
  BOOST_TEST(d.verdict() == "OK", d.why());
  BOOST_TEST(ok.messages() == 2);
}

BOOST_AUTO_TEST_CASE(inactivity_timeout_applies_and_zero_means_none) {
  SmtpSink slow("-W connect:3");
  auto t0 = std::chrono::steady_clock::now();
  auto d = deliver(site_settings(port_xml(slow.port()) + "<Timeout>1</Timeout>"), {message(1)});
  auto took = std::chrono::steady_clock::now() - t0;
  BOOST_TEST(d.verdict() == "FAILED", d.why());
  BOOST_TEST(d.open_failure->detail.find("timed out after 1 s") != std::string::npos, d.why());
  BOOST_TEST((took < std::chrono::milliseconds(2900)));
  auto patient = deliver(site_settings(port_xml(slow.port()) + "<Timeout>0</Timeout>"), {message(2)});
  BOOST_TEST(patient.verdict() == "OK", patient.why());
}

BOOST_AUTO_TEST_CASE(connection_refused_is_connect_failed) {
  int port = free_port();
  auto d = deliver(site_settings(port_xml(port)), {message(1)});
  BOOST_TEST(d.verdict() == "CONNECT_FAILED", d.why());
  BOOST_TEST((d.open_failure->kind == smtp::FailureKind::transient));
}

BOOST_AUTO_TEST_CASE(starttls_injection_aborts_before_tls) {
  int port = free_port();
  Peer hostile("inject",
               "/usr/bin/python3 " + std::string(SITEMAIL_SOURCE_DIR) + "/tests/integration/peers/inject_server.py --port " +
                   std::to_string(port) + " --log " + "received.log",
               port);
  auto d = deliver(site_settings(port_xml(port, "-starttls") + kVerify), {message(1)});
  BOOST_TEST(d.verdict() == "TLS_FAILED", d.why());
  BOOST_TEST(d.open_failure->detail.find("sent data after its 220 reply to STARTTLS") != std::string::npos);
  auto log = slurp(hostile.dir() + "/received.log");
  BOOST_TEST(log.find("MAIL") == std::string::npos, log);
}

BOOST_AUTO_TEST_SUITE_END()
