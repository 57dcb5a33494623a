// sasl.hpp — SMTP AUTH mechanisms (PLAIN, LOGIN, CRAM-MD5, NTLM(v2), XOAUTH2, OAUTHBEARER), choosing
// one from what the server offers, and the rule that a password is never sent in clear
// unless AuthMethod names a clear mechanism explicitly.
#pragma once
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "catalogue.hpp"

namespace sitemail::smtp {

// The largest AUTH challenge (a 334 reply's text, base64) we decode; longer is an AUTH failure.
// (The reply parser's line cap, the same RFC 4954 figure, already holds it; this keeps the
// mechanism side bounded on its own.)
constexpr std::size_t kMaxAuthChallengeBytes = 12288;

struct Credentials {
  std::string user, password, oauth_token, workstation;
};

class SaslMechanism {
 public:
  virtual ~SaslMechanism() = default;
  [[nodiscard]] virtual std::string name() const = 0;
  // The AUTH command line (without CRLF), with an initial response when the mechanism has one.
  [[nodiscard]] virtual std::string initial() = 0;
  // Answer to a 334 challenge (already base64-decoded); nullopt = cannot continue.
  [[nodiscard]] virtual std::optional<std::string> step(const std::string& challenge) = 0;
  // Why the last step() could not continue, when the mechanism knows (e.g. a bad NTLM challenge).
  [[nodiscard]] virtual std::string step_error() const { return {}; }
  // How the transcript shows our lines (credentials redacted).
  [[nodiscard]] virtual std::string redacted_initial() const { return "AUTH " + name() + " <redacted>"; }
};

struct MechanismChoice {
  std::unique_ptr<SaslMechanism> mechanism;  // null: no AUTH (error empty) or cannot (error set)
  std::string error;
};

// offered: the mechanisms in the server's AUTH capability (upper case).
[[nodiscard]] MechanismChoice choose_mechanism(AuthMethod method, const std::set<std::string>& offered, bool tls_active,
                                               const Credentials& creds);
[[nodiscard]] std::unique_ptr<SaslMechanism> make_mechanism(const std::string& name, const Credentials& creds);

}  // namespace sitemail::smtp
