// router.cpp — see router.hpp.
#include "router.hpp"

#include <vector>

namespace sitemail::web {

namespace {

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t pos = 1;  // after the leading '/'
  while (pos <= path.size()) {
    auto slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    out.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

bool digits(std::string_view s) {
  return !s.empty() && s.size() <= 18 && s.find_first_not_of("0123456789") == std::string_view::npos;
}

}  // namespace

Route route(std::string_view method, std::string_view target) {
  Route r;
  const bool get = method == "GET" || method == "HEAD", post = method == "POST";
  auto q = target.find('?');
  std::string_view path = target.substr(0, q);
  if (q != std::string_view::npos) {
    auto query = decode_form(target.substr(q + 1));
    if (!query) return r;  // a malformed query: not an address we serve
    r.query = std::move(*query);
  }
  if (path.empty() || path[0] != '/') return r;
  auto want = [&](RouteId id, bool is_get) {
    if (is_get ? get : post) r.id = id;
    else {
      r.id = RouteId::method_not_allowed;
      r.allow = is_get ? "GET, HEAD" : "POST";
    }
    return r;
  };
  if (path == "/") return want(RouteId::site_list, true);
  if (path == "/login") {
    if (get) return r.id = RouteId::login_page, r;
    if (post) return r.id = RouteId::login, r;
    r.id = RouteId::method_not_allowed;
    r.allow = "GET, HEAD, POST";
    return r;
  }
  if (path == "/logout") return want(RouteId::logout, false);
  if (path == "/reload") return want(RouteId::reload, false);
  if (path == "/static/console.css") return want(RouteId::static_css, true);
  if (path == "/static/console.js") return want(RouteId::static_js, true);
  const auto seg = segments(path);
  if (seg.size() >= 2 && seg[0] == "sites") {
    auto site = percent_decode(seg[1], false);
    if (!site || site->empty() || site->find('/') != std::string::npos) return r;
    r.site = std::move(*site);
    if (seg.size() == 2) return want(RouteId::site_page, true);
    if (seg.size() == 3 && seg[2] == "queue") return want(RouteId::site_queue, true);
    if (seg.size() == 3 && seg[2] == "keys") return want(RouteId::set_key, false);
    if (seg.size() == 3 && seg[2] == "test") return want(RouteId::test_site, false);
    r.site.clear();
    return r;
  }
  if (seg.size() >= 2 && seg[0] == "queue" && digits(seg[1])) {
    r.message_id = std::string(seg[1]);
    if (seg.size() == 2) return want(RouteId::message_page, true);
    if (seg.size() == 3 && seg[2] == "retry") return want(RouteId::retry_message, false);
    if (seg.size() == 3 && seg[2] == "cancel") return want(RouteId::cancel_message, false);
    r.message_id.clear();
    return r;
  }
  return r;
}

}  // namespace sitemail::web
