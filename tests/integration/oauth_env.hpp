// oauth_env.hpp — the OAuth test environment: our HTTPS token endpoint
// (peers/token_endpoint.py, certificate from the test CA), a STARTTLS relay that accepts the
// bearer tokens the endpoint issued (a file both share, so a token can be revoked by
// deleting its line), a test database and config dir, and what the peers received.
#pragma once
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "daemon_fixture.hpp"

namespace sitemail::test {

struct EndpointRequest {
  std::string path;
  std::map<std::string, std::string> form;
};

class OAuthEnv {
 public:
  static constexpr const char* kSecret = "csecret-Zq81xv";
  static constexpr const char* kMailbox = "box@acme.example";

  explicit OAuthEnv(const std::string& name) : db(name), cfg("oauth_" + name) {
    auto r = run(ctl() + " db migrate --database " + db.quoted());
    if (r.code != 0) throw std::runtime_error("db migrate: " + r.err);
    tokens_file = cfg.path() + "/valid_tokens";
    std::ofstream(tokens_file).flush();
  }
  // endpoint_args: more token_endpoint.py options (--rotate, --refresh-token RT, --expires-in N, ...)
  void start_endpoint(const std::string& endpoint_args = "") {
    const int port = free_port();
    endpoint = std::make_unique<Peer>(
        "token_endpoint",
        "/usr/bin/python3 " + std::string(SITEMAIL_SOURCE_DIR) + "/tests/integration/peers/token_endpoint.py --port " +
            std::to_string(port) + " --out out --cert " + certs_dir() + "/relay.pem --key " + certs_dir() +
            "/relay.key --client-secret " + kSecret + " --tokens-file " + tokens_file + " " + endpoint_args,
        port);
  }
  void start_relay(const std::string& bearer = "XOAUTH2", const std::string& extra = "") {
    relay = std::make_unique<PyRelay>("--tls starttls --cert " + certs_dir() + "/relay.pem --key " + certs_dir() +
                                      "/relay.key --user " + std::string(kMailbox) + ":pw --mechs PLAIN --tokens-file " +
                                      tokens_file + " --bearer " + bearer + " " + extra);
  }
  [[nodiscard]] std::string url(const std::string& path = "/token") const {
    return "https://127.0.0.1:" + std::to_string(endpoint->port()) + path;
  }
  // The site file: relay over STARTTLS verified with the test CA, token endpoint, client.
  void site(const std::string& extra_xml, const std::string& code = "ACME") const {
    cfg.write(code + ".config", "<MailSettings>\n<Host>127.0.0.1</Host>\n<EMailSMTPPort>" +
                                    std::to_string(relay ? relay->port() : 25) +
                                    "</EMailSMTPPort>\n<EMailSecure>Yes</EMailSecure>\n<SslStartMode>sslExplicit</SslStartMode>\n"
                                    "<SslCaFile>" +
                                    certs_dir() + "/ca.pem</SslCaFile>\n<From>ill@acme.example</From>\n<User>" + kMailbox +
                                    "</User>\n<Timeout>20</Timeout>\n<OAuthTokenUrl>" +
                                    (!token_url.empty() ? token_url
                                     : endpoint         ? url()
                                                        : "") +
                                    "</OAuthTokenUrl>\n<OAuthClientId>sitemail-app</OAuthClientId>\n<OAuthClientSecret>" +
                                    secret + "</OAuthClientSecret>\n" + extra_xml + "</MailSettings>\n");
  }
  RunResult ctl_cmd(const std::string& args) const {
    return run(ctl() + " --database " + db.quoted() + " --config-dir " + cfg.path() + " " + args);
  }
  RunResult once() const {
    cfg.write("once.conf", "[retry]\ninitial = 1\nmax = 2\n[metrics]\nlisten =\n");
    return run(daemon() + " --once --database " + db.quoted() + " --config-dir " + cfg.path() + " --config " + cfg.path() +
               "/once.conf");
  }
  [[nodiscard]] std::vector<EndpointRequest> requests() const {
    std::vector<EndpointRequest> out;
    std::istringstream in(slurp(endpoint->dir() + "/out/requests.log"));
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      boost::property_tree::ptree t;
      std::istringstream one(line);
      boost::property_tree::read_json(one, t);
      EndpointRequest r;
      r.path = t.get<std::string>("path");
      for (const auto& [k, v] : t.get_child("form")) r.form[k] = v.get_value<std::string>();
      out.push_back(std::move(r));
    }
    return out;
  }
  [[nodiscard]] std::vector<std::string> lines(const std::string& path) const {
    std::vector<std::string> out;
    std::istringstream in(slurp(path));
    for (std::string l; std::getline(in, l);)
      if (!l.empty()) out.push_back(l);
    return out;
  }
  [[nodiscard]] std::vector<std::string> issued_tokens() const { return lines(tokens_file); }
  [[nodiscard]] std::vector<std::string> valid_refresh_tokens() const { return lines(endpoint->dir() + "/out/refresh_tokens"); }
  void revoke_all_tokens() const { std::ofstream(tokens_file, std::ios::trunc).flush(); }
  [[nodiscard]] std::string relay_auth_log() const { return relay->auth_log(); }

  // Every secret the run could have leaked: the client secret, every token issued or sent.
  [[nodiscard]] std::vector<std::string> secrets() const {
    std::vector<std::string> s{kSecret};
    for (const auto& t : issued_tokens()) s.push_back(t);
    if (endpoint) {
      for (const auto& t : valid_refresh_tokens()) s.push_back(t);
      for (const auto& r : requests())
        for (const char* k : {"refresh_token", "device_code"})
          if (r.form.count(k)) s.push_back(r.form.at(k));
    }
    return s;
  }
  // The first secret found in `text`, or "".
  [[nodiscard]] std::string leaked_in(const std::string& text) const {
    for (const auto& s : secrets())
      if (!s.empty() && text.find(s) != std::string::npos) return s;
    return {};
  }

  TestDb db;
  TempDir cfg;
  std::string secret = kSecret;  // the client secret site() writes
  std::string token_url;         // OAuthTokenUrl site() writes; "" = the endpoint's /token
  std::string tokens_file;
  std::unique_ptr<Peer> endpoint;
  std::unique_ptr<PyRelay> relay;
};

}  // namespace sitemail::test
