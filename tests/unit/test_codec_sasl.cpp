// test_codec_sasl.cpp — encodings and digests against published vectors: MD4 (RFC 1320
// §A.5), HMAC-MD5 / CRAM-MD5 (RFC 2195 example), NTLMv2 ([MS-NLMP] §4.2.4), base64,
// quoted-printable, RFC 2047; and the AUTH mechanism choice rules.
#include <openssl/evp.h>

#include <boost/test/unit_test.hpp>
#include <random>

#include "codec.hpp"
#include "ntlm.hpp"
#include "sasl.hpp"

using namespace sitemail;
using namespace sitemail::smtp;

BOOST_AUTO_TEST_SUITE(codec_sasl)

BOOST_AUTO_TEST_CASE(md4_rfc1320_vectors) {
  const std::pair<const char*, const char*> v[] = {
      {"", "31d6cfe0d16ae931b73c59d7e0c089c0"},
      {"a", "bde52cb31de33e46245e05fbdbd6fb24"},
      {"abc", "a448017aaf21d8525fc10ae87aa6729d"},
      {"message digest", "d9130a8164549fe818874806e1c7014b"},
      {"12345678901234567890123456789012345678901234567890123456789012345678901234567890", "e33b4ddc9c38f2199c3e7b164fcc0536"},
  };
  for (auto [in, out] : v) BOOST_TEST(codec::hex(codec::md4(in)) == out, in);
}

BOOST_AUTO_TEST_CASE(cram_md5_rfc2195_example) {
  auto digest = codec::hex(codec::hmac_md5("tanstaaftanstaaf", "<1896.697170952@postoffice.reston.mci.net>"));
  BOOST_TEST(digest == "b913a602c7eda7a495b4e6e7334d3890");
  auto m = make_mechanism("CRAM-MD5", Credentials{"tim", "tanstaaftanstaaf", "", ""});
  BOOST_TEST(m->initial() == "AUTH CRAM-MD5");
  BOOST_TEST(*m->step("<1896.697170952@postoffice.reston.mci.net>") == "tim b913a602c7eda7a495b4e6e7334d3890");
}

BOOST_AUTO_TEST_CASE(ntlmv2_ms_nlmp_4_2_4_vectors) {
  const std::string server_challenge = codec::unhex("0123456789abcdef");
  const std::string client_challenge = codec::unhex("aaaaaaaaaaaaaaaa");
  const std::string target_info = codec::unhex("02000c0044006f006d00610069006e00"
                                               "01000c00530065007200760065007200"
                                               "00000000");
  auto key = ntlm::ntowf_v2("Password", "User", "Domain");
  BOOST_TEST(codec::hex(key) == "0c868a403bfd7a93a3001ef22ef02e3f");
  auto lm = ntlm::lmv2_response(key, server_challenge, client_challenge);
  BOOST_TEST(codec::hex(lm) == "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa");
  auto nt = ntlm::ntlmv2_response(key, server_challenge, client_challenge, 0, target_info);
  BOOST_TEST(codec::hex(nt.substr(0, 16)) == "68cd0ab851e51c96aabc927bebef6a1c");
  BOOST_TEST(codec::hex(nt.substr(16)) == "01010000000000000000000000000000aaaaaaaaaaaaaaaa00000000"
                                          "02000c0044006f006d00610069006e0001000c0053006500720076006500720000000000"
                                          "00000000");
  // SessionBaseKey = HMAC-MD5(NTOWFv2, NTProofStr)
  BOOST_TEST(codec::hex(codec::hmac_md5(key, nt.substr(0, 16))) == "8de40ccadbc14a82f15cb0ad0de95ca3");
}

BOOST_AUTO_TEST_CASE(ntlm_challenge_message_from_the_spec_parses) {
  auto msg = codec::unhex("4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef00000000000000002400240044000000"
                          "060070170000000f53006500720076006500720002000c0044006f006d00610069006e0001000c005300650072007600"
                          "6500720000000000");
  auto c = ntlm::parse_challenge(msg);
  BOOST_REQUIRE(c);
  BOOST_TEST(codec::hex(c->server_challenge) == "0123456789abcdef");
  BOOST_TEST(c->target_info.size() == 36u);
  auto auth = ntlm::authenticate_message(*c, "Domain\\User", "Password", "COMPUTER", codec::unhex("aaaaaaaaaaaaaaaa"), 0);
  BOOST_TEST(auth.substr(0, 12) == std::string("NTLMSSP\0\x03\0\0\0", 12));
  BOOST_TEST(auth.find(codec::unhex("68cd0ab851e51c96aabc927bebef6a1c")) != std::string::npos);
  BOOST_TEST(auth.find(codec::utf16le("User")) != std::string::npos);
}

// The encoder reads six octets at a time with a table of character pairs: every length from
// 0 to 300 and every octet value, against OpenSSL's encoder as the independent reference.
BOOST_AUTO_TEST_CASE(base64_matches_openssl_for_every_length_and_octet) {
  std::mt19937 rng(20261206);
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (std::size_t n = 0; n <= 300; ++n) {
    std::string in = n <= bytes.size() ? bytes.substr(bytes.size() - n) : std::string();
    while (in.size() < n) in += static_cast<char>(rng());
    std::string ref((n + 2) / 3 * 4 + 1, '\0');
    const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(ref.data()),
                                    reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(n));
    ref.resize(static_cast<std::size_t>(len));
    BOOST_TEST(codec::base64(in) == ref, "length " << n);
  }
}

BOOST_AUTO_TEST_CASE(base64_and_quoted_printable) {
  BOOST_TEST(codec::base64("") == "");
  BOOST_TEST(codec::base64("f") == "Zg==");
  BOOST_TEST(codec::base64("foobar") == "Zm9vYmFy");
  BOOST_TEST(*codec::unbase64("Zm9v YmE=") == "fooba");
  BOOST_TEST(!codec::unbase64("Zm9v!").has_value());
  BOOST_TEST(codec::quoted_printable("caf\xc3\xa9 = ok") == "caf=C3=A9 =3D ok");
  BOOST_TEST(codec::quoted_printable("trailing space \nnext") == "trailing space=20\r\nnext");
  BOOST_TEST(codec::quoted_printable(".dot at start") == "=2Edot at start");
  auto long_line = codec::quoted_printable(std::string(200, 'x'));
  for (auto& l : {long_line.substr(0, long_line.find("\r\n"))}) BOOST_TEST(l.size() <= 76u);
  BOOST_TEST(codec::encode_header_text("plain") == "plain");
  BOOST_TEST(codec::encode_header_text("Gr\xc3\xbc\xc3\x9f"
                                       "e") == "=?UTF-8?B?R3LDvMOfZQ==?=");
}

BOOST_AUTO_TEST_CASE(auth_choice_never_sends_a_password_in_clear_unless_named) {
  Credentials c{"user", "pw", "", "host"};
  const std::set<std::string> clear = {"PLAIN", "LOGIN"};
  auto auto_plain = choose_mechanism(AuthMethod::automatic, clear, /*tls_active=*/false, c);
  BOOST_TEST(!auto_plain.mechanism);
  BOOST_TEST(auto_plain.error.find("will not send the password in clear") != std::string::npos);
  BOOST_TEST(choose_mechanism(AuthMethod::automatic, clear, true, c).mechanism->name() == "PLAIN");
  BOOST_TEST(choose_mechanism(AuthMethod::plain, clear, false, c).mechanism->name() == "PLAIN");
  BOOST_TEST(choose_mechanism(AuthMethod::automatic, {"PLAIN", "LOGIN", "CRAM-MD5"}, false, c).mechanism->name() == "CRAM-MD5");
  BOOST_TEST(choose_mechanism(AuthMethod::automatic, {"PLAIN", "CRAM-MD5", "NTLM"}, true, c).mechanism->name() == "NTLM");
  BOOST_TEST(choose_mechanism(AuthMethod::login, {"PLAIN"}, true, c).error.find("does not offer AUTH LOGIN") !=
             std::string::npos);
  BOOST_TEST(choose_mechanism(AuthMethod::automatic, {}, true, c).error ==
             "the relay does not offer AUTH, but SMTPUserID is set");
  BOOST_TEST(!choose_mechanism(AuthMethod::automatic, {"PLAIN"}, true, Credentials{}).mechanism);
  BOOST_TEST(choose_mechanism(AuthMethod::none, {"PLAIN"}, true, c).error.empty());
  Credentials tok{"user", "", "token123", ""};
  auto x = choose_mechanism(AuthMethod::automatic, {"XOAUTH2", "PLAIN"}, true, tok);
  BOOST_TEST(x.mechanism->name() == "XOAUTH2");
  BOOST_TEST(*codec::unbase64(x.mechanism->initial().substr(13)) == "user=user\x01"
                                                                    "auth=Bearer token123\x01\x01");
  auto plain = make_mechanism("PLAIN", c);
  BOOST_TEST(plain->initial() == "AUTH PLAIN " + codec::base64(std::string("\0user\0pw", 8)));
  BOOST_TEST(plain->redacted_initial().find("pw") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
