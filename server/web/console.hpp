// console.hpp — the web console's request handling (CONTRACT §10): one function from a
// whole request to a whole response, so tests can drive it without a socket. It checks the
// session (no session: 303 to /login), the CSRF token of every POST, what the account may
// see (a site it does not manage, or an admin-only action, is answered exactly like a site
// that does not exist: 404), then calls the same admin functions as sitemailctl
// (server/admin/) and renders a page (pages.hpp). Every change is logged as
// event=web_change user=… site=… what=… (never a value of a secret).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "cli_common.hpp"
#include "web_session.hpp"

namespace sitemail::web {

struct Request {
  std::string method, target, body;
  std::string cookie;        // the Cookie header
  std::string content_type;  // the Content-Type header
  std::string client;        // the client's address (throttling, logs)
};

struct Response {
  int status = 200;
  std::string content_type = "text/html; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // besides the security headers
};

// The headers every answer carries (CSP without inline script, frame-ancestors 'none', nosniff, ...).
[[nodiscard]] const std::vector<std::pair<std::string, std::string>>& security_headers();

class Console {
 public:
  Console(DaemonConf conf, bool tls) : conf_(std::move(conf)), tls_(tls) {}
  // Blocking (database, scrypt, SMTP tests): call it off the network thread.
  [[nodiscard]] Response handle(const Request& req);

 private:
  DaemonConf conf_;
  bool tls_;
  SessionStore sessions_;
  LoginThrottle throttle_;
};

}  // namespace sitemail::web
