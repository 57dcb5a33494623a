// catalogue.hpp — THE settings catalogue: every per-site setting sitemail knows, once.
// One row = canonical name, aliases, value type, default, secret flag, limits, doc line.
// Adding a setting is one enum value plus one row in catalogue.cpp plus its use.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sitemail {

enum class Setting : std::uint8_t {
  EMailSMTPServer,
  EMailSMTPPort,
  EMailSecure,
  SMTPUserID,
  SMTPPassword,
  EMailFromAddress,
  EMailFromName,
  EMailNoAccountAddress,
  AllowExtensions,
  FullyQualifiedDomainName,
  Timeout,
  SslStartMode,
  SslAcceptServerCert,
  SslCaFile,
  SslCertStoreType,
  SslCertStore,
  SslCertStorePassword,
  SslCertSubject,
  SslCertEncoded,
  FirewallType,
  FirewallHost,
  FirewallPort,
  FirewallUser,
  FirewallPassword,
  AuthMethod,
  OAuthToken,
  OAuthProvider,
  OAuthTenant,
  OAuthTokenUrl,
  OAuthDeviceUrl,
  OAuthClientId,
  OAuthClientSecret,
  OAuthRefreshToken,
  OAuthScope,
  OtherHeaders,
  MaxSubjectLength,
  MaxMessageSize,
  MaxConnections,
  MaxMessagesPerMinute,
  count_
};
inline constexpr std::size_t kSettingCount = static_cast<std::size_t>(Setting::count_);

enum class ValueType {
  host,         // host name or IP literal, no spaces or control characters
  port,         // 1..65535 with optional -ssl / -starttls / -nossl suffix
  boolean,      // Yes/No/true/false/1/0
  enumeration,  // a name or number from `choices`
  seconds,      // whole seconds, 0..max
  count,        // whole number, min..max
  address,      // one mailbox local@domain
  text,         // one line of text
  blob,         // text that may span lines (inline PEM, base64)
  headers,      // `Name: value` lines (OtherHeaders)
  cert_pin,     // `*`, PEM, base64 DER or SHA-256 fingerprint
  path,         // a file name (relative names are relative to the config dir)
};

struct EnumChoice {
  std::string_view name;
  int number;
  std::vector<std::string_view> aliases;  // other spellings accepted (IPWorks names, SASL names)
};

// Rows are written with designated initializers (catalogue.cpp); every member has a default
// so a row names only what differs from "optional text, no default, no limits".
struct SettingDef {
  Setting id{};
  std::string_view name{};
  std::vector<std::string_view> aliases{};
  ValueType type{};
  std::string_view default_text{};  // as an admin would write it; "" = empty / none
  bool secret = false;
  bool required = false;
  std::int64_t min = 0, max = 0;  // for seconds/count
  std::vector<EnumChoice> choices{};
  std::string_view doc{};
};

[[nodiscard]] const std::vector<SettingDef>& catalogue();
[[nodiscard]] const SettingDef& def(Setting s);
// Finds a setting by canonical name or alias, case-insensitively.
[[nodiscard]] std::optional<Setting> find_setting(std::string_view name);
// Every canonical name and alias, for "did you mean" suggestions.
[[nodiscard]] std::vector<std::string_view> all_setting_names();
[[nodiscard]] std::string_view type_name(ValueType t);

// Enum values used by the resolver and the engine (numbers as in the catalogue).
enum class SslStartMode { automatic = 0, implicit = 1, explicit_ = 2, none = 3, opportunistic = 4 };
enum class CertStoreType { user = 0, machine = 1, pfx_file = 2, pfx_blob = 3, pem_key = 4 };
enum class FirewallType { none = 0, tunnel = 1, socks4 = 2, socks5 = 3, socks4a = 10 };
enum class AuthMethod { automatic = 0, none = 1, plain = 2, login = 3, cram_md5 = 4, ntlm = 5, xoauth2 = 6, oauthbearer = 7 };
enum class OAuthProvider { custom = 0, microsoft = 1, google = 2 };

}  // namespace sitemail
