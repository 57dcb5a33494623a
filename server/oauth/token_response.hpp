// token_response.hpp — parsing what an OAuth 2.0 token or device authorization endpoint
// answers (RFC 6749 §5.1/§5.2, RFC 8628 §3.2/§3.5): JSON, read with nlohmann-json, within
// named size limits. Pure (no I/O), so the libFuzzer target can call it directly.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sitemail::oauth {

// Limits: a response over any of them is an error naming the limit.
inline constexpr std::size_t kMaxResponseBytes = 64 * 1024;  // whole HTTP body
inline constexpr std::size_t kMaxTokenBytes = 16 * 1024;     // access_token, refresh_token, device_code
inline constexpr std::size_t kMaxTextBytes = 2 * 1024;       // error, error_description, user_code, URIs
inline constexpr std::int64_t kMaxExpiresIn = 366LL * 24 * 3600;

struct TokenResponse {
  // success (token endpoint)
  std::string access_token, token_type, refresh_token, scope;
  std::int64_t expires_in = 0;  // seconds; 0 when the endpoint did not say
  // error (RFC 6749 §5.2): error is set, the rest may be empty
  std::string error, error_description;
  // device authorization response (RFC 8628 §3.2)
  std::string device_code, user_code, verification_uri, verification_uri_complete;
  std::int64_t interval = 0;
  // parse failure: not JSON, not an object, a field of the wrong type, a limit exceeded
  std::string malformed;
  [[nodiscard]] bool ok() const { return malformed.empty() && error.empty(); }
};

// Parses one response body. `http_status` is only used to word errors (a 4xx without an
// `error` field). Never throws.
[[nodiscard]] TokenResponse parse_token_response(std::string_view body, int http_status = 200);

// "invalid_client: AADSTS7000215 Invalid client secret" — sanitised (one line, printable,
// bounded), never containing a token.
[[nodiscard]] std::string describe_error(const TokenResponse& r);

}  // namespace sitemail::oauth
