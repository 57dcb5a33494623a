// router.hpp — the console's addresses (CONTRACT §10, stable: scripts and browser tests rely
// on them) mapped to a route and its parameters. Pure: no socket, no database.
#pragma once
#include <string>
#include <string_view>

#include "form.hpp"

namespace sitemail::web {

enum class RouteId {
  not_found,           // no such address (404)
  method_not_allowed,  // the address exists for another method (405)
  login_page,          // GET /login
  login,               // POST /login
  logout,              // POST /logout
  site_list,           // GET /
  site_page,           // GET /sites/S
  site_queue,          // GET /sites/S/queue?status=ST
  message_page,        // GET /queue/ID
  set_key,             // POST /sites/S/keys
  test_site,           // POST /sites/S/test
  retry_message,       // POST /queue/ID/retry
  cancel_message,      // POST /queue/ID/cancel
  reload,              // POST /reload
  static_css,          // GET /static/console.css
  static_js,           // GET /static/console.js
};

struct Route {
  RouteId id = RouteId::not_found;
  std::string site;        // decoded S of /sites/S...
  std::string message_id;  // ID of /queue/ID... (digits only)
  Form query;              // decoded query string
  std::string allow;       // for method_not_allowed: "GET" or "POST"
};

// `method` as sent ("GET", "HEAD", "POST"); `target` the request target ("/sites/A%20B?x=1").
[[nodiscard]] Route route(std::string_view method, std::string_view target);

}  // namespace sitemail::web
