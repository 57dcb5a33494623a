// form.hpp — application/x-www-form-urlencoded bodies and URL query strings of the web
// console, decoded into name/value pairs (percent escapes, '+' as space). Bounded: at most
// kMaxFormFields pairs; a malformed escape (%zz, a lone %) makes the whole form invalid
// rather than guessed at. Pure code, fuzzed by tests/fuzz/targets/fuzz_web_form.cpp.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sitemail::web {

inline constexpr std::size_t kMaxFormFields = 64;

struct Form {
  std::vector<std::pair<std::string, std::string>> fields;  // in order, repeats kept
  // The first value of `name`, or "" when absent.
  [[nodiscard]] std::string get(std::string_view name) const;
  [[nodiscard]] bool has(std::string_view name) const;
};

// Percent-decoding of one component (`plus_is_space`: forms and queries); nothing when an
// escape is malformed or decodes to a NUL byte.
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space);
// Nothing when malformed or over kMaxFormFields.
[[nodiscard]] std::optional<Form> decode_form(std::string_view body);
// The component escaped for a URL path segment or query value (unreserved characters kept).
[[nodiscard]] std::string url_encode(std::string_view in);

}  // namespace sitemail::web
