// outcome.cpp — see outcome.hpp.
#include "outcome.hpp"

#include <cctype>
#include <string_view>

namespace sitemail::smtp {

const char* stage_name(Stage s) {
  switch (s) {
    case Stage::config: return "config";
    case Stage::connect: return "connect";
    case Stage::proxy: return "proxy";
    case Stage::tls: return "tls";
    case Stage::greeting: return "greeting";
    case Stage::helo: return "helo";
    case Stage::starttls: return "starttls";
    case Stage::auth: return "auth";
    case Stage::mail: return "mail";
    case Stage::rcpt: return "rcpt";
    case Stage::data: return "data";
    case Stage::message: return "message";
    case Stage::quit: return "quit";
  }
  return "?";
}

const char* kind_name(FailureKind k) {
  switch (k) {
    case FailureKind::transient: return "transient";
    case FailureKind::permanent: return "permanent";
    case FailureKind::auth: return "auth";
    case FailureKind::config: return "config";
  }
  return "?";
}

std::string Failure::describe() const {
  std::string s = std::string(stage_name(stage)) + ": " + detail;
  if (!remote.empty()) s += (detail.empty() ? "" : ": ") + std::string("relay said \"") + remote + "\"";
  return s;
}

namespace {
bool contains_nocase(std::string_view text, std::string_view word) {
  auto lower = [](std::string_view s) {
    std::string o(s);
    for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return o;
  };
  return lower(text).find(lower(word)) != std::string::npos;
}

// The relay demands a client certificate we did not present (Postfix smtpd_tls_req_ccert
// answers "421 4.7.1 ... No client certificate presented" after STARTTLS; a TLS 1.3 server
// sends a certificate_required alert, seen at the first read): a TLS problem, not a
// generic failure.
bool client_cert_demanded(std::string_view text) {
  return contains_nocase(text, "client certificate") || contains_nocase(text, "certificate required") ||
         (contains_nocase(text, "alert") && contains_nocase(text, "certificate"));
}
}  // namespace

Failure from_reply(Stage stage, const Reply& r, std::string detail) {
  Failure f;
  f.stage = stage;
  f.code = r.code;
  f.remote = r.summary();
  f.detail = std::move(detail);
  std::string all;
  for (const auto& l : r.lines) all += l + " ";
  if (stage != Stage::auth && client_cert_demanded(all)) {
    f.stage = Stage::tls;
    f.detail = "the relay demands a client certificate (set SslCertStore/SslCertStoreType)";
  }
  if (r.code == 421 || r.transient()) f.kind = FailureKind::transient;
  else f.kind = FailureKind::permanent;
  if (stage == Stage::auth && r.permanent()) f.kind = FailureKind::auth;
  // Exchange Online with basic authentication retired: 550 5.7.30 / 535 5.7.139 (CONTRACT §7).
  if (stage == Stage::auth && (f.remote.find("5.7.30") != std::string::npos || f.remote.find("5.7.139") != std::string::npos))
    f.detail += std::string(f.detail.empty() ? "" : " ") +
                "The relay no longer accepts passwords (basic authentication is retired): configure OAuth 2.0 "
                "(OAuthProvider, OAuthClientId, OAuthClientSecret or `sitemailctl oauth login`; see docs/oauth.md).";
  if (r.code == 535) f.kind = FailureKind::auth;
  return f;
}

Failure network_failure(Stage stage, std::string detail) {
  if (client_cert_demanded(detail)) {
    detail = "the relay demands a client certificate (set SslCertStore/SslCertStoreType): " + detail;
    stage = Stage::tls;
  }
  return Failure{FailureKind::transient, stage, std::move(detail), {}, 0};
}

Failure closed_after_tls_handshake(const std::string& state) {
  return Failure{FailureKind::transient,
                 Stage::tls,
                 "the relay closed the connection right after the TLS handshake, before answering " + state +
                     " (it rejected the TLS session; a relay that demands a client certificate does this)",
                 {},
                 0};
}

Failure too_large_for_relay(std::uint64_t size, std::uint64_t limit) {
  return Failure{FailureKind::permanent,
                 Stage::mail,
                 "5.3.4 the message is " + std::to_string(size) + " bytes, more than the relay's SIZE limit of " +
                     std::to_string(limit) + " bytes",
                 {},
                 0};
}

Failure content_unreadable(const std::string& why) {
  return Failure{FailureKind::transient, Stage::data, "could not read the message content while sending it: " + why, {}, 0};
}

Failure config_failure(std::string detail) { return Failure{FailureKind::config, Stage::config, std::move(detail), {}, 0}; }

const char* verdict_word(const Failure& f) {
  switch (f.stage) {
    case Stage::config: return "CONFIG_INVALID";
    case Stage::connect: return "CONNECT_FAILED";
    case Stage::proxy: return "PROXY_FAILED";
    case Stage::tls:
    case Stage::starttls: return "TLS_FAILED";
    case Stage::auth: return "AUTH_FAILED";
    case Stage::mail:
    case Stage::rcpt:
    case Stage::data:
    case Stage::message: return f.code >= 500 ? "REJECTED" : "FAILED";
    case Stage::greeting:
    case Stage::helo:
    case Stage::quit: return "FAILED";
  }
  return "FAILED";
}

bool auth_not_attempted(const Failure& f) {
  return f.stage == Stage::auth && f.kind == FailureKind::auth && f.code == 0 && f.remote.empty();
}

std::string verdict_line(const Failure& f) {
  const std::string word = verdict_word(f);
  if (word == "AUTH_FAILED" && f.detail.starts_with("token endpoint:"))  // CONTRACT §7 wording
    return word + " " + f.detail;
  std::string lead;
  if (word == "CONNECT_FAILED") lead = "SMTP server connection failed. Check server url or port. ";
  if (word == "AUTH_FAILED")
    lead = auth_not_attempted(f) ? "AUTH not attempted, no password was sent. "
                                 : "SMTP login failed. Check server login or password. ";
  if (word == "FAILED") lead = "Test connection failed. ";
  return word + " " + lead + "(" + f.describe() + ")";
}

}  // namespace sitemail::smtp
