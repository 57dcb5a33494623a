// catalogue.cpp — the one table of per-site settings (CONTRACT §4 plus the daemon's
// MaxConnections and MaxMessagesPerMinute). Defaults are written as an admin would.
#include "catalogue.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "text_util.hpp"

namespace sitemail {

namespace {

using VT = ValueType;

std::vector<SettingDef> build() {
  std::vector<SettingDef> t;
  auto add = [&](SettingDef d) { t.push_back(std::move(d)); };
  add({.id = Setting::EMailSMTPServer,
       .name = "EMailSMTPServer",
       .aliases = {"Host", "MailServer"},
       .type = VT::host,
       .required = true,
       .doc = "relay host name or IP address (required)"});
  add({.id = Setting::EMailSMTPPort,
       .name = "EMailSMTPPort",
       .aliases = {"HostPort", "MailPort"},
       .type = VT::port,
       .default_text = "25",
       .min = 1,
       .max = 65535,
       .doc = "relay port; suffix -ssl (implicit TLS), -starttls or -nossl sets the TLS mode and wins"});
  add({.id = Setting::EMailSecure,
       .name = "EMailSecure",
       .type = VT::boolean,
       .default_text = "No",
       .doc = "Yes enables TLS according to SslStartMode"});
  add({.id = Setting::SMTPUserID,
       .name = "SMTPUserID",
       .aliases = {"User"},
       .type = VT::text,
       .doc = "SMTP AUTH user; empty = no AUTH"});
  add({.id = Setting::SMTPPassword,
       .name = "SMTPPassword",
       .aliases = {"Password"},
       .type = VT::text,
       .secret = true,
       .doc = "SMTP AUTH password (secret; env:NAME and file:PATH accepted)"});
  add({.id = Setting::EMailFromAddress,
       .name = "EMailFromAddress",
       .aliases = {"From"},
       .type = VT::address,
       .doc = "envelope sender and From address unless the message sets one"});
  add({.id = Setting::EMailFromName, .name = "EMailFromName", .type = VT::text, .doc = "From display name"});
  add({.id = Setting::EMailNoAccountAddress,
       .name = "EMailNoAccountAddress",
       .type = VT::address,
       .doc = "recipient used when a message has no To address"});
  add({.id = Setting::AllowExtensions,
       .name = "AllowExtensions",
       .type = VT::boolean,
       .default_text = "true",
       .doc = "EHLO first, HELO if EHLO is refused; false = HELO only"});
  add({.id = Setting::FullyQualifiedDomainName,
       .name = "FullyQualifiedDomainName",
       .aliases = {"Helo"},
       .type = VT::host,
       .doc = "EHLO/HELO argument; default the host FQDN, never localhost"});
  add({.id = Setting::Timeout,
       .name = "Timeout",
       .type = VT::seconds,
       .default_text = "60",
       .max = 86400,
       .doc = "inactivity timeout per network operation, seconds; 0 = none"});
  add({.id = Setting::SslStartMode,
       .name = "SslStartMode",
       .type = VT::enumeration,
       .default_text = "sslAutomatic",
       .choices = {{"sslAutomatic", 0, {}},
                   {"sslImplicit", 1, {}},
                   {"sslExplicit", 2, {}},
                   {"sslNone", 3, {}},
                   {"sslOpportunistic", 4, {}}},
       .doc = "how TLS starts when EMailSecure is Yes: automatic by port, implicit, STARTTLS, none, opportunistic"});
  add({.id = Setting::SslAcceptServerCert,
       .name = "SslAcceptServerCert",
       .type = VT::cert_pin,
       .doc = "accept only this server certificate (PEM, base64 DER or SHA-256 fingerprint) instead of CA checks; * = any"});
  add({.id = Setting::SslCaFile,
       .name = "SslCaFile",
       .type = VT::path,
       .doc = "CA bundle used to verify relays; empty = the system store"});
  add({.id = Setting::SslCertStoreType,
       .name = "SslCertStoreType",
       .type = VT::enumeration,
       .default_text = "sstUser",
       .choices = {{"sstUser", 0, {}}, {"sstMachine", 1, {}}, {"sstPFXFile", 2, {}}, {"sstPFXBlob", 3, {}}, {"sstPEMKey", 4, {}}},
       .doc = "client certificate store type: PEM file, certs/<store>/ folder, PKCS#12 file, base64 PKCS#12, PEM"});
  add({.id = Setting::SslCertStore,
       .name = "SslCertStore",
       .type = VT::blob,
       .doc = "the client certificate store, per SslCertStoreType"});
  add({.id = Setting::SslCertStorePassword,
       .name = "SslCertStorePassword",
       .type = VT::text,
       .secret = true,
       .doc = "password of the client certificate store (secret)"});
  add({.id = Setting::SslCertSubject,
       .name = "SslCertSubject",
       .type = VT::text,
       .doc = "select the client certificate by subject: exact, else substring; * = first"});
  add({.id = Setting::SslCertEncoded,
       .name = "SslCertEncoded",
       .type = VT::blob,
       .doc = "select the client certificate by its PEM/base64 value; its key is found in the store"});
  add({.id = Setting::FirewallType,
       .name = "FirewallType",
       .type = VT::enumeration,
       .default_text = "fwNone",
       .choices = {{"fwNone", 0, {}}, {"fwTunnel", 1, {}}, {"fwSOCKS4", 2, {}}, {"fwSOCKS5", 3, {}}, {"fwSOCKS4A", 10, {}}},
       .doc = "proxy type: none, HTTP CONNECT tunnel, SOCKS4, SOCKS5, SOCKS4A"});
  add({.id = Setting::FirewallHost, .name = "FirewallHost", .type = VT::host, .doc = "proxy host"});
  add({.id = Setting::FirewallPort,
       .name = "FirewallPort",
       .type = VT::port,
       .default_text = "0",
       .max = 65535,
       .doc = "proxy port; 0 = 80 for fwTunnel, 1080 for SOCKS"});
  add({.id = Setting::FirewallUser, .name = "FirewallUser", .type = VT::text, .doc = "proxy user"});
  add({.id = Setting::FirewallPassword,
       .name = "FirewallPassword",
       .type = VT::text,
       .secret = true,
       .doc = "proxy password (secret)"});
  add({.id = Setting::AuthMethod,
       .name = "AuthMethod",
       .aliases = {"LoginMethod", "AuthMechanism"},
       .type = VT::enumeration,
       .default_text = "Auto",
       .choices = {{"Auto", 0, {}},
                   {"NoLoginMethod", 1, {"None"}},
                   {"LoginPlainMethod", 2, {"PLAIN", "amSASLPlain"}},
                   {"AuthLoginMethod", 3, {"LOGIN", "amUserPassword"}},
                   {"CramMD5Method", 4, {"CRAM-MD5", "amCRAMMD5"}},
                   {"NTLM", 5, {"amNTLM", "NTLMv2"}},
                   {"XOAUTH2", 6, {"amXOAUTH2"}},
                   {"OAUTHBEARER", 7, {}}},
       .doc = "SMTP AUTH mechanism; Auto = strongest offered, never a clear password without TLS; "
              "with a token (OAuthToken or a token endpoint) XOAUTH2 or OAUTHBEARER, whichever the relay offers"});
  add({.id = Setting::OAuthToken,
       .name = "OAuthToken",
       .type = VT::text,
       .secret = true,
       .doc = "a fixed bearer token for XOAUTH2/OAUTHBEARER, used as is when no token endpoint is configured (secret)"});
  add({.id = Setting::OAuthProvider,
       .name = "OAuthProvider",
       .type = VT::enumeration,
       .default_text = "custom",
       .choices = {{"custom", 0, {}}, {"microsoft", 1, {"Microsoft365", "Office365", "azure"}}, {"google", 2, {"gmail"}}},
       .doc = "custom: OAuthTokenUrl/OAuthDeviceUrl as set; microsoft: Microsoft identity platform endpoints for "
              "OAuthTenant; google: Google's endpoints (each with its default OAuthScope)"});
  add({.id = Setting::OAuthTenant,
       .name = "OAuthTenant",
       .type = VT::text,
       .default_text = "organizations",
       .doc = "Microsoft tenant id or domain (microsoft provider only)"});
  add({.id = Setting::OAuthTokenUrl,
       .name = "OAuthTokenUrl",
       .type = VT::text,
       .doc = "token endpoint (https); set, or implied by OAuthProvider, means tokens are obtained and refreshed "
              "automatically"});
  add({.id = Setting::OAuthDeviceUrl,
       .name = "OAuthDeviceUrl",
       .type = VT::text,
       .doc = "device authorization endpoint (https) for `sitemailctl oauth login`"});
  add({.id = Setting::OAuthClientId,
       .name = "OAuthClientId",
       .type = VT::text,
       .doc = "OAuth client (application) id; required when a token endpoint is used"});
  add({.id = Setting::OAuthClientSecret,
       .name = "OAuthClientSecret",
       .type = VT::text,
       .secret = true,
       .doc = "OAuth client secret; empty for public clients (secret)"});
  add({.id = Setting::OAuthRefreshToken,
       .name = "OAuthRefreshToken",
       .type = VT::text,
       .secret = true,
       .doc = "refresh token: with it the grant is refresh_token, without it client_credentials; a rotated "
              "token is kept in the database (secret)"});
  add({.id = Setting::OAuthScope,
       .name = "OAuthScope",
       .type = VT::text,
       .doc = "space-separated scopes requested; empty = the provider's default"});
  add({.id = Setting::OtherHeaders,
       .name = "OtherHeaders",
       .type = VT::headers,
       .doc = "extra `Name: value` lines for every message; a leading empty line replaces the computed headers"});
  add({.id = Setting::MaxSubjectLength,
       .name = "MaxSubjectLength",
       .type = VT::count,
       .default_text = "0",
       .max = 100000,
       .doc = "truncate longer subjects to this many characters; 0 = no limit"});
  add({.id = Setting::MaxMessageSize,
       .name = "MaxMessageSize",
       .type = VT::count,
       .default_text = "0",
       .max = 4294967296,
       .doc =
           "largest message in bytes as sent (after encoding); larger mail fails with the reason, never half-sent; 0 = no limit of our own (the relay's SIZE still applies)"});
  add({.id = Setting::MaxConnections,
       .name = "MaxConnections",
       .type = VT::count,
       .default_text = "2",
       .min = 1,
       .max = 100,
       .doc =
           "concurrent SMTP connections to this site's relay (sites with the same session settings share connections; their limits add up)"});
  add({.id = Setting::MaxMessagesPerMinute,
       .name = "MaxMessagesPerMinute",
       .type = VT::count,
       .default_text = "0",
       .max = 1000000,
       .doc = "rate limit for this site; 0 = unlimited"});
  for (std::size_t i = 0; i < t.size(); ++i)
    if (static_cast<std::size_t>(t[i].id) != i) throw std::logic_error("catalogue order differs from enum Setting");
  return t;
}

}  // namespace

const std::vector<SettingDef>& catalogue() {
  static const std::vector<SettingDef> table = build();
  return table;
}

const SettingDef& def(Setting s) { return catalogue()[static_cast<std::size_t>(s)]; }

std::optional<Setting> find_setting(std::string_view name) {
  // Every name and alias, lowercased, in catalogue order (the first setting to claim a name
  // keeps it, as a scan of the catalogue would find it): one lookup instead of a scan per
  // element of every site file and every DB key.
  static const std::unordered_map<std::string, Setting> by_name = [] {
    std::unordered_map<std::string, Setting> m;
    for (const auto& d : catalogue()) {
      m.emplace(to_lower(d.name), d.id);
      for (auto a : d.aliases) m.emplace(to_lower(a), d.id);
    }
    return m;
  }();
  static const std::size_t longest = [] {
    std::size_t n = 0;
    for (const auto& [k, v] : by_name) n = std::max(n, k.size());
    return n;
  }();
  name = trim(name);
  if (name.size() > longest) return std::nullopt;
  auto it = by_name.find(to_lower(name));
  if (it == by_name.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string_view> all_setting_names() {
  std::vector<std::string_view> out;
  for (const auto& d : catalogue()) {
    out.push_back(d.name);
    for (auto a : d.aliases) out.push_back(a);
  }
  return out;
}

std::string_view type_name(ValueType t) {
  switch (t) {
    case VT::host: return "host";
    case VT::port: return "port";
    case VT::boolean: return "boolean";
    case VT::enumeration: return "enum";
    case VT::seconds: return "seconds";
    case VT::count: return "count";
    case VT::address: return "address";
    case VT::text: return "text";
    case VT::blob: return "text (multi-line)";
    case VT::headers: return "header lines";
    case VT::cert_pin: return "certificate";
    case VT::path: return "file";
  }
  return "?";
}

}  // namespace sitemail
