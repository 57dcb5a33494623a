// ntlm.hpp — NTLMv2 for SMTP AUTH NTLM ([MS-NLMP]): the NEGOTIATE message, parsing the
// server's CHALLENGE, and the AUTHENTICATE message with NTLMv2 and LMv2 responses.
// The arithmetic is checked against the [MS-NLMP] §4.2.4 test vectors.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace sitemail::smtp::ntlm {

struct Challenge {
  std::string server_challenge;  // 8 bytes
  std::string target_info;       // AV pairs
  std::uint32_t flags = 0;
};

// Bounds of a CHALLENGE message we accept. Real servers send a few hundred bytes; the
// TargetInfo field is at most 64 KiB by its 16-bit length.
constexpr std::size_t kMaxChallengeBytes = 8192;
constexpr std::size_t kMinChallengeBytes = 32;

[[nodiscard]] std::string negotiate_message();
// nullopt when the message is not a well-formed CHALLENGE; `error` then says why (offsets
// and lengths are checked without overflow: a field must lie inside the message).
[[nodiscard]] std::optional<Challenge> parse_challenge(const std::string& msg, std::string& error);
[[nodiscard]] std::optional<Challenge> parse_challenge(const std::string& msg);

// NTOWFv2 = HMAC-MD5(MD4(UTF-16LE(password)), UTF-16LE(UPPER(user) + domain))
[[nodiscard]] std::string ntowf_v2(const std::string& password, const std::string& user, const std::string& domain);
// NTProofStr || temp, where temp = 0x0101 0000 | 0 | time | client challenge | 0 | target info | 0
[[nodiscard]] std::string ntlmv2_response(const std::string& key, const std::string& server_challenge,
                                          const std::string& client_challenge, std::uint64_t filetime,
                                          const std::string& target_info);
[[nodiscard]] std::string lmv2_response(const std::string& key, const std::string& server_challenge,
                                        const std::string& client_challenge);

// user may be "DOMAIN\\user" or "user@domain"; client_challenge random unless given (tests).
[[nodiscard]] std::string authenticate_message(const Challenge& c, const std::string& user, const std::string& password,
                                               const std::string& workstation, std::string client_challenge = {},
                                               std::optional<std::uint64_t> filetime = std::nullopt);

}  // namespace sitemail::smtp::ntlm
