// sasl.cpp — see sasl.hpp.
#include "sasl.hpp"

#include "codec.hpp"
#include "ntlm.hpp"

namespace sitemail::smtp {

namespace {

class Plain : public SaslMechanism {
 public:
  explicit Plain(Credentials c) : c_(std::move(c)) {}
  std::string name() const override { return "PLAIN"; }
  std::string initial() override { return "AUTH PLAIN " + codec::base64(std::string(1, '\0') + c_.user + '\0' + c_.password); }
  std::optional<std::string> step(const std::string&) override { return std::nullopt; }

 private:
  Credentials c_;
};

class Login : public SaslMechanism {
 public:
  explicit Login(Credentials c) : c_(std::move(c)) {}
  std::string name() const override { return "LOGIN"; }
  std::string initial() override { return "AUTH LOGIN"; }
  std::string redacted_initial() const override { return "AUTH LOGIN"; }
  std::optional<std::string> step(const std::string&) override {
    if (n_ >= 2) return std::nullopt;
    return n_++ == 0 ? c_.user : c_.password;
  }

 private:
  Credentials c_;
  int n_ = 0;
};

class CramMd5 : public SaslMechanism {
 public:
  explicit CramMd5(Credentials c) : c_(std::move(c)) {}
  std::string name() const override { return "CRAM-MD5"; }
  std::string initial() override { return "AUTH CRAM-MD5"; }
  std::string redacted_initial() const override { return "AUTH CRAM-MD5"; }
  std::optional<std::string> step(const std::string& challenge) override {
    if (done_) return std::nullopt;
    done_ = true;
    return c_.user + " " + codec::hex(codec::hmac_md5(c_.password, challenge));
  }

 private:
  Credentials c_;
  bool done_ = false;
};

class Ntlm : public SaslMechanism {
 public:
  explicit Ntlm(Credentials c) : c_(std::move(c)) {}
  std::string name() const override { return "NTLM"; }
  std::string initial() override { return "AUTH NTLM " + codec::base64(ntlm::negotiate_message()); }
  std::string redacted_initial() const override { return "AUTH NTLM <negotiate>"; }
  std::optional<std::string> step(const std::string& challenge) override {
    if (done_) return std::nullopt;
    done_ = true;
    auto c = ntlm::parse_challenge(challenge, error_);
    if (!c) return std::nullopt;
    return ntlm::authenticate_message(*c, c_.user, c_.password, c_.workstation);
  }
  std::string step_error() const override { return error_; }

 private:
  Credentials c_;
  bool done_ = false;
  std::string error_;
};

class XOAuth2 : public SaslMechanism {
 public:
  explicit XOAuth2(Credentials c) : c_(std::move(c)) {}
  std::string name() const override { return "XOAUTH2"; }
  std::string initial() override {
    return "AUTH XOAUTH2 " + codec::base64("user=" + c_.user +
                                           "\x01"
                                           "auth=Bearer " +
                                           c_.oauth_token + "\x01\x01");
  }
  // On failure the server sends a 334 with a JSON error; the client answers with an empty line.
  std::optional<std::string> step(const std::string&) override {
    if (done_) return std::nullopt;
    done_ = true;
    return std::string();
  }

 private:
  Credentials c_;
  bool done_ = false;
};

// RFC 7628: gs2 header with the authorization identity, then key=value pairs separated by
// ^A. On failure the server sends a 334 with a JSON error; the client answers with a lone ^A.
class OAuthBearer : public SaslMechanism {
 public:
  explicit OAuthBearer(Credentials c) : c_(std::move(c)) {}
  std::string name() const override { return "OAUTHBEARER"; }
  std::string initial() override {
    std::string authzid;
    for (char ch : c_.user) authzid += ch == ',' ? std::string("=2C") : ch == '=' ? std::string("=3D") : std::string(1, ch);
    return "AUTH OAUTHBEARER " + codec::base64("n,a=" + authzid +
                                               ",\x01"
                                               "auth=Bearer " +
                                               c_.oauth_token + "\x01\x01");
  }
  std::optional<std::string> step(const std::string&) override {
    if (done_) return std::nullopt;
    done_ = true;
    return std::string("\x01");
  }

 private:
  Credentials c_;
  bool done_ = false;
};

bool is_bearer(const std::string& m) { return m == "XOAUTH2" || m == "OAUTHBEARER"; }

const char* method_mechanism(AuthMethod m) {
  switch (m) {
    case AuthMethod::plain: return "PLAIN";
    case AuthMethod::login: return "LOGIN";
    case AuthMethod::cram_md5: return "CRAM-MD5";
    case AuthMethod::ntlm: return "NTLM";
    case AuthMethod::xoauth2: return "XOAUTH2";
    case AuthMethod::oauthbearer: return "OAUTHBEARER";
    default: return "";
  }
}

}  // namespace

std::unique_ptr<SaslMechanism> make_mechanism(const std::string& name, const Credentials& c) {
  if (name == "PLAIN") return std::make_unique<Plain>(c);
  if (name == "LOGIN") return std::make_unique<Login>(c);
  if (name == "CRAM-MD5") return std::make_unique<CramMd5>(c);
  if (name == "NTLM") return std::make_unique<Ntlm>(c);
  if (name == "XOAUTH2") return std::make_unique<XOAuth2>(c);
  if (name == "OAUTHBEARER") return std::make_unique<OAuthBearer>(c);
  return nullptr;
}

MechanismChoice choose_mechanism(AuthMethod method, const std::set<std::string>& offered, bool tls_active, const Credentials& c) {
  MechanismChoice out;
  if (method == AuthMethod::none) return out;
  if (method == AuthMethod::xoauth2 || method == AuthMethod::oauthbearer ? c.oauth_token.empty() : c.user.empty()) return out;
  if (offered.empty()) {
    out.error = "the relay does not offer AUTH, but SMTPUserID is set";
    return out;
  }
  if (method != AuthMethod::automatic) {
    std::string want = method_mechanism(method);
    if (!offered.count(want)) {
      std::string list;
      for (const auto& m : offered) list += (list.empty() ? "" : " ") + m;
      out.error = "the relay does not offer AUTH " + want + " (it offers: " + list + ")";
      return out;
    }
    out.mechanism = make_mechanism(want, c);  // named explicitly: allowed even without TLS
    return out;
  }
  // Auto: strongest first; clear mechanisms (PLAIN, LOGIN) and bearer tokens only under TLS.
  std::vector<std::string> order;
  if (!c.oauth_token.empty()) order.insert(order.end(), {"XOAUTH2", "OAUTHBEARER"});  // whichever the relay offers
  order.insert(order.end(), {"NTLM", "CRAM-MD5", "PLAIN", "LOGIN"});
  bool clear_only = false;
  for (const auto& m : order) {
    if (!offered.count(m)) continue;
    bool clear = m == "PLAIN" || m == "LOGIN" || is_bearer(m);
    if (clear && !tls_active) {
      clear_only = true;
      continue;
    }
    out.mechanism = make_mechanism(m, c);
    return out;
  }
  out.error = clear_only ? "the relay offers only clear-text AUTH without TLS; sitemail will not send the password in "
                           "clear (enable TLS, or name the mechanism in AuthMethod to allow it)"
                         : "the relay offers no AUTH mechanism sitemail supports";
  return out;
}

}  // namespace sitemail::smtp
