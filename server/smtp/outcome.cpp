// outcome.cpp — see outcome.hpp.
#include "outcome.hpp"

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

Failure from_reply(Stage stage, const Reply& r, std::string detail) {
  Failure f;
  f.stage = stage;
  f.code = r.code;
  f.remote = r.summary();
  f.detail = std::move(detail);
  if (r.code == 421 || r.transient()) f.kind = FailureKind::transient;
  else f.kind = FailureKind::permanent;
  if (stage == Stage::auth && r.permanent()) f.kind = FailureKind::auth;
  // Exchange Online with basic authentication retired: 550 5.7.30 / 535 5.7.139 (CONTRACT §7).
  if (stage == Stage::auth && (f.remote.find("5.7.30") != std::string::npos || f.remote.find("5.7.139") != std::string::npos))
    f.detail += std::string(f.detail.empty() ? "" : " ") +
                "The relay no longer accepts passwords (basic authentication is retired): configure OAuth 2.0 "
                "(OAuthProvider, OAuthClientId, OAuthClientSecret or `sitemailctl oauth login`; see README, OAuth 2.0).";
  if (r.code == 535) f.kind = FailureKind::auth;
  return f;
}

Failure network_failure(Stage stage, std::string detail) { return Failure{FailureKind::transient, stage, std::move(detail), {}, 0}; }

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

}  // namespace sitemail::smtp
