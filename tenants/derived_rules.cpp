// derived_rules.cpp — the rules that combine settings: TLS mode (port suffix > EMailSecure
// + SslStartMode), automatic proxy port, EHLO name, and the checks that hold a site.
// Every ignored value gets a note saying why, shown by `show --explain`.
#include <netdb.h>
#include <unistd.h>

#include <cctype>
#include <cstring>

#include "oauth_preset.hpp"
#include "resolver.hpp"
#include "text_util.hpp"

namespace sitemail {

namespace {

SettingResolution& at(EffectiveSettings& es, Setting s) { return es.settings[static_cast<std::size_t>(s)]; }
std::string name(Setting s) { return std::string(def(s).name); }

bool explicitly_set(const EffectiveSettings& es, Setting s) { return !es.at(s).is_default(); }

// A note for `show --explain` ("ignored because ...", "TLS mode: ..."), kept only when the
// site is resolved with its explanations (ResolveEnv::explain).
void note(EffectiveSettings& es, Setting s, std::string text) {
  if (es.explained) at(es, s).notes.push_back(std::move(text));
}

// A problem about setting `s` is reported where the admin can fix it: at the layer the
// first explicitly set setting of `causes` came from (`s` itself first), else at the
// site's own file, else at db:<site>.
void add(Diagnostics& d, const EffectiveSettings& es, Setting s, Severity sev, std::string msg,
         std::initializer_list<Setting> causes = {}) {
  std::string where;
  if (explicitly_set(es, s)) where = es.where(s);
  for (auto c : causes)
    if (where.empty() && explicitly_set(es, c)) where = es.where(c);
  if (where.empty()) where = es.home.empty() ? "db:" + es.site : es.home;
  d.push_back({where, name(s), sev, std::move(msg)});
}

void derive_tls(EffectiveSettings& es) {
  const auto& port = es.get(Setting::EMailSMTPPort);
  es.port = static_cast<std::uint16_t>(port.number);
  const bool secure = es.flag(Setting::EMailSecure);
  const auto mode = static_cast<SslStartMode>(es.number(Setting::SslStartMode));
  const std::string port_text = format_value(def(Setting::EMailSMTPPort), port);
  if (port.port_tls != PortTls::unspecified) {
    es.tls = port.port_tls == PortTls::ssl        ? TlsMode::implicit
             : port.port_tls == PortTls::starttls ? TlsMode::starttls_required
                                                  : TlsMode::none;
    for (auto s : {Setting::EMailSecure, Setting::SslStartMode})
      if (explicitly_set(es, s))
        note(es, s, "ignored because the port suffix in EMailSMTPPort = " + port_text + " sets the TLS mode");
  } else if (!secure) {
    es.tls = TlsMode::none;
    if (explicitly_set(es, Setting::SslStartMode)) note(es, Setting::SslStartMode, "ignored because EMailSecure is No");
  } else {
    switch (mode) {
      case SslStartMode::automatic:
        es.tls = (es.port == 25 || es.port == 587 || es.port == 2525) ? TlsMode::starttls_required : TlsMode::implicit;
        break;
      case SslStartMode::implicit: es.tls = TlsMode::implicit; break;
      case SslStartMode::explicit_: es.tls = TlsMode::starttls_required; break;
      case SslStartMode::none: es.tls = TlsMode::none; break;
      case SslStartMode::opportunistic: es.tls = TlsMode::opportunistic; break;
    }
  }
  std::string how = es.tls == TlsMode::none                ? "no TLS"
                    : es.tls == TlsMode::implicit          ? "implicit TLS"
                    : es.tls == TlsMode::starttls_required ? "STARTTLS required"
                                                           : "STARTTLS when offered";
  note(es, Setting::EMailSMTPPort, "TLS mode: " + how + " on port " + std::to_string(es.port));
}

void derive_firewall(EffectiveSettings& es, Diagnostics& d) {
  const auto type = static_cast<FirewallType>(es.number(Setting::FirewallType));
  const auto& fwport = es.get(Setting::FirewallPort);
  if (type == FirewallType::none) {
    es.firewall_port = 0;
    for (auto s : {Setting::FirewallHost, Setting::FirewallPort, Setting::FirewallUser, Setting::FirewallPassword})
      if (explicitly_set(es, s) && (s == Setting::FirewallPort ? fwport.number != 0 : !es.text(s).empty()))
        note(es, s, "ignored because FirewallType is fwNone");
    return;
  }
  if (es.text(Setting::FirewallHost).empty())
    add(d, es, Setting::FirewallType, Severity::error,
        std::string(enum_name(def(Setting::FirewallType), es.number(Setting::FirewallType))) + " needs a FirewallHost");
  if (fwport.number == 0) {
    es.firewall_port = type == FirewallType::tunnel ? 80 : 1080;
    at(es, Setting::FirewallPort).value.number = es.firewall_port;  // `show` prints the port actually used
    note(es, Setting::FirewallPort,
         "0 means automatic: " + std::to_string(es.firewall_port) + " for " +
             std::string(enum_name(def(Setting::FirewallType), es.number(Setting::FirewallType))));
  } else {
    es.firewall_port = static_cast<std::uint16_t>(fwport.number);
  }
  if (type == FirewallType::socks4 || type == FirewallType::socks4a)
    if (!es.text(Setting::FirewallPassword).empty())
      note(es, Setting::FirewallPassword, "ignored because SOCKS4 has no passwords (user-id only)");
}

// A client certificate store or CA file that can be read (and, for stores holding a
// private key, is not open to group or others).
void check_file(const EffectiveSettings& es, Diagnostics& d, const ResolveEnv& env, Setting s, const std::string& name,
                const std::string& what, bool secret) {
  auto got = read_config_file(es.file_root(s, env.config_dir), name, kMaxCertFileBytes);
  if (!got.data) {
    const std::string prefix = "cannot read ";
    add(d, es, s, Severity::error,
        got.error.starts_with(prefix) ? prefix + what + " " + got.error.substr(prefix.size()) : got.error);
    return;
  }
  if (secret)
    if (auto exposed = exposed_mode_problem(got.mode, got.path); !exposed.empty()) add(d, es, s, Severity::warning, exposed);
}

void check_client_cert(const EffectiveSettings& es, Diagnostics& d, const ResolveEnv& env) {
  const auto type = static_cast<CertStoreType>(es.number(Setting::SslCertStoreType));
  const std::string& store = es.text(Setting::SslCertStore);
  const bool selecting = !es.text(Setting::SslCertSubject).empty() || !es.text(Setting::SslCertEncoded).empty();
  // Single-certificate stores are used as soon as they are named; the sstMachine folder
  // store (ILLiad's "MY") only when a certificate is selected from it.
  const bool used = selecting || (type != CertStoreType::machine && !store.empty());
  if (!used) return;
  if (store.empty()) {
    add(d, es, Setting::SslCertStore, Severity::error, "a client certificate is selected but SslCertStore is empty");
    return;
  }
  const auto root = es.file_root(Setting::SslCertStore, env.config_dir);
  switch (type) {
    case CertStoreType::user:
    case CertStoreType::pfx_file:
      if (root.confined)
        if (auto p = confined_name_problem(store); !p.empty()) {
          add(d, es, Setting::SslCertStore, Severity::error, "'" + store + "' is " + p);
          break;
        }
      check_file(es, d, env, Setting::SslCertStore, store, "certificate file", true);
      break;
    case CertStoreType::pem_key:
      if (store.find("-----BEGIN") == std::string::npos) {
        if (root.confined)
          if (auto p = confined_name_problem(store); !p.empty()) {
            add(d, es, Setting::SslCertStore, Severity::error, "'" + store + "' is " + p);
            break;
          }
        check_file(es, d, env, Setting::SslCertStore, store, "PEM file", true);
      }
      break;
    case CertStoreType::pfx_blob: {
      for (char c : store)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=' ||
              std::isspace(static_cast<unsigned char>(c)))) {
          add(d, es, Setting::SslCertStore, Severity::error, "sstPFXBlob needs base64 PKCS#12 text");
          break;
        }
      break;
    }
    case CertStoreType::machine: {
      if (store.find('/') != std::string::npos || store.find("..") != std::string::npos) {
        add(d, es, Setting::SslCertStore, Severity::error, "sstMachine store name must not contain '/' or '..'");
        break;
      }
      const std::string folder = "certs/" + store;
      if (auto p = folder_problem(root, folder); !p.empty()) {
        add(d, es, Setting::SslCertStore, Severity::error, p);
        break;
      }
      auto files = read_config_folder(root, folder, kMaxCertFileBytes);
      for (const auto& f : files.files) {
        if (!f.data) {
          // Confined, a file that leads outside is a violation; otherwise one unreadable
          // file in a folder store does not hide the others.
          if (root.confined) add(d, es, Setting::SslCertStore, Severity::error, f.error);
          continue;
        }
        if (auto exposed = exposed_mode_problem(f.mode, f.path); !exposed.empty())
          add(d, es, Setting::SslCertStore, Severity::warning, exposed);
      }
      break;
    }
  }
}

void check_auth(EffectiveSettings& es, Diagnostics& d) {
  const auto method = static_cast<AuthMethod>(es.number(Setting::AuthMethod));
  const bool user = !es.text(Setting::SMTPUserID).empty();
  const bool bearer = method == AuthMethod::xoauth2 || method == AuthMethod::oauthbearer;
  if (bearer && es.text(Setting::OAuthToken).empty() && !oauth_plan(es).enabled)
    add(d, es, Setting::AuthMethod, Severity::error,
        std::string(method == AuthMethod::xoauth2 ? "XOAUTH2" : "OAUTHBEARER") +
            " needs an OAuthToken or a token endpoint (OAuthTokenUrl or OAuthProvider)");
  if (!user && !bearer) {
    if (!es.text(Setting::SMTPPassword).empty()) note(es, Setting::SMTPPassword, "ignored because SMTPUserID is empty (no AUTH)");
    if (explicitly_set(es, Setting::AuthMethod) && method != AuthMethod::none && method != AuthMethod::automatic)
      note(es, Setting::AuthMethod, "ignored because SMTPUserID is empty (no AUTH)");
    return;
  }
  if (method == AuthMethod::none) {
    if (user) note(es, Setting::SMTPUserID, "ignored because AuthMethod is NoLoginMethod");
    return;
  }
  if (!es.flag(Setting::AllowExtensions))
    add(d, es, Setting::AllowExtensions, Severity::error,
        "false (HELO only) can never deliver for this site: SMTP AUTH needs EHLO, but SMTPUserID is set", {Setting::SMTPUserID});
  if (es.tls == TlsMode::none && method == AuthMethod::automatic)
    add(d, es, Setting::AuthMethod, Severity::warning,
        "TLS is off, so Auto will only use CRAM-MD5 or NTLM and never send the password in clear; set "
        "EMailSecure = Yes or name a clear mechanism explicitly",
        {Setting::SMTPUserID, Setting::EMailSecure});
  const bool clear = method == AuthMethod::plain || method == AuthMethod::login || method == AuthMethod::xoauth2;
  if (clear && (es.tls == TlsMode::none || es.tls == TlsMode::opportunistic))
    add(d, es, Setting::AuthMethod, Severity::warning,
        std::string(enum_name(def(Setting::AuthMethod), es.number(Setting::AuthMethod))) +
            (method == AuthMethod::xoauth2 ? " sends the token in clear" : " sends the password in clear") +
            (es.tls == TlsMode::none ? ": TLS is off" : " when the relay does not offer STARTTLS") +
            " (set EMailSecure = Yes with sslExplicit or sslImplicit)");
}

// Combinations that can never deliver (errors) or that do not do what they seem to (warnings).
void check_combinations(const EffectiveSettings& es, Diagnostics& d) {
  if (!es.flag(Setting::AllowExtensions) && es.tls == TlsMode::starttls_required)
    add(d, es, Setting::AllowExtensions, Severity::error,
        "false (HELO only) can never deliver for this site: STARTTLS is required and needs EHLO");
  const auto& mode = es.at(Setting::SslStartMode);
  if (es.get(Setting::EMailSMTPPort).port_tls == PortTls::unspecified && !es.flag(Setting::EMailSecure) && !mode.is_default() &&
      mode.valid && mode.value.number != static_cast<int>(SslStartMode::automatic))
    add(d, es, Setting::SslStartMode, Severity::warning,
        std::string(enum_name(def(Setting::SslStartMode), mode.value.number)) +
            " is ignored because EMailSecure is No: mail goes out without TLS (set EMailSecure = Yes)");
}

// CONTRACT §7: https endpoints only, a client id whenever a token endpoint is used; the
// implied URL and scope are explained on their settings (`show --explain`).
void check_oauth(EffectiveSettings& es, Diagnostics& d) {
  for (auto s : {Setting::OAuthTokenUrl, Setting::OAuthDeviceUrl})
    if (!es.text(s).empty() && !is_https_url(es.text(s)))
      add(d, es, s, Severity::error, "must be an https:// URL (tokens are never requested in clear)");
  const auto plan = oauth_plan(es);
  if (!plan.enabled) {
    for (auto s : {Setting::OAuthClientId, Setting::OAuthClientSecret, Setting::OAuthRefreshToken, Setting::OAuthScope})
      if (!es.text(s).empty()) note(es, s, "ignored because no token endpoint is configured");
    return;
  }
  if (es.text(Setting::OAuthClientId).empty())
    add(d, es, Setting::OAuthClientId, Severity::error,
        "a token endpoint is used (" + plan.token_url_why + ") but OAuthClientId is empty");
  if (es.text(Setting::SMTPUserID).empty() && static_cast<AuthMethod>(es.number(Setting::AuthMethod)) != AuthMethod::none)
    add(d, es, Setting::SMTPUserID, Severity::warning,
        "a token endpoint is configured but SMTPUserID (the mailbox the token is for) is empty, so no AUTH is done");
  if (plan.token_url_why != "OAuthTokenUrl") note(es, Setting::OAuthTokenUrl, plan.token_url_why + ": " + plan.token_url);
  if (es.text(Setting::OAuthDeviceUrl).empty() && !plan.device_url.empty())
    note(es, Setting::OAuthDeviceUrl, plan.token_url_why + ": " + plan.device_url);
  if (plan.scope_why != "OAuthScope" && !plan.scope.empty()) note(es, Setting::OAuthScope, plan.scope_why + ": " + plan.scope);
  note(es, Setting::OAuthRefreshToken,
       plan.refresh_grant ? "grant refresh_token (a rotated token kept in the database wins until this value changes)"
                          : "empty: grant client_credentials");
  if (!es.text(Setting::OAuthToken).empty()) note(es, Setting::OAuthToken, "ignored because a token endpoint is configured");
}

}  // namespace

std::string host_fqdn() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "[127.0.0.1]";
  std::string best = host;
  addrinfo hints{};
  hints.ai_flags = AI_CANONNAME;
  hints.ai_family = AF_UNSPEC;
  addrinfo* res = nullptr;
  if (getaddrinfo(host, nullptr, &hints, &res) == 0 && res) {
    if (res->ai_canonname && std::strchr(res->ai_canonname, '.')) best = res->ai_canonname;
    freeaddrinfo(res);
  }
  if (to_lower(best).starts_with("localhost")) return "[127.0.0.1]";
  return best;
}

void apply_derived_rules(EffectiveSettings& es, Diagnostics& d, const ResolveEnv& env) {
  if (es.text(Setting::EMailSMTPServer).empty() && es.at(Setting::EMailSMTPServer).valid)
    add(d, es, Setting::EMailSMTPServer, Severity::error, "no relay: EMailSMTPServer is empty");
  if (es.text(Setting::EMailFromAddress).empty() && es.at(Setting::EMailFromAddress).valid)
    add(d, es, Setting::EMailFromAddress, Severity::warning, "empty: messages that do not set their own from address will fail");
  derive_tls(es);
  derive_firewall(es, d);
  if (es.text(Setting::FullyQualifiedDomainName).empty()) {
    es.helo = env.host_fqdn.empty() ? host_fqdn() : env.host_fqdn;
    at(es, Setting::FullyQualifiedDomainName).value.text = es.helo;
    note(es, Setting::FullyQualifiedDomainName, "the host's FQDN");
  } else {
    es.helo = es.text(Setting::FullyQualifiedDomainName);
  }
  check_auth(es, d);
  check_combinations(es, d);
  check_oauth(es, d);
  check_client_cert(es, d, env);
  if (!es.text(Setting::SslCaFile).empty() && es.at(Setting::SslCaFile).valid)
    check_file(es, d, env, Setting::SslCaFile, es.text(Setting::SslCaFile), "CA file", false);
  if (!es.text(Setting::SslAcceptServerCert).empty() && !es.text(Setting::SslCaFile).empty())
    note(es, Setting::SslCaFile, "ignored because SslAcceptServerCert pins the server certificate");
  if (es.tls == TlsMode::none) {
    for (auto s : {Setting::SslAcceptServerCert, Setting::SslCaFile})
      if (!es.text(s).empty() && !(s == Setting::SslCaFile && oauth_plan(es).enabled))  // the token endpoint uses it
        note(es, s, "ignored because TLS is off");
  }
}

}  // namespace sitemail
