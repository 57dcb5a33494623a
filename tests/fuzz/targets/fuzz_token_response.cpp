// fuzz_token_response.cpp — libFuzzer target for the OAuth token/device response parser
// (server/oauth/token_response.*): any bytes, any HTTP status. Nothing may crash, a parse
// never yields both a token and an error, limits hold, and the error text stays one
// printable line (it reaches verdicts and logs). Seeds: tests/fuzz/corpus/token_response/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "token_response.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int status = 200 + (data[0] % 4) * 100;  // 200, 300, 400, 500
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto r = sitemail::oauth::parse_token_response(body, status);
  if (!r.error.empty() && !r.access_token.empty()) std::abort();
  if (r.access_token.size() > sitemail::oauth::kMaxTokenBytes || r.refresh_token.size() > sitemail::oauth::kMaxTokenBytes)
    std::abort();
  if (r.expires_in < 0 || r.expires_in > sitemail::oauth::kMaxExpiresIn) std::abort();
  if (!r.ok()) {
    const auto text = sitemail::oauth::describe_error(r);
    for (char c : text)
      if (c == '\n' || c == '\r') std::abort();
  }
  return 0;
}
