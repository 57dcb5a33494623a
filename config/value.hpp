// value.hpp — turning one raw setting text into a typed value, per the catalogue row.
// Pure: no network, no DB. Secret indirections (env:NAME, file:PATH) are resolved here
// when the context asks for it, so the rest of sitemail only sees final values.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalogue.hpp"
#include "rare_text.hpp"

namespace sitemail {

enum class PortTls { unspecified, ssl, starttls, nossl };

struct Value {
  std::string text;         // host/address/text/blob/headers/path/secret; cert pin: "*" or sha256 hex
  std::int64_t number = 0;  // bool 0/1, enum number, seconds, count, port number
  PortTls port_tls = PortTls::unspecified;
  RareText indirection;  // for secrets: "env:NAME" / "file:PATH" when the value came that way

  [[nodiscard]] bool flag() const { return number != 0; }
  bool operator==(const Value&) const = default;
};

struct ParseContext {
  std::string config_dir;                                                // base for relative file: paths
  std::function<std::optional<std::string>(const std::string&)> getenv;  // null = process env
  bool resolve_secrets = true;                                           // false: check the indirection's syntax only (keys set)
  // A value from a delegated site file (CONTRACT §6): file: names resolve only beneath
  // confine_dir (<config_dir>/<site>), env: only for the names in env_allow.
  bool confined = false;
  std::string confine_dir;
  std::vector<std::string> env_allow;
};

struct ParseOutcome {
  std::optional<Value> value;  // empty when the text is invalid
  std::string error;           // why, in our words, quoting the bad text
  std::string warning;         // accepted, but worth saying (e.g. SslAcceptServerCert = *)
};

[[nodiscard]] ParseOutcome parse_value(const SettingDef& d, std::string_view raw, const ParseContext& ctx);
// The built-in default as a typed value (always parses; checked by a unit test).
[[nodiscard]] Value default_value(const SettingDef& d);
// How `show` prints a value: canonical spelling; secrets as (set)/(empty).
[[nodiscard]] std::string format_value(const SettingDef& d, const Value& v);
// How an admin's raw text is shown in --explain for an overridden value (secrets masked).
[[nodiscard]] std::string format_raw(const SettingDef& d, std::string_view raw);
[[nodiscard]] std::string_view port_tls_suffix(PortTls t);
[[nodiscard]] std::string_view enum_name(const SettingDef& d, std::int64_t number);

// SslAcceptServerCert: "*" stays "*"; PEM, base64 DER or a fingerprint become lowercase
// SHA-256 hex of the DER certificate. Returns nullopt and sets `error` on bad input.
[[nodiscard]] std::optional<std::string> normalise_cert_pin(std::string_view raw, std::string& error);

}  // namespace sitemail
