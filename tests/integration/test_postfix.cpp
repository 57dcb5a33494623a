// test_postfix.cpp — a private Postfix instance (peers.hpp: Postfix) as a real peer on both
// sides of sitemail:
// - as a site's relay (CONTRACT §8): sitemaild delivers attachments covering every octet, an
//   inline image beside the HTML body, a hostile attachment file name and an 8-bit raw
//   message; Postfix stores each in a Maildir (virtual(8)), and Python's `email` package
//   (peers/mime_parts.py) parses the stored files back: every part byte for byte, the MIME
//   structure, the safe file name, no injected header;
// - as a client of the submission door (CONTRACT §9): Postfix relays through sitemaild with
//   relayhost, SASL and mandatory TLS (the configuration docs/submission.md gives), every
//   message becomes an outbox row of the account's site and reaches the site's relay; a
//   wrong password makes Postfix defer, and the mail goes out once the password is right.
#define BOOST_TEST_MODULE integration_postfix
#include <boost/test/unit_test.hpp>

#include <set>

#include "mime_check.hpp"
#include "submission_fixture.hpp"

using namespace sitemail;
using namespace sitemail::test;

namespace {

// Waits for `what`; on a timeout the test fails with sitemaild's and Postfix's logs.
void wait_both(Daemon& d, const Postfix& pf, const std::function<bool()>& ok, const std::string& what) {
  try {
    Daemon::wait_for(ok, 60, what);
  } catch (const std::exception& e) {
    BOOST_FAIL(std::string(e.what()) + "\nsitemaild:\n" + d.log() + "\npostfix:\n" + pf.log() + "\nqueue:\n" + pf.queue());
  }
}

// The one message Postfix stored for `address`, as a file.
std::string stored_for(const Postfix& pf, const std::string& address) {
  const auto files = pf.mailbox_files(address);
  BOOST_REQUIRE_EQUAL(files.size(), 1u);
  return files[0];
}

std::size_t leaf_parts(const std::vector<std::string>& parts) {
  return static_cast<std::size_t>(std::count_if(
      parts.begin(), parts.end(), [](const std::string& p) { return p.find("\"sha256\": ") != std::string::npos; }));
}

}  // namespace

BOOST_AUTO_TEST_CASE(postfix_as_the_relay_stores_every_part_byte_for_byte) {
  Env e("pf_att");
  const std::string att = "att@dest.example", evil = "evil@dest.example", raw = "raw@dest.example";
  PostfixOptions o;
  o.mailboxes = {att, evil, raw};
  Postfix pf("att", o);
  e.site("ACME", port(pf.port()));

  // (1) two attachments covering every octet, an inline image beside the HTML body
  std::string octets;
  for (int round = 0; round < 1024; ++round)
    for (int c = 0; c < 256; ++c) octets += static_cast<char>(c);
  const std::string blob = random_bytes(300 * 1024, 21);
  const std::string logo = random_bytes(4000, 22);
  insert_with_attachments(e.db, "ACME", "<p>Logo: <img src=\"cid:logo\"></p>",
                          {{"octets.bin", "", "", "", octets},
                           {"blob.dat", "application/octet-stream", "attachment", "", blob},
                           {"logo.png", "image/png", "inline", "logo", logo}},
                          att);
  // (2) a hostile file name: a path, CR/LF with header lines, control characters (C0, DEL, C1)
  const std::string hostile = "../../etc/C:\\Temp\\\x01"
                              "ev\til\r\nBcc: victim@x.example\r\nX-Injected: yes\x7f\xc2\x85.txt";
  const std::string hostile_content = "hostile\r\nBcc: victim@x.example\r\n";
  insert_with_attachments(e.db, "ACME", "", {{hostile, "", "", "", hostile_content}}, evil);
  // (3) a raw message with an 8-bit UTF-8 body, queued with sitemailctl enqueue --raw
  const std::string raw_body = "Gr\xc3\xbc\xc3\x9f"
                               "e aus K\xc3\xb6ln \xe2\x80\x94 \xc2\xbd \xe2\x82\xac \xe2\x9c\x93\n"
                               ".leading dot\nFrom the start of a line\n\xf0\x9f\x93\xa7 end\n";
  TempDir files("pf_files");
  files.write("mail.eml", "From: Reports <reports@acme.example>\nTo: raw@dest.example\nSubject: 8-bit body\n"
                          "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n" +
                              raw_body);
  auto q = e.ctl_cmd("enqueue --site ACME --raw " + files.path() + "/mail.eml");
  BOOST_REQUIRE_MESSAGE(q.code == 0, q.err);

  Daemon d(e.db, e.cfg.path());
  wait_both(
      d, pf,
      [&] {
        return count(e.db, "status = 'sent'") == 3 && pf.mailbox_files(att).size() == 1 && pf.mailbox_files(evil).size() == 1 &&
               pf.mailbox_files(raw).size() == 1;
      },
      "3 messages sent and stored by Postfix");
  const auto log = pf.log();
  BOOST_TEST(log.find("status=sent (delivered to maildir)") != std::string::npos, log);

  // (1) every part byte for byte, in multipart/mixed; the image beside the HTML in multipart/related
  const auto p1 = parts_of_file(stored_for(pf, att));
  BOOST_TEST(p1[0].find("\"defects\": []") != std::string::npos, p1[0]);
  BOOST_TEST(p1[0].find("\"Delivered-To\"") != std::string::npos, p1[0]);  // stored by Postfix's virtual(8)
  BOOST_TEST(leaf_parts(p1) == 5u);                                        // text, HTML, image, two attachments
  const auto oct = part_with(p1, "\"filename\": \"octets.bin\"");
  BOOST_TEST(oct.find("\"sha256\": \"" + sha256(octets) + "\"") != std::string::npos, oct);
  BOOST_TEST(oct.find("\"len\": 262144") != std::string::npos, oct);
  BOOST_TEST(oct.find("\"path\": [\"multipart/mixed\"]") != std::string::npos, oct);
  BOOST_TEST(oct.find("\"disposition\": \"attachment\"") != std::string::npos, oct);
  const auto bl = part_with(p1, "\"filename\": \"blob.dat\"");
  BOOST_TEST(bl.find("\"sha256\": \"" + sha256(blob) + "\"") != std::string::npos, bl);
  BOOST_TEST(bl.find("\"path\": [\"multipart/mixed\"]") != std::string::npos, bl);
  const auto img = part_with(p1, "\"cid\": \"<logo>\"");
  BOOST_TEST(img.find("\"sha256\": \"" + sha256(logo) + "\"") != std::string::npos, img);
  BOOST_TEST(img.find("\"type\": \"image/png\"") != std::string::npos, img);
  BOOST_TEST(img.find("\"disposition\": \"inline\"") != std::string::npos, img);
  BOOST_TEST(img.find("\"path\": [\"multipart/mixed\", \"multipart/related\"]") != std::string::npos, img);
  const auto html = part_with(p1, "\"type\": \"text/html\"");
  BOOST_TEST(html.find("cid:logo") != std::string::npos, html);
  BOOST_TEST(html.find("\"path\": [\"multipart/mixed\", \"multipart/related\", \"multipart/alternative\"]") != std::string::npos,
             html);
  const auto text = part_with(p1, "\"type\": \"text/plain\"");
  BOOST_TEST(text.find("The report is attached.") != std::string::npos, text);
  // the bodies first, then the attachments in id order
  auto at = [&](const std::string& line) { return std::find(p1.begin(), p1.end(), line) - p1.begin(); };
  BOOST_TEST(at(text) < at(img));
  BOOST_TEST(at(img) < at(oct));
  BOOST_TEST(at(oct) < at(bl));

  // (2) a safe base name, the content intact, nothing injected into the header
  const auto evil_file = stored_for(pf, evil);
  const auto p2 = parts_of_file(evil_file);
  BOOST_TEST(p2[0].find("\"defects\": []") != std::string::npos, p2[0]);
  BOOST_TEST(p2[0].find("\"Bcc\"") == std::string::npos, p2[0]);
  BOOST_TEST(p2[0].find("\"X-Injected\"") == std::string::npos, p2[0]);
  const auto h = part_with(p2, "\"filename\": \"evilBcc: victim@x.exampleX-Injected: yes.txt\"");
  BOOST_TEST(h.find("\"sha256\": \"" + sha256(hostile_content) + "\"") != std::string::npos, h);
  BOOST_TEST(h.find("\"path\": [\"multipart/mixed\"]") != std::string::npos, h);
  const auto stored = slurp(evil_file);
  BOOST_TEST(stored.find("\nBcc:") == std::string::npos, stored);
  BOOST_TEST(stored.find("\nX-Injected:") == std::string::npos, stored);
  BOOST_TEST(stored.find("Delivered-To: evil@dest.example\n") != std::string::npos);
  BOOST_TEST(log.find("victim") == std::string::npos, log);  // never a recipient

  // (3) the 8-bit body as it was, not re-encoded
  const auto raw_file = stored_for(pf, raw);
  const auto p3 = parts_of_file(raw_file);
  BOOST_TEST(p3[0].find("\"seven_bit\": false") != std::string::npos, p3[0]);
  BOOST_TEST(leaf_parts(p3) == 1u);
  const auto body = part_with(p3, "\"type\": \"text/plain\"");
  BOOST_TEST(body.find("\"sha256\": \"" + sha256(raw_body) + "\"") != std::string::npos, body);
  BOOST_TEST(body.find("\"cte\": \"8bit\"") != std::string::npos, body);
  BOOST_TEST(slurp(raw_file).find("\n\n" + raw_body) != std::string::npos);
  BOOST_TEST(d.signal_and_wait(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(postfix_relays_through_the_submission_door_with_sasl_and_tls) {
  PyRelay relay("");
  Door d("pf_door");
  d.env.site("ACME", port(relay.port()));
  d.reload();
  const std::string password = "Pf.relay:pw-1";
  d.add_user("pfrelay", password, "--site ACME --senders @acme.example");

  // docs/submission.md's Postfix configuration, with the test CA
  const std::string door = "[127.0.0.1]:" + std::to_string(d.port);
  PostfixOptions o;
  o.main_cf = "relayhost = " + door +
              "\nsmtp_sasl_auth_enable = yes\nsmtp_sasl_password_maps = texthash:$config_directory/sasl_passwd\n"
              "smtp_sasl_security_options = noanonymous\nsmtp_tls_security_level = encrypt\nsmtp_tls_CAfile = " +
              d.ca() + "\nsmtp_tls_loglevel = 1\n";
  o.files = {{"sasl_passwd", door + " pfrelay:" + password + "\n"}};
  Postfix pf("door", o);

  auto message = [](const std::string& tag) {
    return "From: App <app@acme.example>\nTo: b@dest.example\nSubject: through postfix " + tag + "\nMessage-ID: <pf-" + tag +
           "@acme.example>\n\nmessage " + tag + "\n";
  };
  std::set<std::string> ids;
  for (int i = 1; i <= 20; ++i) {
    pf.sendmail("app@acme.example", {"b@dest.example"}, message(std::to_string(i)));
    ids.insert("pf-" + std::to_string(i) + "@acme.example");
  }
  auto& db = d.env.db;
  wait_both(
      *d.daemon, pf, [&] { return count(db, "status = 'sent'") == 20 && relay.received().size() == 20 && pf.queued() == 0; },
      "20 messages through Postfix, the door and the site's relay");
  BOOST_TEST(count(db, "true") == 20);
  BOOST_TEST(count(db, "submitted_by = 'user:pfrelay' AND nvtgc = 'ACME' AND from_addr = 'app@acme.example'") == 20);
  auto got = relay.received();
  const auto got_ids = message_ids(got);
  BOOST_TEST((std::set<std::string>(got_ids.begin(), got_ids.end()) == ids));
  BOOST_TEST(got_ids.size() == 20u);  // each once
  for (const auto& r : got) {
    BOOST_TEST(r.mail_from == "app@acme.example");
    BOOST_TEST((r.rcpt_tos == std::vector<std::string>{"b@dest.example"}));
    // the door's trace line: Postfix came over TLS and authenticated
    BOOST_TEST(r.data.find("Received: from pf" + std::to_string(pf.port()) + ".test.example ([127.0.0.1])") != std::string::npos,
               r.data);
    BOOST_TEST(r.data.find(" (sitemail) with ESMTPSA; ") != std::string::npos, r.data);
  }
  BOOST_TEST(pf.queue().find("Mail queue is empty") != std::string::npos, pf.queue());
  const auto pf_log = pf.log();  // the door's certificate verified with the test CA
  BOOST_TEST(
      pf_log.find("Trusted TLS connection established to 127.0.0.1[127.0.0.1]:" + std::to_string(d.port)) != std::string::npos,
      pf_log);
  BOOST_TEST(pf_log.find("status=sent") != std::string::npos, pf_log);

  // A wrong password: Postfix defers, the mail stays in its queue, nothing is queued by sitemail.
  pf.write_and_restart("sasl_passwd", door + " pfrelay:wrong-" + password + "\n");
  pf.sendmail("app@acme.example", {"b@dest.example"}, message("wrong"));
  wait_both(
      *d.daemon, pf, [&] { return pf.queue().find("SASL authentication failed") != std::string::npos; },
      "Postfix to defer on the wrong password");
  const auto deferred = pf.queue();
  BOOST_TEST(deferred.find("535 5.7.8") != std::string::npos, deferred);
  BOOST_TEST(pf.queued() == 1);
  BOOST_TEST(count(db, "true") == 20);
  BOOST_TEST(relay.received().size() == 20u);

  // The right password again: the deferred message goes out, Postfix's queue is empty.
  pf.write_and_restart("sasl_passwd", door + " pfrelay:" + password + "\n");
  int polls = 0;
  wait_both(
      *d.daemon, pf,
      [&] {
        if (polls++ % 60 == 0) pf.flush();  // a flush while qmgr restarts can be lost: repeat it now and then
        return count(db, "status = 'sent'") == 21 && relay.received().size() == 21 && pf.queued() == 0;
      },
      "the deferred message delivered");
  BOOST_TEST(message_ids(relay.received()).count("pf-wrong@acme.example") == 1u);
  BOOST_TEST(count(db, "submitted_by = 'user:pfrelay' AND nvtgc = 'ACME'") == 21);
  BOOST_TEST(pf.queue().find("Mail queue is empty") != std::string::npos, pf.queue());
  BOOST_TEST(d.daemon->signal_and_wait(SIGTERM) == 0);
}
