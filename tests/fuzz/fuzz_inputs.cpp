// fuzz_inputs.cpp — deterministic fuzzing (fixed seed, runs under ASan/UBSan in CI):
// mutated MailSettings files, random bytes into the SMTP reply parser and the session,
// random message bodies through the builder. Nothing may crash, and the invariants that
// keep SMTP safe must hold for every input (CRLF only, lines <= 998, one end-of-data).
#define BOOST_TEST_MODULE sitemail_fuzz
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <random>
#include <sstream>

#include "mail_settings_file.hpp"
#include "resolver.hpp"
#include "session.hpp"

using namespace sitemail;
using namespace sitemail::smtp;

namespace {

std::string sample() {
  std::ifstream in(SITEMAIL_FIXTURES "/illiad_sample.config");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string mutate(std::string s, std::mt19937& rng) {
  std::uniform_int_distribution<int> op(0, 3), byte(0, 255);
  int n = 1 + static_cast<int>(rng() % 8);
  for (int i = 0; i < n && !s.empty(); ++i) {
    std::size_t pos = rng() % s.size();
    switch (op(rng)) {
      case 0: s[pos] = static_cast<char>(byte(rng)); break;
      case 1: s.erase(pos, 1 + rng() % 16); break;
      case 2: s.insert(pos, s.substr(rng() % s.size(), 1 + rng() % 32)); break;
      case 3: s.insert(pos, 1, "<>/&\"'\n\r\0="[rng() % 11]); break;
    }
  }
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(robustness)

BOOST_AUTO_TEST_CASE(mutated_mail_settings_files_never_crash_and_always_explain) {
  std::mt19937 rng(20261124);
  const auto base = sample();
  ResolveEnv env;
  env.host_fqdn = "h.example";
  int malformed = 0;
  for (int i = 0; i < 3000; ++i) {
    auto text = mutate(base, rng);
    auto layer = parse_mail_settings(text, "F.config");
    for (const auto& d : layer.diagnostics) {
      BOOST_TEST(d.where.starts_with("F.config"));
      BOOST_TEST(!d.message.empty());
      malformed += d.message.starts_with("malformed XML");
    }
    auto r = resolve_site("F", SiteLayers{nullptr, nullptr, nullptr, &layer}, env);
    BOOST_TEST((r.valid == !has_errors(r.diagnostics)));
  }
  BOOST_TEST(malformed > 100);  // the mutations do reach the error paths
}

// Tag soup: deep, unbalanced, self-closing and comment-laden nesting in random mixes. The
// bounds scan runs before the recursive parser, so no input reaches it deeper than the limit.
BOOST_AUTO_TEST_CASE(random_tag_soup_never_crashes_and_depth_stays_bounded) {
  std::mt19937 rng(99);
  const std::vector<std::string> pieces = {"<a>",
                                           "</a>",
                                           "<b/>",
                                           "<!--",
                                           "-->",
                                           "<![CDATA[",
                                           "]]>",
                                           "<?x",
                                           "?>",
                                           "<MailSettings>",
                                           "</MailSettings>",
                                           "<Timeout>",
                                           "</Timeout>",
                                           "5",
                                           "\n",
                                           "<a x='>'>",
                                           "<",
                                           ">",
                                           "&amp;",
                                           "\xC3\xA9",
                                           "\xE9"};
  int refused_depth = 0;
  for (int i = 0; i < 400; ++i) {
    std::string text;
    const int n = static_cast<int>(rng() % 4000);
    const bool deep = i % 4 == 0;
    // (the deep inputs leave out the Latin-1 byte, which the encoding check would refuse first)
    const std::size_t choices = deep ? pieces.size() - 1 : pieces.size();
    for (int k = 0; k < n; ++k) text += deep && k < n / 2 ? std::string("<a>") : pieces[rng() % choices];
    auto layer = parse_mail_settings(text, "S.config");
    for (const auto& d : layer.diagnostics) {
      BOOST_TEST(d.where.starts_with("S.config"));
      refused_depth += d.message.find("exceeds the limit of 16 levels") != std::string::npos;
    }
  }
  BOOST_TEST(refused_depth > 10);
}

BOOST_AUTO_TEST_CASE(random_bytes_from_a_relay_never_crash_the_session) {
  std::mt19937 rng(7);
  auto db = layer_from_db_rows(
      "db:ILL",
      {{"EMailSMTPServer", "r.example"}, {"User", "u"}, {"Password", "p"}, {"EMailSMTPPort", "587"}, {"EMailSecure", "Yes"}});
  ResolveEnv env;
  env.host_fqdn = "h.example";
  auto s = resolve_site("X", SiteLayers{&db, nullptr, nullptr, nullptr}, env).settings;
  auto plain_db = layer_from_db_rows("db:ILL", {{"EMailSMTPServer", "r.example"}});
  auto plain = resolve_site("Y", SiteLayers{&plain_db, nullptr, nullptr, nullptr}, env).settings;
  const std::vector<std::string> pieces = {"220 ok\r\n",
                                           "250-x\r\n",
                                           "250 STARTTLS\r\n",
                                           "250 AUTH PLAIN LOGIN\r\n",
                                           "334 \r\n",
                                           "235 ok\r\n",
                                           "354 go\r\n",
                                           "421 bye\r\n",
                                           "550 no\r\n",
                                           "\r\n",
                                           "2",
                                           "50 ",
                                           "\n"};
  const BuiltMessage m =
      make_built("a@b.example", std::vector<std::string>{"c@d.example", "e@f.example"}, "Subject: x\r\n\r\nbody\r\n", "<1@b>");
  int sent = 0, failed = 0;
  for (int i = 0; i < 2000; ++i) {
    Session ses(session_params(i % 2 ? *s : *plain));  // STARTTLS + AUTH, or plain
    for (int k = 0; k < 40; ++k) {
      auto a = ses.next();
      if (a == Session::Action::write) {
        BOOST_TEST(ses.take_output().ends_with("\r\n"));
      } else if (a == Session::Action::read) {
        std::string chunk =
            (rng() % 4 == 0) ? std::string(1 + rng() % 40, static_cast<char>(rng() % 256)) : pieces[rng() % pieces.size()];
        ses.on_bytes(chunk);
      } else if (a == Session::Action::start_tls) {
        ses.on_tls_started();
      } else if (a == Session::Action::ready) {
        ses.send(m);  // m outlives the session
        ++sent;
      } else if (a == Session::Action::failed) {
        BOOST_TEST(!ses.failure().describe().empty());
        ++failed;
        break;
      } else if (a == Session::Action::closed) {
        break;
      }
    }
  }
  BOOST_TEST(sent > 0);
  BOOST_TEST(failed > 0);
}

BOOST_AUTO_TEST_CASE(random_bodies_keep_the_wire_format_safe) {
  std::mt19937 rng(42);
  auto db = layer_from_db_rows("db:ILL", {{"EMailSMTPServer", "r.example"}, {"From", "f@x.example"}});
  ResolveEnv env;
  env.host_fqdn = "h.example";
  auto s = resolve_site("X", SiteLayers{&db, nullptr, nullptr, nullptr}, env).settings;
  const std::string alphabet = std::string("ab .\r\n\t=\xc3\xa9\0", 11);  // NUL included on purpose
  for (int i = 0; i < 2000; ++i) {
    auto m = outbox_row(i, "X", "t@y.example", "", "", "", "", "", "s", "", "", "");
    std::size_t len = rng() % 3000;
    for (std::size_t k = 0; k < len; ++k)
      m.body_text += (rng() % 50 == 0) ? static_cast<char>(rng() % 256) : alphabet[rng() % alphabet.size()];
    if (rng() % 2) m.body_html = m.body_text.substr(0, m.body_text.size() / 2);
    auto r = build_message(m, *s, 0);
    BOOST_REQUIRE(r.message);
    const auto wire = dot_stuff(r.message->data);
    std::size_t line = 0;
    for (std::size_t k = 0; k < wire.size(); ++k) {
      if (wire[k] == '\r') BOOST_REQUIRE(k + 1 < wire.size() && wire[k + 1] == '\n');
      if (wire[k] == '\n') {
        BOOST_REQUIRE(k > 0 && wire[k - 1] == '\r');
        BOOST_REQUIRE(line <= 999u);
        line = 0;
      } else {
        ++line;
      }
    }
    BOOST_REQUIRE(wire.find("\r\n.\r\n") == wire.size() - 5);
  }
}

BOOST_AUTO_TEST_SUITE_END()
