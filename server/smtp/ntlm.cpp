// ntlm.cpp — see ntlm.hpp. Message layouts from [MS-NLMP] §2.2.1.
#include "ntlm.hpp"

#include <openssl/rand.h>

#include <chrono>

#include "codec.hpp"

namespace sitemail::smtp::ntlm {

namespace {

constexpr std::uint32_t kUnicode = 0x00000001, kRequestTarget = 0x00000004, kNtlm = 0x00000200, kAlwaysSign = 0x00008000,
                        kExtendedSecurity = 0x00080000, kTargetInfo = 0x00800000, k128 = 0x20000000, k56 = 0x80000000;

void put16(std::string& s, std::uint32_t v) {
  s += static_cast<char>(v & 0xff);
  s += static_cast<char>((v >> 8) & 0xff);
}
void put32(std::string& s, std::uint32_t v) {
  put16(s, v & 0xffff);
  put16(s, v >> 16);
}
std::uint32_t get16(const std::string& s, std::size_t o) {
  return std::uint32_t(std::uint8_t(s[o])) | std::uint32_t(std::uint8_t(s[o + 1])) << 8;
}
std::uint32_t get32(const std::string& s, std::size_t o) { return get16(s, o) | get16(s, o + 2) << 16; }

std::string upper(std::string s) {
  for (auto& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  return s;
}

}  // namespace

std::string negotiate_message() {
  std::string m("NTLMSSP\0", 8);
  put32(m, 1);
  put32(m, kUnicode | kRequestTarget | kNtlm | kAlwaysSign | kExtendedSecurity | kTargetInfo | k128 | k56);
  put16(m, 0);
  put16(m, 0);
  put32(m, 0);  // domain (none)
  put16(m, 0);
  put16(m, 0);
  put32(m, 0);  // workstation (none)
  return m;
}

std::optional<Challenge> parse_challenge(const std::string& m, std::string& error) {
  if (m.size() > kMaxChallengeBytes) {
    error = "the NTLM challenge is " + std::to_string(m.size()) + " bytes, more than the limit of " +
            std::to_string(kMaxChallengeBytes);
    return std::nullopt;
  }
  if (m.size() < kMinChallengeBytes || m.compare(0, 8, std::string("NTLMSSP\0", 8)) != 0 || get32(m, 8) != 2) {
    error = "the NTLM challenge is not an NTLMSSP CHALLENGE message (" + std::to_string(m.size()) + " bytes)";
    return std::nullopt;
  }
  Challenge c;
  c.flags = get32(m, 20);
  c.server_challenge = m.substr(24, 8);
  if (m.size() >= 48) {
    // 64-bit arithmetic and a subtraction: an offset near 2^32 cannot wrap around.
    const std::size_t len = get16(m, 40), off = get32(m, 44);
    if (len > 0) {
      if (off > m.size() || len > m.size() - off) {
        error = "the NTLM challenge's TargetInfo field (offset " + std::to_string(off) + ", length " + std::to_string(len) +
                ") lies outside the " + std::to_string(m.size()) + "-byte message";
        return std::nullopt;
      }
      c.target_info = m.substr(off, len);
    }
  }
  return c;
}

std::optional<Challenge> parse_challenge(const std::string& m) {
  std::string ignored;
  return parse_challenge(m, ignored);
}

std::string ntowf_v2(const std::string& password, const std::string& user, const std::string& domain) {
  return codec::hmac_md5(codec::md4(codec::utf16le(password)), codec::utf16le(upper(user) + domain));
}

std::string ntlmv2_response(const std::string& key, const std::string& server_challenge, const std::string& client_challenge,
                            std::uint64_t filetime, const std::string& target_info) {
  std::string temp("\x01\x01\0\0\0\0\0\0", 8);
  for (int i = 0; i < 8; ++i) temp += static_cast<char>((filetime >> (8 * i)) & 0xff);
  temp += client_challenge;
  temp += std::string(4, '\0');
  temp += target_info;
  temp += std::string(4, '\0');
  return codec::hmac_md5(key, server_challenge + temp) + temp;
}

std::string lmv2_response(const std::string& key, const std::string& server_challenge, const std::string& client_challenge) {
  return codec::hmac_md5(key, server_challenge + client_challenge) + client_challenge;
}

std::string authenticate_message(const Challenge& c, const std::string& user_in, const std::string& password,
                                 const std::string& workstation, std::string client_challenge,
                                 std::optional<std::uint64_t> filetime) {
  std::string user = user_in, domain;
  if (auto bs = user_in.find('\\'); bs != std::string::npos) {
    domain = user_in.substr(0, bs);
    user = user_in.substr(bs + 1);
  } else if (auto at = user_in.find('@'); at != std::string::npos) {
    // UPN form: the whole name is the user, the domain is empty ([MS-NLMP] 3.1.5.1.2)
  }
  if (client_challenge.empty()) {
    client_challenge.resize(8);
    RAND_bytes(reinterpret_cast<unsigned char*>(client_challenge.data()), 8);
  }
  if (!filetime) {
    // FILETIME: 100 ns units since 1601 (computed in 100 ns units: 1601 in nanoseconds
    // would overflow a 64-bit count)
    using ticks = std::chrono::duration<std::int64_t, std::ratio<1, 10000000>>;
    const auto since_1970 = std::chrono::duration_cast<ticks>(std::chrono::system_clock::now().time_since_epoch()).count();
    *filetime = static_cast<std::uint64_t>(since_1970) + 11644473600ULL * 10000000ULL;
  }
  const auto key = ntowf_v2(password, user, domain);
  const auto nt = ntlmv2_response(key, c.server_challenge, client_challenge, *filetime, c.target_info);
  const auto lm = lmv2_response(key, c.server_challenge, client_challenge);
  const auto dom16 = codec::utf16le(domain), user16 = codec::utf16le(user), ws16 = codec::utf16le(workstation);
  std::string m("NTLMSSP\0", 8);
  put32(m, 3);
  std::uint32_t off = 64;
  auto field = [&](const std::string& v) {
    put16(m, static_cast<std::uint32_t>(v.size()));
    put16(m, static_cast<std::uint32_t>(v.size()));
    put32(m, off);
    off += static_cast<std::uint32_t>(v.size());
  };
  field(lm);
  field(nt);
  field(dom16);
  field(user16);
  field(ws16);
  field(std::string());  // no session key
  put32(m, kUnicode | kNtlm | kAlwaysSign | kExtendedSecurity | kTargetInfo | k128 | k56);
  return m + lm + nt + dom16 + user16 + ws16;
}

}  // namespace sitemail::smtp::ntlm
