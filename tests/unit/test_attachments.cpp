// test_attachments.cpp — CONTRACT §8 without a relay: attachments as MIME parts (every byte
// value survives, hostile file names, inline images, RFC 2231 names), raw messages (header
// rewriting, envelope, bad input), sizes, 8-bit conversion, and the stream encoders.
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <memory>
#include <vector>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "body_stream.hpp"
#include "codec.hpp"
#include "heap_tuning.hpp"
#include "mime.hpp"
#include "raw_message.hpp"
#include "session.hpp"
#include "site_settings.hpp"
#include "text_util.hpp"

using namespace sitemail;
using namespace sitemail::smtp;

namespace {

OutboxMessage with_attachment(std::string content, std::string filename = "report.pdf", std::string type = {}) {
  auto m = outbox_row(7, "T", "a@x.example", "", "", "", "", "", "Report", "see attached", "", "");
  Attachment a;
  a.id = 1;
  a.filename = std::move(filename);
  a.content_type = std::move(type);
  a.size = content.size();
  a.content = std::move(content);
  m.attachments.push_back(std::move(a));
  return m;
}

// The decoded body of the first part whose headers contain `marker`.
std::string decoded_part(const std::string& data, const std::string& marker) {
  auto at = data.find(marker);
  BOOST_REQUIRE(at != std::string::npos);
  auto start = data.find("\r\n\r\n", at);
  BOOST_REQUIRE(start != std::string::npos);
  start += 4;
  auto end = data.find("\r\n--", start - 2);  // the delimiter (its CRLF ends the last base64 line)
  BOOST_REQUIRE(end != std::string::npos);
  auto b64 = end < start ? std::string() : data.substr(start, end - start);
  auto bytes = codec::unbase64(b64);
  BOOST_REQUIRE(bytes);
  return *bytes;
}

OutboxMessage raw_row(std::string raw) {
  auto m = outbox_row(9, "T", "", "", "", "", "", "", "", "", "", "");
  m.has_raw = true;
  m.raw_size = raw.size();
  m.raw_head = std::move(raw);
  return m;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(attachments)

BOOST_AUTO_TEST_CASE(every_byte_value_decodes_to_the_rows_content) {
  auto s = test::site_settings("");
  std::string all;
  for (int round = 0; round < 3; ++round)
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t len : {std::size_t{0}, std::size_t{1}, std::size_t{56}, std::size_t{57}, std::size_t{58}, all.size()}) {
    auto r = build_message(with_attachment(all.substr(0, len)), *s, 0);
    BOOST_REQUIRE(r.message);
    BOOST_TEST(r.message->data.find("Content-Type: multipart/mixed;") != std::string::npos);
    BOOST_TEST(decoded_part(r.message->data, "filename=\"report.pdf\"") == all.substr(0, len));
    BOOST_TEST((r.message->body == BuiltMessage::Body::seven_bit));
    for (char c : r.message->data) BOOST_REQUIRE(static_cast<unsigned char>(c) < 0x80);
  }
}

BOOST_AUTO_TEST_CASE(the_text_body_comes_first_and_the_type_is_guessed) {
  auto s = test::site_settings("");
  auto r = build_message(with_attachment("a,b\n1,2\n", "Data.CSV"), *s, 0);
  BOOST_REQUIRE(r.message);
  const auto& d = r.message->data;
  BOOST_TEST(d.find("see attached") < d.find("Content-Type: text/csv"));
  BOOST_TEST(mime::guess_content_type("x.unknownext") == "application/octet-stream");
  BOOST_TEST(mime::guess_content_type("noext") == "application/octet-stream");
  auto given = build_message(with_attachment("x", "a.bin", "text/plain; charset=iso-8859-1"), *s, 0);
  BOOST_TEST(given.message->data.find("Content-Type: text/plain; charset=iso-8859-1;") != std::string::npos);
  auto hostile_type = build_message(with_attachment("x", "a.pdf", "text/html\r\nBcc: v@x.example"), *s, 0);
  BOOST_TEST(hostile_type.message->data.find("Bcc:") == std::string::npos);
  BOOST_TEST(hostile_type.message->data.find("Content-Type: application/pdf") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(hostile_file_names_become_a_safe_base_name) {
  BOOST_TEST(mime::safe_filename("../../etc/passwd") == "passwd");
  BOOST_TEST(mime::safe_filename("C:\\Users\\x\\evil.exe") == "evil.exe");
  BOOST_TEST(mime::safe_filename("a\r\nBcc: v@x.example") == "aBcc: v@x.example");
  BOOST_TEST(mime::safe_filename("\"quoted\".txt") == "quoted.txt");
  BOOST_TEST(mime::safe_filename("/") == "attachment");
  BOOST_TEST(mime::safe_filename("..") == "attachment");
  BOOST_TEST(mime::safe_filename(std::string("a\0b.txt", 7)) == "ab.txt");
  auto s = test::site_settings("");
  auto r = build_message(with_attachment("x", "x/y\r\nBcc: victim@x.example\r\n.txt"), *s, 0);
  BOOST_REQUIRE(r.message);
  BOOST_TEST(r.message->data.find("\r\nBcc:") == std::string::npos);
  BOOST_TEST(r.message->recipients.size() == 1u);
}

BOOST_AUTO_TEST_CASE(non_ascii_names_use_rfc2231_and_long_ones_are_continued) {
  auto h = mime::attachment_headers("B\xc3\xa9richte \xc3\xbc"
                                    "ber 2026.pdf",
                                    "", false, "");
  BOOST_TEST(h.find("filename*=utf-8''B%C3%A9richte%20%C3%BCber%202026.pdf") != std::string::npos);
  BOOST_TEST(h.find("name=\"=?UTF-8?B?") != std::string::npos);
  std::string long_name;
  for (int i = 0; i < 30; ++i) long_name += "\xc3\xa9";
  long_name += ".txt";
  auto l = mime::attachment_headers(long_name, "", false, "");
  BOOST_TEST(l.find("filename*0*=utf-8''") != std::string::npos);
  BOOST_TEST(l.find("filename*1*=") != std::string::npos);
  for (const auto& line : split(l, '\n')) BOOST_TEST(line.size() <= 100u);
}

BOOST_AUTO_TEST_CASE(inline_parts_with_a_content_id_go_beside_the_html) {
  auto s = test::site_settings("");
  auto m = with_attachment("\x89PNG...", "logo.png");
  m.body_html = "<p><img src=\"cid:logo.png\"></p>";
  m.attachments[0].disposition = "inline";
  m.attachments[0].content_id = "logo.png";
  Attachment pdf;
  pdf.id = 2;
  pdf.filename = "r.pdf";
  pdf.content = "%PDF";
  pdf.size = 4;
  m.attachments.push_back(pdf);
  auto r = build_message(m, *s, 0);
  BOOST_REQUIRE(r.message);
  const auto& d = r.message->data;
  const auto mixed = d.find("multipart/mixed"), related = d.find("multipart/related"), alt = d.find("multipart/alternative");
  const auto logo = d.find("Content-ID: <logo.png>"), pdf_at = d.find("filename=\"r.pdf\"");
  BOOST_TEST((mixed < related && related < alt && alt < logo && logo < pdf_at));
  BOOST_TEST(d.find("Content-Disposition: inline;") != std::string::npos);
  BOOST_TEST(decoded_part(d, "Content-ID: <logo.png>") == "\x89PNG...");
}

BOOST_AUTO_TEST_CASE(a_large_attachment_is_streamed_with_its_exact_size) {
  auto s = test::site_settings("");
  const std::string content(1000000, 'z');
  auto loaded = build_message(with_attachment(content), *s, 0);
  auto m = with_attachment(content);
  m.attachments[0].content.reset();  // too large to come with the row
  auto streamed = build_message(m, *s, 0);
  BOOST_REQUIRE(streamed.message);
  BOOST_TEST(streamed.message->streamed());
  BOOST_TEST(streamed.message->data.empty());
  BOOST_TEST(streamed.message->octets() == loaded.message->data.size());  // boundaries have the same length
  BOOST_TEST(codec::base64_lines_size(content.size()) == codec::base64_lines(content).size());
  for (std::uint64_t n : {0ull, 1ull, 56ull, 57ull, 58ull, 114ull, 1000ull})
    BOOST_TEST(codec::base64_lines_size(n) == codec::base64_lines(std::string(n, 'q')).size());
}

BOOST_AUTO_TEST_CASE(base64_lines_encoded_slice_by_slice_are_the_whole_encoding_in_76_column_lines) {
  std::string content;
  for (int i = 0; i < 100000; ++i) content += static_cast<char>((i * 7919) >> 3);
  std::string lines;  // every 76 characters of the plain encoding, then CRLF
  const std::string plain = codec::base64(content);
  for (std::size_t i = 0; i < plain.size(); i += 76) lines += plain.substr(i, 76) + "\r\n";
  BOOST_TEST(codec::base64_lines(content) == lines);
  for (std::size_t slice : {std::size_t{57}, std::size_t{57 * 3}, kStreamChunk}) {
    std::string out = "prefix";
    for (std::size_t at = 0; at < content.size(); at += slice)
      codec::append_base64_lines(std::string_view(content).substr(at, slice), out);
    BOOST_TEST(out == "prefix" + lines, "slices of " << slice);
  }
}

BOOST_AUTO_TEST_CASE(max_message_size_fails_the_message_with_both_sizes) {
  auto s = test::site_settings("<MaxMessageSize>1000</MaxMessageSize>");
  auto r = build_message(with_attachment(std::string(2000, 'x')), *s, 0);
  BOOST_REQUIRE(r.failure);
  BOOST_TEST((r.failure->kind == FailureKind::permanent));
  BOOST_TEST(r.failure->detail.find("5.3.4") != std::string::npos);
  BOOST_TEST(r.failure->detail.find("1000 bytes") != std::string::npos);
  auto unlimited = build_message(with_attachment(std::string(2000, 'x')), *test::site_settings(""), 0);
  BOOST_TEST(r.failure->detail.find("is " + std::to_string(unlimited.message->octets()) + " bytes") != std::string::npos);
  auto ok = build_message(with_attachment(std::string(100, 'x')), *s, 0);
  BOOST_TEST(ok.message.has_value());
}

// The daemon's malloc keeps buffers of a slice's size in its heap: none is mapped on its own,
// and freeing them hands nothing back to the kernel (heap_tuning.hpp; on a virtual machine
// the page faults of mapping them again were half of sitemaild's CPU with large mail).
BOOST_AUTO_TEST_CASE(the_daemon_keeps_slice_sized_buffers_in_its_heap) {
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
  keep_large_buffers_in_heap();
  const auto before = mallinfo2();
  std::vector<std::unique_ptr<char[]>> blocks;
  for (int i = 0; i < 8; ++i) {
    blocks.push_back(std::make_unique<char[]>(kStreamChunk * 3 / 2));  // a slice's base64 lines and more
    blocks.back()[kStreamChunk] = 1;
  }
  const auto during = mallinfo2();
  BOOST_TEST(during.hblks == before.hblks);  // not one mapped on its own
  blocks.clear();
  const auto after = mallinfo2();
  BOOST_TEST(after.arena == during.arena);  // the heap kept its pages
#else
  BOOST_TEST_MESSAGE("not glibc's malloc (or a sanitizer's): nothing to check");
#endif
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(raw_messages)

BOOST_AUTO_TEST_CASE(sent_as_built_with_only_the_listed_changes) {
  auto s = test::site_settings("<OtherHeaders>X-Site: T\nX-Mailer: ours</OtherHeaders>");
  auto r = build_raw_message(raw_row("From: App <app@x.example>\nTo: A <a@x.example>, \"B, b\" <b@x.example>\n"
                                     "Bcc: hidden@x.example\nX-Mailer: theirs\nSubject: hi\n\nline 1\n.line 2\n"),
                             *s, 0);
  BOOST_REQUIRE(r.message);
  const auto& m = *r.message;
  BOOST_TEST(m.data.find("\r\nBcc:") == std::string::npos);
  BOOST_TEST(m.data.find("hidden@x.example") == std::string::npos);
  BOOST_TEST(m.data.find("Date: ") != std::string::npos);
  BOOST_TEST(m.data.find("Message-ID: <sitemail.9.t@lib.example>") != std::string::npos);
  BOOST_TEST(m.data.find("X-Site: T\r\n") != std::string::npos);
  BOOST_TEST(m.data.find("X-Mailer: ours") == std::string::npos);  // the message has its own
  BOOST_TEST(m.data.find("\r\n\r\nline 1\r\n.line 2\r\n") != std::string::npos);
  BOOST_TEST(m.data.find('\n') == m.data.find("\r\n") + 1);
  BOOST_TEST(m.envelope_from == "ill@lib.example");
  BOOST_TEST((m.recipients == std::vector<std::string>{"a@x.example", "b@x.example", "hidden@x.example"}));
  BOOST_TEST(dot_stuff(m.data).find("\r\n..line 2\r\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(envelope_columns_win_over_the_headers) {
  auto s = test::site_settings("");
  auto row = raw_row("To: a@x.example\r\nMessage-ID: <own@x.example>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nb\r\n");
  row.to = "other@y.example";
  row.from_addr = "sender@y.example";
  auto r = build_raw_message(row, *s, 0);
  BOOST_REQUIRE(r.message);
  BOOST_TEST((r.message->recipients == std::vector<std::string>{"other@y.example"}));
  BOOST_TEST(r.message->envelope_from == "sender@y.example");
  BOOST_TEST(r.message->message_id == "<own@x.example>");
  BOOST_TEST(r.message->data.find("Date: Mon, 1 Jan 2024") != std::string::npos);
  BOOST_TEST(r.message->data.find("Date: ", r.message->data.find("Date: ") + 1) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_raw_messages_fail_with_what_and_where) {
  auto s = test::site_settings("");
  auto no_header = build_raw_message(raw_row("just a body line\nmore\n"), *s, 0);
  BOOST_REQUIRE(no_header.failure);
  BOOST_TEST(no_header.failure->detail.find("no header block") != std::string::npos);
  BOOST_TEST((no_header.failure->kind == FailureKind::permanent));
  auto empty_first = build_raw_message(raw_row("\nbody\n"), *s, 0);
  BOOST_TEST(empty_first.failure->detail.find("no header block") != std::string::npos);
  auto bad_line = build_raw_message(raw_row("To: a@x.example\nnot a header\n\nb"), *s, 0);
  BOOST_TEST(bad_line.failure->detail.find("line 2") != std::string::npos);
  auto unfoldable = build_raw_message(raw_row("To: a@x.example\nX-Long: " + std::string(5000, 'a') + "\n\nb"), *s, 0);
  BOOST_REQUIRE(unfoldable.failure);
  BOOST_TEST(unfoldable.failure->detail.find("X-Long") != std::string::npos);
  BOOST_TEST(unfoldable.failure->detail.find("line 2") != std::string::npos);
  BOOST_TEST(unfoldable.failure->detail.find("5008 octets") != std::string::npos);
  auto with_subject = raw_row("To: a@x.example\n\nb");
  with_subject.subject = "also";
  auto both = build_raw_message(with_subject, *s, 0);
  BOOST_REQUIRE(both.failure);
  BOOST_TEST(both.failure->detail.find("raw_message and also subject") != std::string::npos);
  auto no_rcpt = build_raw_message(raw_row("Subject: x\n\nb"), *s, 0);
  BOOST_TEST(no_rcpt.failure->detail.find("no recipient") != std::string::npos);
  auto big_head = raw_row("To: a@x.example\n" + std::string(70000, 'x'));
  big_head.raw_size = 10'000'000;  // only the head came with the row
  auto r = build_raw_message(big_head, *s, 0);
  BOOST_TEST(r.failure->detail.find("does not end within the first 65536 octets") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(long_header_lines_are_folded_at_white_space) {
  auto s = test::site_settings("");
  std::string words;
  for (int i = 0; i < 1000; ++i) words += "word ";
  auto r = build_raw_message(raw_row("To: a@x.example\nX-Words: " + words + "\n\nb"), *s, 0);
  BOOST_REQUIRE(r.message);
  for (const auto& line : split(r.message->data, '\n')) BOOST_TEST(line.size() <= 999u);
}

BOOST_AUTO_TEST_CASE(a_large_raw_message_streams_its_body) {
  auto s = test::site_settings("");
  auto row = raw_row("To: a@x.example\nSubject: big\n\nfirst body octets");
  row.raw_size = 50'000'000;
  auto r = build_raw_message(row, *s, 0);
  BOOST_REQUIRE(r.message);
  BOOST_TEST(r.message->streamed());
  BOOST_REQUIRE(r.message->stream.size() == 2u);
  BOOST_TEST(r.message->stream[1].blob.offset == std::string("To: a@x.example\nSubject: big\n\n").size());
  BOOST_TEST((r.message->body == BuiltMessage::Body::unknown));
}

BOOST_AUTO_TEST_CASE(eight_bit_parts_are_reencoded_for_a_relay_without_8bitmime) {
  const std::string msg = "To: a@x.example\r\nContent-Type: multipart/mixed; boundary=\"XY\"\r\n\r\npre\r\n--XY\r\n"
                          "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\xc3\xbc\xc3\x9f"
                          "e\r\n"
                          "--XY\r\nContent-Type: application/octet-stream\r\n\r\n\xff\xfe\x01\r\n--XY--\r\n";
  std::string error;
  auto seven = raw::downgrade_to_7bit(msg, error);
  BOOST_REQUIRE_MESSAGE(seven, error);
  BOOST_TEST(!raw::has_8bit(*seven));
  BOOST_TEST(seven->find("Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe") != std::string::npos);
  BOOST_TEST(seven->find("Content-Transfer-Encoding: base64\r\n\r\n//4B") != std::string::npos);
  BOOST_TEST(seven->find("8bit") == std::string::npos);
  BOOST_TEST(seven->find("--XY--") != std::string::npos);
  auto header8 = raw::downgrade_to_7bit("Subject: Gr\xc3\xbc\xc3\x9f"
                                        "e\r\n\r\nx\r\n",
                                        error);
  BOOST_TEST(!header8);
  BOOST_TEST(error.find("SMTPUTF8") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(stream_encoders_keep_state_across_chunks) {
  const std::string text = "a\r\n.b\n..c\rd\r\r\n.\r\n";
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    CrlfNormaliser n;
    std::string crlf;
    n.feed(text.substr(0, cut), crlf);
    n.feed(text.substr(cut), crlf);
    n.finish(crlf);
    BOOST_TEST(crlf == to_crlf(text));
    DotStuffer d;
    std::string stuffed;
    d.feed(crlf.substr(0, cut), stuffed);
    d.feed(crlf.substr(cut), stuffed);
    stuffed += d.tail();
    BOOST_TEST(stuffed + ".\r\n" == dot_stuff(crlf));
  }
}

BOOST_AUTO_TEST_SUITE_END()
