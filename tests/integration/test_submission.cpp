// test_submission.cpp — the SMTP submission door (CONTRACT §9) with real clients against the
// real sitemaild: accounts made with sitemailctl, Python's smtplib over STARTTLS and implicit
// TLS, swaks and msmtp; the row read back (site, envelope, raw_message with Received:);
// trusted networks from another 127.0.0.0/8 address; sender and rate policy; every refusal
// with its exact code; the connection cap and the idle limit; SIGKILL right after a 250.
#define BOOST_TEST_MODULE integration_submission
#include <boost/test/unit_test.hpp>

#include <future>
#include <set>

#include "submission_fixture.hpp"

using namespace sitemail;
using namespace sitemail::test;

namespace {

struct Row {
  std::string site, from, to, raw, by;
};

Row row(Door& d, long long id) {
  auto r = d.env.db.conn().exec(
      "SELECT nvtgc, from_addr, to_addrs, convert_from(raw_message, 'UTF8'), submitted_by FROM outbox WHERE id = $1",
      {std::to_string(id)});
  BOOST_REQUIRE_EQUAL(r.rows(), 1);
  return {r.get(0, 0), r.get(0, 1), r.get(0, 2), r.get(0, 3), r.get(0, 4)};
}

int connect_to(int port, const char* from = nullptr) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (from) {
    sockaddr_in b{};
    b.sin_family = AF_INET;
    inet_pton(AF_INET, from, &b.sin_addr);
    static_cast<void>(bind(s, reinterpret_cast<sockaddr*>(&b), sizeof b));  // connect() reports a failure
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(s);
    return -1;
  }
  return s;
}

std::string read_some(int s) {
  char buf[4096];
  auto n = recv(s, buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

const std::string kMsg = "From: app@acme.example\r\nTo: b@dest.example\r\nSubject: report\r\n\r\n..leading dot\r\nline two\r\n";

}  // namespace

BOOST_AUTO_TEST_SUITE(submission)

BOOST_AUTO_TEST_CASE(accounts_are_managed_with_sitemailctl_and_never_show_a_hash) {
  Door d("sub_ctl");
  d.add_user("app1", "s3cret-pw", "--site ACME --senders @acme.example,*@*.acme.example --max-per-hour 50");
  auto dup = d.ctl("submission add app1 --site ACME", "x\n");
  BOOST_TEST(dup.code == 1);
  auto gen = d.ctl("submission add gen --site ACME --generate");
  BOOST_TEST(gen.code == 0);
  BOOST_TEST(gen.out.find("password: ") != std::string::npos);
  auto list = d.ctl("submission list");
  BOOST_TEST(list.code == 0);
  BOOST_TEST(list.out.find("app1 site=ACME senders=@acme.example,*@*.acme.example max_per_hour=50") != std::string::npos,
             list.out);
  BOOST_TEST(list.out.find("$scrypt$") == std::string::npos);
  BOOST_TEST(list.out.find("s3cret") == std::string::npos);
  BOOST_TEST(d.ctl("submission passwd app1", "new-pw\n").code == 0);
  BOOST_TEST(d.ctl("submission passwd nobody", "new-pw\n").code == 1);
  BOOST_TEST(d.ctl("submission add bad --site ACME --senders nodomain", "x\n").code == 2);
  BOOST_TEST(d.ctl("submission add nosite", "x\n").code == 2);
  BOOST_TEST(d.ctl("submission remove gen").code == 0);
  BOOST_TEST(d.ctl("submission remove gen").code == 1);
  BOOST_TEST(d.ctl("submission network add 10.1.2.3/8 --site PRN").out.find("10.0.0.0/8") != std::string::npos);
  BOOST_TEST(d.ctl("submission network add 300.1.1.1 --site PRN").code == 2);
  BOOST_TEST(d.ctl("submission network list").out.find("10.0.0.0/8 site=PRN senders=any max_per_hour=unlimited") !=
             std::string::npos);
  BOOST_TEST(d.ctl("submission network remove 10.0.0.0/8").code == 0);
  BOOST_TEST(d.ctl("submission network remove 10.0.0.0/8").code == 1);
  BOOST_TEST(d.ctl("submission add --help").out.find("--max-per-hour") != std::string::npos);
  BOOST_TEST(d.ctl("submission network add --help").out.find("CIDR") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(smtplib_over_starttls_and_implicit_tls_queues_the_row_of_the_accounts_site) {
  Door d("sub_tls");
  d.add_user("app1", "s3cret-pw", "--site ACME");
  auto r = d.send(
      "--tls starttls --user app1 --password s3cret-pw --from app@acme.example --to b@dest.example --to hidden@dest.example",
      kMsg);
  BOOST_REQUIRE_MESSAGE(r.out.starts_with("SENT 250 2.0.0 Ok: queued as "), r.out + r.err);
  auto id = queued_id(r.out);
  auto got = row(d, id);
  BOOST_TEST(got.site == "ACME");
  BOOST_TEST(got.from == "app@acme.example");
  BOOST_TEST(got.to == "b@dest.example,hidden@dest.example");
  BOOST_TEST(got.by == "user:app1");
  BOOST_TEST(got.raw.starts_with("Received: from client.example ([127.0.0.1])\r\n\tby "), got.raw);
  BOOST_TEST(got.raw.find("with ESMTPSA; ") != std::string::npos, got.raw);
  BOOST_TEST(got.raw.ends_with("\r\n" + kMsg), got.raw);  // exactly the message: smtplib's dot-stuffing undone

  auto t = d.send_tls("--user app1 --password s3cret-pw --from app@acme.example --to c@dest.example", kMsg);
  BOOST_REQUIRE_MESSAGE(t.out.starts_with("SENT 250 2.0.0 Ok: queued as "), t.out + t.err);
  BOOST_TEST(row(d, queued_id(t.out)).site == "ACME");

  const auto log = d.daemon->log();
  BOOST_TEST(log.find("event=submission user=app1 site=ACME id=" + std::to_string(id) + " size=") != std::string::npos, log);
  BOOST_TEST(log.find("rcpts=2") != std::string::npos);
  BOOST_TEST(log.find("s3cret-pw") == std::string::npos);
  auto m = d.daemon->metrics();
  BOOST_TEST(m.find("sitemail_submission_messages_total{site=\"ACME\",result=\"accepted\"} 2") != std::string::npos, m);
  BOOST_TEST(m.find("sitemail_submission_connections_open") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(swaks_and_msmtp_submit_through_the_door) {
  Door d("sub_clients");
  d.add_user("app1", "s3cret-pw", "--site ACME");
  auto sw = run("swaks --server 127.0.0.1:" + std::to_string(d.port) +
                " --tls --auth PLAIN --auth-user app1 --auth-password s3cret-pw "
                "--from app@acme.example --to b@dest.example --helo swaks.example --header 'Subject: via swaks' 2>&1");
  BOOST_TEST(sw.code == 0, sw.out);
  auto at = sw.out.find("<~  250 2.0.0 Ok: queued as ");
  BOOST_REQUIRE_MESSAGE(at != std::string::npos, sw.out);
  BOOST_TEST(row(d, queued_id(sw.out.substr(at))).raw.find("Subject: via swaks") != std::string::npos);

  auto swc = run("swaks --server 127.0.0.1:" + std::to_string(d.tls_port) +
                 " --tls-on-connect --auth LOGIN --auth-user app1 "
                 "--auth-password s3cret-pw --from app@acme.example --to b@dest.example 2>&1");
  BOOST_TEST(swc.code == 0, swc.out);

  d.tmp.write("msmtp.eml", "From: app@acme.example\nTo: b@dest.example\nSubject: via msmtp\n\nhello from msmtp\n");
  d.tmp.write("pw", "s3cret-pw\n");
  auto ms =
      run("msmtp --host=127.0.0.1 --port=" + std::to_string(d.port) + " --tls=on --tls-starttls=on --tls-trust-file=" + d.ca() +
          " --tls-host-override=localhost --auth=plain --user=app1 --passwordeval='cat " + d.tmp.path() +
          "/pw' --from=app@acme.example --domain=msmtp.example b@dest.example < " + d.tmp.path() + "/msmtp.eml");
  BOOST_TEST(ms.code == 0, ms.out + ms.err);
  auto r = d.env.db.conn().exec(
      "SELECT convert_from(raw_message, 'UTF8') FROM outbox WHERE raw_message IS NOT NULL ORDER BY id DESC LIMIT 1");
  BOOST_REQUIRE(r.rows() == 1);
  BOOST_TEST(r.get(0, 0).find("Subject: via msmtp\r\n\r\nhello from msmtp\r\n") != std::string::npos, r.get(0, 0));
  BOOST_TEST(d.rows() == 3);
}

BOOST_AUTO_TEST_CASE(auth_refusals_and_the_per_address_throttle) {
  Door d("sub_auth");
  d.add_user("app1", "s3cret-pw", "--site ACME");
  // Not authenticated, not trusted: 530.
  auto out = d.raw("EHLO c\r\nMAIL FROM:<app@acme.example>\r\nQUIT\r\n");
  BOOST_TEST(out.find("530 5.7.0") != std::string::npos, out);
  // Five wrong passwords from 127.0.0.3, then even the right one is refused 454 for 10 minutes.
  for (int i = 0; i < 5; ++i) {
    auto r = d.send("--bind 127.0.0.3 --user app1 --password wrong --from a@acme.example --to b@dest.example");
    BOOST_TEST(r.out.starts_with("REFUSED auth 535 5.7.8"), r.out + r.err);
  }
  auto locked = d.send("--bind 127.0.0.3 --user app1 --password s3cret-pw --from a@acme.example --to b@dest.example");
  BOOST_TEST(locked.out.starts_with("REFUSED auth 454 4.7.0"), locked.out);
  // Another address is not affected.
  auto other = d.send("--bind 127.0.0.4 --user app1 --password s3cret-pw --from a@acme.example --to b@dest.example");
  BOOST_TEST(other.out.starts_with("SENT 250"), other.out);
  // Unknown user: the same 535.
  auto unknown = d.send("--bind 127.0.0.5 --user nobody --password x --from a@acme.example --to b@dest.example");
  BOOST_TEST(unknown.out.starts_with("REFUSED auth 535 5.7.8"), unknown.out);
  BOOST_TEST(d.rows() == 1);
  auto m = d.daemon->metrics();
  BOOST_TEST(m.find("sitemail_submission_auth_failures_total 7") != std::string::npos, m);
  BOOST_TEST(d.daemon->log().find("password=") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_trusted_network_submits_without_auth_and_nothing_else_is_trusted) {
  Door d("sub_net");
  BOOST_REQUIRE(d.change("submission network add 127.0.0.2/32 --site PRN --senders @printers.example").code == 0);
  auto sent = d.send("--bind 127.0.0.2 --from scan@printers.example --to b@dest.example");
  BOOST_TEST(sent.out.starts_with("SENT 250 2.0.0 Ok: queued as "), sent.out + sent.err);
  BOOST_TEST(d.rows("nvtgc = 'PRN' AND submitted_by = 'net:127.0.0.2/32'") == 1);
  auto spoof = d.send("--bind 127.0.0.2 --from ceo@acme.example --to b@dest.example");
  BOOST_TEST(spoof.out.starts_with("REFUSED mail 550 5.7.1"), spoof.out);
  auto outside = d.send("--from scan@printers.example --to b@dest.example");  // 127.0.0.1: loopback is not trusted
  BOOST_TEST(outside.out.starts_with("REFUSED mail 530 5.7.0"), outside.out);
  BOOST_REQUIRE(d.change("submission network remove 127.0.0.2/32").code == 0);
  auto removed = d.send("--bind 127.0.0.2 --from scan@printers.example --to b@dest.example");
  BOOST_TEST(removed.out.starts_with("REFUSED mail 530 5.7.0"), removed.out);
  BOOST_TEST(d.rows() == 1);
}

// Sessions storing at the same moment share one transaction and one INSERT (the door's
// group commit): every 250 must still name the row of its own message.
BOOST_AUTO_TEST_CASE(concurrent_sessions_each_get_the_id_of_their_own_row) {
  Door d("sub_group");
  BOOST_REQUIRE(d.change("submission network add 127.0.0.1/32 --site GRP").code == 0);
  constexpr int kSessions = 24, kEach = 5;
  std::vector<std::future<std::vector<std::pair<std::string, long long>>>> sessions;
  sessions.reserve(kSessions);
  for (int t = 0; t < kSessions; ++t)
    sessions.push_back(std::async(std::launch::async, [&d, t] {
      std::vector<std::pair<std::string, long long>> got;  // subject -> queued id
      const int s = connect_to(d.port);
      if (s < 0) return got;
      std::string in = read_some(s);
      auto say = [&](const std::string& line) {
        BOOST_REQUIRE(send(s, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size()));
        std::string reply;
        while (reply.size() < 4 || reply.substr(reply.rfind('\n', reply.size() - 2) + 1).at(3) != ' ') {
          auto more = read_some(s);
          if (more.empty()) break;
          reply += more;
        }
        return reply;
      };
      say("EHLO group.example\r\n");
      for (int k = 0; k < kEach; ++k) {
        const std::string subject = "msg " + std::to_string(t) + "-" + std::to_string(k);
        say("MAIL FROM:<dev" + std::to_string(t) + "@grp.example>\r\n");
        say("RCPT TO:<b@dest.example>\r\n");
        say("DATA\r\n");
        const auto r = say("Subject: " + subject + "\r\n\r\nbody of " + subject + "\r\n.\r\n");
        got.emplace_back(subject, queued_id(r));
      }
      say("QUIT\r\n");
      close(s);
      return got;
    }));
  std::set<long long> ids;
  for (int t = 0; t < kSessions; ++t) {
    auto got = sessions[static_cast<std::size_t>(t)].get();
    BOOST_TEST(got.size() == static_cast<std::size_t>(kEach));
    for (const auto& [subject, id] : got) {
      BOOST_TEST_REQUIRE(id > 0, subject);
      ids.insert(id);
      const auto r = row(d, id);
      BOOST_TEST(r.raw.find("Subject: " + subject + "\r\n") != std::string::npos, subject << " in row " << id);
      BOOST_TEST(r.from == "dev" + std::to_string(t) + "@grp.example", subject << " in row " << id);
    }
  }
  BOOST_TEST(ids.size() == static_cast<std::size_t>(kSessions * kEach));
  BOOST_TEST(d.rows("nvtgc = 'GRP'") == kSessions * kEach);
}

BOOST_AUTO_TEST_CASE(senders_and_max_per_hour_are_checked_at_mail_from) {
  Door d("sub_policy");
  d.add_user("app1", "pw1", "--site ACME --senders app@acme.example,*@*.sub.acme.example --max-per-hour 2");
  const std::string auth = "--user app1 --password pw1 --to b@dest.example ";
  BOOST_TEST(d.send(auth + "--from APP@acme.example").out.starts_with("REFUSED mail 550 5.7.1"));  // local part exact
  BOOST_TEST(d.send(auth + "--from app@ACME.example").out.starts_with("SENT 250"));                // domain any case
  BOOST_TEST(d.send(auth + "--from x@sub.acme.example").out.starts_with("REFUSED mail 550 5.7.1"));
  BOOST_TEST(d.send(auth + "--from x@a.sub.acme.example").out.starts_with("SENT 250"));
  auto third = d.send(auth + "--from app@acme.example");
  BOOST_TEST(third.out.starts_with("REFUSED mail 450 4.7.1"), third.out);
  BOOST_TEST(d.rows() == 2);
  // A change reaches the running daemon without a reload.
  auto before = d.directory_loads();
  BOOST_REQUIRE(d.env.db.conn().exec("UPDATE submission_account SET max_per_hour = 3, updated_at = now()").affected() == "1");
  Daemon::wait_for([&] { return d.directory_loads() > before; }, 10, "the new limit");
  BOOST_TEST(d.send(auth + "--from app@acme.example").out.starts_with("SENT 250"));
  BOOST_TEST(d.rows() == 3);
}

BOOST_AUTO_TEST_CASE(bad_input_is_refused_with_the_contracts_codes_and_queues_nothing) {
  Door d("sub_input", "max_message_size = 2048\nmax_recipients = 3\n");
  d.add_user("app1", "pw1", "--site ACME");
  const std::string login = "EHLO c\r\nAUTH PLAIN " + plain_auth("app1", "pw1") + "\r\n";
  auto out = d.raw(login + "NOOP " + std::string(600, 'x') + "\r\nQUIT\r\n");
  BOOST_TEST(out.find("500 5.5.2") != std::string::npos, out);

  out = d.raw(login + "MAIL FROM:<a@acme.example>\r\nRCPT TO:<b@d.example>\r\nDATA\r\n" + std::string(1200, 'l') +
              "\r\n.\r\nQUIT\r\n");
  BOOST_TEST(out.find("552 5.3.4") != std::string::npos, out);

  // Smuggling: a bare-LF "end of data" and a command after it; only CRLF.CRLF ends the data.
  out = d.raw(
      login +
      "MAIL FROM:<a@acme.example>\r\nRCPT TO:<b@d.example>\r\nDATA\r\nSubject: x\r\n\r\nhi\n.\nMAIL FROM:<evil@x.example>\r\n"
      "RCPT TO:<victim@d.example>\r\nDATA\r\nspoofed\r\n.\r\nQUIT\r\n");
  BOOST_TEST(out.find("550 5.6.0") != std::string::npos, out);
  BOOST_TEST(out.find("queued as") == std::string::npos, out);
  out = d.raw(login + "MAIL FROM:<a@acme.example>\r\nRCPT TO:<b@d.example>\r\nDATA\r\nhi\r.\r\n\r\n.\r\nQUIT\r\n");
  BOOST_TEST(out.find("550 5.6.0") != std::string::npos, out);

  out = d.raw(login + "MAIL FROM:<a@acme.example>\r\nRCPT TO:<1@d.example>\r\nRCPT TO:<2@d.example>\r\nRCPT TO:<3@d.example>\r\n"
                      "RCPT TO:<4@d.example>\r\nQUIT\r\n");
  BOOST_TEST(out.find("452 4.5.3") != std::string::npos, out);

  out = d.raw(login + "MAIL FROM:<a@acme.example> SIZE=4096\r\nQUIT\r\n");
  BOOST_TEST(out.find("552 5.3.4") != std::string::npos, out);
  std::string big;
  for (int i = 0; i < 40; ++i) big += std::string(70, 'b') + "\r\n";
  auto r = d.send("--user app1 --password pw1 --from a@acme.example --to b@d.example --declare-size 100",
                  "Subject: big\r\n\r\n" + big);
  BOOST_TEST(r.out.starts_with("REFUSED data 552 5.3.4"), r.out);

  out = d.raw("EHLO c\r\nAUTH PLAIN " + plain_auth("app1", "nope") + "\r\nQUIT\r\n");
  BOOST_TEST(out.find("535 5.7.8") != std::string::npos, out);
  BOOST_TEST(d.rows() == 0);
  auto m = d.daemon->metrics();
  BOOST_TEST(m.find("sitemail_submission_messages_total{site=\"ACME\",result=\"refused\"}") != std::string::npos, m);
}

BOOST_AUTO_TEST_CASE(max_connections_and_the_idle_limit) {
  setenv("SITEMAIL_TEST_SUBMISSION_IDLE_SECONDS", "2", 1);
  Door d("sub_conns", "max_connections = 2\n");
  unsetenv("SITEMAIL_TEST_SUBMISSION_IDLE_SECONDS");
  int a = connect_to(d.port), b = connect_to(d.port);
  BOOST_TEST(read_some(a).starts_with("220 "));
  BOOST_TEST(read_some(b).starts_with("220 "));
  int c = connect_to(d.port);
  BOOST_TEST(read_some(c).starts_with("421 4.3.2"));
  close(c);
  // Silent clients are told 421 and disconnected; then there is room again.
  std::string idle = read_some(a);
  BOOST_TEST(idle.starts_with("421 4.4.2"), idle);
  BOOST_TEST(read_some(a).empty());
  close(a);
  close(b);
  Daemon::wait_for(
      [&] {
        int e = connect_to(d.port);
        bool ok = read_some(e).starts_with("220 ");
        close(e);
        return ok;
      },
      10, "room after the idle clients left");
  BOOST_TEST(d.daemon->metrics().find("sitemail_submission_sessions_total{site=\"\",result=\"refused\"} 1") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_250_survives_sigkill_right_after_it) {
  Door d("sub_kill");
  d.add_user("app1", "pw1", "--site ACME");
  auto r = d.send("--user app1 --password pw1 --from a@acme.example --to b@dest.example", kMsg);
  BOOST_REQUIRE(r.out.starts_with("SENT 250"));
  BOOST_TEST(d.daemon->signal_and_wait(SIGKILL) == 128 + SIGKILL);
  d.env.db.reconnect();
  auto got = row(d, queued_id(r.out));
  BOOST_TEST(got.raw.find("line two") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(submission_shutdown)

BOOST_AUTO_TEST_CASE(sigterm_tells_open_sessions_421_and_exits_0) {
  Door d("sub_term");
  int s = connect_to(d.port);
  BOOST_REQUIRE(s >= 0);
  BOOST_TEST(read_some(s).starts_with("220 "));
  BOOST_TEST(d.daemon->signal_and_wait(SIGTERM) == 0);
  std::string bye = read_some(s);
  close(s);
  BOOST_TEST(bye.starts_with("421 4.3.2"), bye);
}

BOOST_AUTO_TEST_SUITE_END()
