// test_attachments.cpp — CONTRACT §8 end to end: messages with attachments and raw messages
// queued the way applications do (one INSERT transaction) or with `sitemailctl enqueue`,
// delivered by sitemaild to real relays, and parsed back by Python's `email` package
// (peers/mime_parts.py) to compare every part byte for byte; 8-bit content to a relay
// without 8BITMIME (Postfix smtp-sink -8); SIZE and MaxMessageSize limits; bad rows. The
// helpers are in mime_check.hpp; test_postfix.cpp does the same with a private Postfix.
#define BOOST_TEST_MODULE sitemail_integration_attachments
#include <boost/test/unit_test.hpp>

#include "mime_check.hpp"

using namespace sitemail;
using namespace sitemail::test;

BOOST_AUTO_TEST_CASE(attachments_and_inline_images_arrive_byte_for_byte) {
  Env e("att");
  PyRelay relay("");
  e.site("ACME", port(relay.port()));
  const std::string big = random_bytes(700 * 1024, 1);  // over the claim's inline limit: read in slices while sent
  const std::string csv = "id;name\n1;\xc3\xa9t\xc3\xa9\n";
  const std::string png = random_bytes(3000, 2);
  const auto id = insert_with_attachments(e.db, "ACME", "<p>Logo: <img src=\"cid:logo\"></p>",
                                          {{"../../secret/Bericht \xc3\xbc"
                                            "ber 2026.pdf",
                                            "", "", "", big},
                                           {"data.csv", "text/csv", "attachment", "", csv},
                                           {"logo.png", "", "inline", "logo", png},
                                           {"evil\r\nBcc: victim@x.example.txt", "", "", "", "x"}});
  Daemon d(e.db, e.cfg.path());
  wait_or_log(
      d, [&] { return count(e.db, "status = 'sent'") == 1; }, "sent");
  auto got = relay.received();
  BOOST_REQUIRE(got.size() == 1u);
  BOOST_TEST((got[0].rcpt_tos == std::vector<std::string>{"rcpt@dest.example"}));  // no injected Bcc
  auto parts = parts_of(got[0].data);
  BOOST_TEST(parts[0].find("\"defects\": []") != std::string::npos, parts[0]);
  const auto pdf = part_with(parts, "\"filename\": \"Bericht \\u00fcber 2026.pdf\"");
  BOOST_TEST(pdf.find("\"sha256\": \"" + sha256(big) + "\"") != std::string::npos, pdf);
  BOOST_TEST(pdf.find("\"type\": \"application/pdf\"") != std::string::npos, pdf);
  const auto c = part_with(parts, "\"filename\": \"data.csv\"");
  BOOST_TEST(c.find("\"sha256\": \"" + sha256(csv) + "\"") != std::string::npos, c);
  const auto logo = part_with(parts, "\"cid\": \"<logo>\"");
  BOOST_TEST(logo.find("\"sha256\": \"" + sha256(png) + "\"") != std::string::npos, logo);
  BOOST_TEST(logo.find("multipart/related") != std::string::npos, logo);
  BOOST_TEST(logo.find("\"disposition\": \"inline\"") != std::string::npos, logo);
  const auto evil = part_with(parts, "\"filename\": \"evilBcc: victim@x.example.txt\"");
  BOOST_TEST(evil.find("\"len\": 1") != std::string::npos, evil);
  BOOST_TEST(got[0].data.find("\r\nBcc:") == std::string::npos);
  const auto text = part_with(parts, "\"type\": \"text/plain\"");
  BOOST_TEST(text.find("The report is attached.") != std::string::npos, text);
  // the first body comes first
  BOOST_TEST(got[0].data.find("The report is attached.") < got[0].data.find("filename"));
  auto show = e.ctl_cmd("queue show " + std::to_string(id));
  BOOST_TEST(show.out.find("\"Bericht \xc3\xbc"
                           "ber 2026.pdf\" application/pdf attachment 716800") != std::string::npos,
             show.out);
  BOOST_TEST(show.out.find("  logo.png image/png inline 3000") != std::string::npos, show.out);
  BOOST_TEST(show.out.find("  data.csv text/csv attachment " + std::to_string(csv.size())) != std::string::npos, show.out);
  BOOST_TEST(d.signal_and_wait(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(raw_messages_go_out_as_built_and_large_ones_stream) {
  Env e("raw");
  PyRelay relay("");
  e.site("ACME", port(relay.port()) + "<OtherHeaders>X-Site: ACME</OtherHeaders>");
  const std::string small = "From: Reports <reports@app.example>\nTo: a@dest.example\nBcc: hidden@dest.example\n"
                            "Subject: Gr\xc3\xbc\xc3\x9f"
                            "e\nContent-Type: text/plain; charset=utf-8\n"
                            "Content-Transfer-Encoding: 8bit\n\n\xc3\xa9t\xc3\xa9\n.hidden dot\n";
  // About 1.3 MB: six slices of kStreamChunk, lines cut at their boundaries
  std::string large = "To: b@dest.example\r\nSubject: big\r\nContent-Type: text/plain\r\n\r\n";
  for (int i = 0; i < 120000; ++i) large += (i % 7 == 0 ? ".line " : "line ") + std::to_string(i) + "\n";  // bare LF
  auto ins = [&](const std::string& raw) {
    return e.db.conn()
        .exec("INSERT INTO outbox (nvtgc, raw_message) VALUES ('ACME', $1::bytea) RETURNING id", {bytea_to_text(raw)})
        .get_int(0, 0);
  };
  ins(small);
  ins(large);
  Daemon d(e.db, e.cfg.path());
  wait_or_log(
      d, [&] { return count(e.db, "status = 'sent'") == 2; }, "2 sent");
  auto got = relay.received();
  BOOST_REQUIRE(got.size() == 2u);
  const auto& s = got[0].data.find("hidden dot") != std::string::npos ? got[0] : got[1];
  const auto& l = &s == &got[0] ? got[1] : got[0];
  BOOST_TEST((s.rcpt_tos == std::vector<std::string>{"a@dest.example", "hidden@dest.example"}));
  BOOST_TEST(s.data.find("Bcc:") == std::string::npos);
  BOOST_TEST(s.data.find("hidden@dest.example") == std::string::npos);
  BOOST_TEST(s.data.find("X-Site: ACME\r\n") != std::string::npos);
  BOOST_TEST(s.data.find("Message-ID: <sitemail.") != std::string::npos);
  BOOST_TEST(s.data.find("\r\n\r\n\xc3\xa9t\xc3\xa9\r\n.hidden dot\r\n") != std::string::npos);
  BOOST_TEST(s.mail_from == "ill@lib.example");
  // the large one came in slices, its line ends made CRLF on the way
  std::string want_body;
  for (int i = 0; i < 120000; ++i) want_body += (i % 7 == 0 ? ".line " : "line ") + std::to_string(i) + "\r\n";
  BOOST_TEST(l.data.size() > want_body.size());
  BOOST_TEST(l.data.substr(l.data.size() - want_body.size()) == want_body);
  BOOST_TEST(l.data.find("To: b@dest.example\r\nSubject: big\r\n") == 0u);
  BOOST_TEST(d.signal_and_wait(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(eight_bit_content_is_converted_for_a_relay_without_8bitmime) {
  Env e("eightbit");
  SmtpSink no8("-8");  // no 8BITMIME (the sink writes one file per message)
  PyRelay with8("");
  e.site("OLD", port(no8.port()));
  e.site("NEW", port(with8.port()));
  const std::string raw = "To: a@dest.example\nSubject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n"
                          "--b1\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nK\xc3\xb6ln\n"
                          "--b1\nContent-Type: application/octet-stream\n\n\xff\xfe\x80\n--b1--\n";
  for (const char* site : {"OLD", "NEW"})
    e.db.conn().exec("INSERT INTO outbox (nvtgc, raw_message) VALUES ($1, $2::bytea)", {site, bytea_to_text(raw)});
  Daemon d(e.db, e.cfg.path());
  wait_or_log(
      d, [&] { return count(e.db, "status = 'sent'") == 2; }, "2 sent");
  BOOST_REQUIRE(no8.messages() == 1);
  auto file = run("ls -d " + no8.dir() + "/msg-* | head -1").out;
  auto parts = parts_of(slurp(std::string(trim(file))));
  BOOST_TEST(parts[0].find("\"seven_bit\": true") != std::string::npos, parts[0]);
  const auto text = part_with(parts, "\"type\": \"text/plain\"");
  BOOST_TEST(text.find("quoted-printable") != std::string::npos, text);
  BOOST_TEST(text.find("K\\u00f6ln") != std::string::npos, text);
  const auto bin = part_with(parts, "application/octet-stream");
  BOOST_TEST(bin.find("\"sha256\": \"" + sha256("\xff\xfe\x80") + "\"") != std::string::npos, bin);
  auto got = with8.received();
  BOOST_REQUIRE(got.size() == 1u);
  BOOST_TEST(got[0].data.find("K\xc3\xb6ln") != std::string::npos);  // sent as it is, declared 8BITMIME
  const auto& opts = got[0].mail_options;
  BOOST_TEST((std::find(opts.begin(), opts.end(), "BODY=8BITMIME") != opts.end()));
  BOOST_TEST((std::find_if(opts.begin(), opts.end(), [](const std::string& o) { return o.starts_with("SIZE="); }) != opts.end()));
  BOOST_TEST(d.signal_and_wait(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(too_large_mail_fails_alone_with_both_sizes) {
  Env e("size");
  PyRelay relay("--size 200000");
  e.site("ACME", port(relay.port()));
  e.site("CAPPED", port(relay.port()) + "<MaxMessageSize>50000</MaxMessageSize>");
  const auto over_relay = insert_with_attachments(e.db, "ACME", "", {{"big.bin", "", "", "", random_bytes(300000, 3)}});
  const auto over_site = insert_with_attachments(e.db, "CAPPED", "", {{"mid.bin", "", "", "", random_bytes(60000, 4)}});
  enqueue(e.db, "ACME", 2);
  enqueue(e.db, "CAPPED", 2);
  Daemon d(e.db, e.cfg.path());
  wait_or_log(
      d, [&] { return count(e.db, "status IN ('sent', 'failed')") == 6; }, "6 settled");
  const auto a = status_of(e.db, over_relay), b = status_of(e.db, over_site);
  BOOST_TEST(a.starts_with("failed "), a);
  BOOST_TEST(a.find("5.3.4") != std::string::npos, a);
  BOOST_TEST(a.find("SIZE limit of 200000 bytes") != std::string::npos, a);
  BOOST_TEST(a.find("is 411") != std::string::npos, a);  // 300,000 octets are 411,... in base64 lines with the MIME parts
  BOOST_TEST(b.starts_with("failed "), b);
  BOOST_TEST(b.find("MaxMessageSize of 50000 bytes") != std::string::npos, b);
  BOOST_TEST(count(e.db, "status = 'sent'") == 4);  // the sites' other mail went on
  BOOST_TEST(relay.received().size() == 4u);        // nothing half-sent
  BOOST_TEST(count(e.db, "status = 'failed' AND attempts = 1") == 2);
  BOOST_TEST(d.signal_and_wait(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(broken_rows_fail_alone_with_the_reason) {
  Env e("broken");
  PyRelay relay("");
  e.site("ACME", port(relay.port()));
  auto ins = [&](const std::string& raw, const std::string& subject) {
    return e.db.conn()
        .exec("INSERT INTO outbox (nvtgc, raw_message, subject, to_addrs) VALUES ('ACME', $1::bytea, nullif($2, ''), "
              "'a@dest.example') RETURNING id",
              {bytea_to_text(raw), subject})
        .get_int(0, 0);
  };
  const auto no_header = ins("no header here\njust text\n", "");
  const auto with_subject = ins("To: a@dest.example\n\nbody\n", "a subject too");
  const auto long_line = ins("To: a@dest.example\nX-Blob: " + std::string(5000, 'x') + "\n\nbody\n", "");
  enqueue(e.db, "ACME", 1);
  // NULL content is refused by the schema: nothing half-queued in a transaction
  auto null_content = run("psql " + e.db.quoted() +
                          " -v ON_ERROR_STOP=1 -c \"BEGIN; INSERT INTO outbox (nvtgc, to_addrs) VALUES "
                          "('ACME', 'a@dest.example'); INSERT INTO outbox_attachment (outbox_id, filename, content) VALUES "
                          "(currval('outbox_id_seq'), 'x', NULL); COMMIT;\"");
  BOOST_TEST(null_content.code != 0);
  BOOST_TEST(null_content.err.find("content") != std::string::npos, null_content.err);
  Daemon d(e.db, e.cfg.path());
  wait_or_log(
      d, [&] { return count(e.db, "status IN ('sent', 'failed')") == 4; }, "4 settled");
  BOOST_TEST(status_of(e.db, no_header).find("no header block") != std::string::npos, status_of(e.db, no_header));
  BOOST_TEST(status_of(e.db, with_subject).find("raw_message and also subject") != std::string::npos);
  BOOST_TEST(status_of(e.db, long_line).find("X-Blob") != std::string::npos, status_of(e.db, long_line));
  BOOST_TEST(count(e.db, "status = 'sent'") == 1);
  BOOST_TEST(relay.received().size() == 1u);
  BOOST_TEST(d.signal_and_wait(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(enqueue_attach_inline_raw_and_max_message_size) {
  Env e("ctlatt");
  e.site("ACME", "<EMailSMTPPort>2525</EMailSMTPPort><MaxMessageSize>100000</MaxMessageSize>");
  TempDir files("ctlfiles");
  files.write("report.pdf", random_bytes(5000, 5));
  files.write("logo.png", random_bytes(100, 6));
  files.write("huge.bin", random_bytes(90000, 7));
  files.write("mail.eml", "From: x@app.example\nTo: r@dest.example\nSubject: raw\n\nhello\n");
  files.write("page.html", "<img src=\"cid:logo.png\">");
  auto ok = e.ctl_cmd("enqueue --site ACME --to r@dest.example --subject s --html-file " + files.path() + "/page.html --attach " +
                      files.path() + "/report.pdf --inline " + files.path() + "/logo.png");
  BOOST_REQUIRE_MESSAGE(ok.code == 0, ok.err);
  auto show = e.ctl_cmd("queue show " + std::string(trim(ok.out)));
  BOOST_TEST(show.out.find("  report.pdf application/pdf attachment 5000") != std::string::npos, show.out);
  BOOST_TEST(show.out.find("  logo.png image/png inline 100") != std::string::npos, show.out);
  BOOST_TEST(e.db.conn()
                 .exec("SELECT count(*) FROM outbox_attachment WHERE content_id = 'logo.png' AND disposition = 'inline'")
                 .get_int(0, 0) == 1);
  auto raw = e.ctl_cmd("enqueue --site ACME --raw " + files.path() + "/mail.eml");
  BOOST_REQUIRE_MESSAGE(raw.code == 0, raw.err);
  auto raw_show = e.ctl_cmd("queue show " + std::string(trim(raw.out)));
  BOOST_TEST(raw_show.out.find("raw_message: 59 bytes") != std::string::npos, raw_show.out);
  const auto before = count(e.db, "true");
  auto big = e.ctl_cmd("enqueue --site ACME --to r@dest.example --attach " + files.path() + "/huge.bin");
  BOOST_TEST(big.code == 1);
  BOOST_TEST(big.err.find("MaxMessageSize of 100000 bytes") != std::string::npos, big.err);
  BOOST_TEST(count(e.db, "true") == before);  // nothing queued
  auto mixed = e.ctl_cmd("enqueue --site ACME --raw " + files.path() + "/mail.eml --subject x");
  BOOST_TEST(mixed.code == 2);
  // A file that cannot be read: the option, the path and why; nothing queued.
  auto missing = e.ctl_cmd("enqueue --site ACME --to r@dest.example --attach " + files.path() + "/gone.pdf");
  BOOST_TEST(missing.code == 2);
  BOOST_TEST(
      missing.err.find("cannot read --attach " + files.path() + "/gone.pdf: No such file or directory") != std::string::npos,
      missing.err);
  BOOST_TEST(count(e.db, "true") == before);
}
