// test_bounded_parsers.cpp — issue 9, network side, without sockets: the NTLM CHALLENGE
// parser rejects fields outside the message without overflow, the SMTP reply parser keeps
// its memory bounded (compaction, line/lines/bytes caps), the proxy reply parsers reject
// what is not their protocol, and a bad challenge in the session is an AUTH failure.
#include <boost/test/unit_test.hpp>

#include "codec.hpp"
#include "ntlm.hpp"
#include "proxy_reply.hpp"
#include "reply.hpp"
#include "session.hpp"

using namespace sitemail;
using namespace sitemail::smtp;

namespace {

void put16(std::string& s, unsigned v) { s += static_cast<char>(v & 0xff), s += static_cast<char>((v >> 8) & 0xff); }
void put32(std::string& s, unsigned v) { put16(s, v & 0xffff), put16(s, v >> 16); }

// A CHALLENGE with the TargetInfo field at (offset, length), followed by `tail`.
std::string challenge(unsigned ti_offset, unsigned ti_length, const std::string& tail = "") {
  std::string m("NTLMSSP\0", 8);
  put32(m, 2);
  put16(m, 0), put16(m, 0), put32(m, 56);
  put32(m, 0x00808205);
  m += "\x01\x23\x45\x67\x89\xab\xcd\xef";
  m += std::string(8, '\0');
  put16(m, ti_length), put16(m, ti_length), put32(m, ti_offset);
  m += std::string(8, '\0');
  return m + tail;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bounded_parsers)

BOOST_AUTO_TEST_CASE(ntlm_challenge_offsets_are_checked_without_overflow) {
  std::string why;
  // Finding 1: 0xFFFFFFF0 + 32 wraps to 16 in 32 bits, which is <= 56.
  BOOST_TEST(!ntlm::parse_challenge(challenge(0xFFFFFFF0u, 32), why));
  BOOST_TEST(why == "the NTLM challenge's TargetInfo field (offset 4294967280, length 32) lies outside the 56-byte message");
  BOOST_TEST(!ntlm::parse_challenge(challenge(50, 8), why));  // ends at 58 > 56
  auto ok = ntlm::parse_challenge(challenge(56, 4, std::string(4, '\0')), why);
  BOOST_REQUIRE(ok);
  BOOST_TEST(ok->target_info.size() == 4u);
  BOOST_TEST(ntlm::parse_challenge(challenge(0, 0)).has_value());  // no TargetInfo at all
  BOOST_TEST(!ntlm::parse_challenge(challenge(56, 0, std::string(ntlm::kMaxChallengeBytes, 'x')), why));
  BOOST_TEST(why == "the NTLM challenge is 8248 bytes, more than the limit of 8192");
  BOOST_TEST(!ntlm::parse_challenge("NTLMSSP", why));
  BOOST_TEST(why == "the NTLM challenge is not an NTLMSSP CHALLENGE message (7 bytes)");
}

BOOST_AUTO_TEST_CASE(evil_ntlm_challenge_in_the_session_is_an_auth_failure_with_the_reason) {
  SessionParams p;
  p.helo = "c.example";
  p.auth = AuthMethod::ntlm;
  p.creds = Credentials{"u", "pw", "", "WS"};
  Session s(p);
  s.on_bytes("220 r\r\n");
  (void)s.take_output();
  s.on_bytes("250-r\r\n250 AUTH NTLM\r\n");
  (void)s.take_output();
  s.on_bytes("334 " + codec::base64(challenge(0xFFFFFFF0u, 32)) + "\r\n");
  BOOST_REQUIRE((s.next() == Session::Action::failed));
  BOOST_TEST((s.failure().kind == FailureKind::auth));
  BOOST_TEST(s.failure().describe() ==
             "auth: AUTH NTLM could not continue: the NTLM challenge's TargetInfo field (offset 4294967280, length 32) lies "
             "outside the 56-byte message");
}

// Finding 5: the buffer kept every consumed byte while a segment ended mid-line.
BOOST_AUTO_TEST_CASE(reply_parser_memory_stays_bounded_over_a_long_stream) {
  ReplyParser rp;
  const std::string reply = "250 2.1.5 ok " + std::string(50, 'x') + "\r\n";
  std::string stream;
  for (int i = 0; i < 4000; ++i) stream += reply;
  std::size_t replies = 0, max_held = 0;
  for (int round = 0; round < 50; ++round)  // ~13 MB in 1000-byte segments
    for (std::size_t i = 0; i < stream.size(); i += 1000) {
      rp.feed(std::string_view(stream).substr(i, 1000));
      while (rp.next()) ++replies;
      max_held = std::max(max_held, rp.buffered());
    }
  BOOST_TEST(rp.error().empty(), rp.error());
  BOOST_TEST(replies == 200000u);
  BOOST_TEST(max_held < 1000u);
}

BOOST_AUTO_TEST_CASE(reply_parser_caps_lines_line_length_and_reply_size) {
  {
    ReplyParser rp;
    for (int i = 0; i < 600 && rp.error().empty(); ++i) {
      rp.feed("250-" + std::string(60, 'X') + "\r\n");
      BOOST_TEST(!rp.next());
    }
    BOOST_TEST(rp.error() == "reply of more than 512 lines (limit)");
    rp.feed(std::string(100000, 'y'));  // nothing more is kept once rejected
    BOOST_TEST(rp.buffered() == 0u);
  }
  {
    ReplyParser rp;
    for (int i = 0; i < 100 && rp.error().empty(); ++i) {
      rp.feed("250-" + std::string(1000, 'Y') + "\r\n");
      BOOST_TEST(!rp.next());
    }
    BOOST_TEST(rp.error() == "reply larger than 65536 bytes (limit)");
  }
  {
    ReplyParser rp;
    rp.feed("250-");
    for (int i = 0; i < 20 && rp.error().empty(); ++i) {
      rp.feed(std::string(1000, 'A'));
      BOOST_TEST(!rp.next());
      BOOST_TEST(rp.buffered() <= kMaxReplyLineBytes + 1000);
    }
    BOOST_TEST(rp.error() == "reply line longer than 12288 bytes (limit)");
  }
  {
    ReplyParser rp;  // a complete line that is too long is refused too
    rp.feed("250 " + std::string(13000, 'B') + "\r\n");
    BOOST_TEST(!rp.next());
    BOOST_TEST(rp.error() == "reply line longer than 12288 bytes (limit)");
  }
}

BOOST_AUTO_TEST_CASE(proxy_replies_are_bounded_and_checked) {
  using namespace sitemail::smtp::proxy;
  auto ok = parse_http_connect_reply("HTTP/1.1 200 Connection established\r\nVia: x\r\n\r\n220 relay\r\n");
  BOOST_TEST((ok.state == HttpConnectReply::State::complete));
  BOOST_TEST(ok.status == 200);
  BOOST_TEST(ok.header_end == 47u);
  BOOST_TEST((parse_http_connect_reply("HTTP/1.1 200 OK\r\nVia").state == HttpConnectReply::State::need_more));
  std::string many = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < 70; ++i) many += "X: y\r\n";
  BOOST_TEST(parse_http_connect_reply(many).error == "the proxy's reply has more than 64 header lines (limit)");
  BOOST_TEST(parse_http_connect_reply("HTTP/1.1 200 " + std::string(2000, 'z')).error ==
             "the proxy's status line is longer than 1024 bytes (limit)");
  BOOST_TEST(parse_http_connect_reply("HTTP/1.1 200 OK\r\nX: " + std::string(5000, 'z')).error ==
             "a header line of the proxy's reply is longer than 4096 bytes (limit)");
  BOOST_TEST(parse_http_connect_reply("SSH-2.0-x\r\n\r\n").error ==
             "the proxy did not answer with an HTTP status line: \"SSH-2.0-x\"");
  BOOST_TEST(socks4_reply(std::string("\x00\x5a\0\0\0\0\0\0", 8)).ok);
  BOOST_TEST(socks4_reply("HTTP/1.0").error == "not a SOCKS4 proxy (reply version 72, expected 0)");
  std::size_t addr = 99;
  BOOST_TEST(socks5_connect_reply(std::string("\x05\x00\x00\x01", 4), addr).ok);
  BOOST_TEST(addr == 4u);
  BOOST_TEST(socks5_connect_reply(std::string("\x05\x00\x00\x09", 4), addr).error ==
             "the SOCKS5 proxy's CONNECT reply has an unknown address type 9");
  BOOST_TEST(socks5_connect_reply(std::string("\x05\x05\x00\x01", 4), addr).remote == "reply code 5");
  unsigned method = 0;
  BOOST_TEST(!socks5_method_reply(std::string("\x05\x02", 2), false, method).ok);  // user/pass not offered
  BOOST_TEST(socks5_auth_reply(std::string("\x01\x01", 2)).error == "proxy authentication failed");
}

BOOST_AUTO_TEST_SUITE_END()
