// console.cpp — see console.hpp.
#include "console.hpp"

#include <ctime>
#include <memory>
#include <set>

#include "catalogue.hpp"
#include "form.hpp"
#include "html.hpp"
#include "key_edit.hpp"
#include "log.hpp"
#include "pages.hpp"
#include "password_hash.hpp"
#include "queue_ops.hpp"
#include "reload.hpp"
#include "report_format.hpp"
#include "router.hpp"
#include "site_source.hpp"
#include "site_test.hpp"
#include "text_util.hpp"
#include "value.hpp"
#include "web_accounts.hpp"

namespace sitemail::web {

namespace {

#include "static_files.inc"

constexpr const char* kSessionCookie = "sitemail_session";
constexpr const char* kLoginCookie = "sitemail_login";  // the sign-in form's CSRF token (double submit)
constexpr const char* kWrongLogin = "Wrong account or password.";

std::string cookie_value(const std::string& header, const std::string& name) {
  for (const auto& part : split(header, ';')) {
    auto t = trim(part);
    auto eq = t.find('=');
    if (eq != std::string_view::npos && trim(t.substr(0, eq)) == name) return std::string(trim(t.substr(eq + 1)));
  }
  return {};
}

Response html(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response redirect(const std::string& to) {
  Response r;
  r.status = 303;
  r.headers.emplace_back("Location", to);
  r.body = "<!DOCTYPE html><title>See other</title><a href=\"" + esc(to) + "\">continue</a>\n";
  return r;
}

// A hash to verify against when the account does not exist, so an unknown name takes as
// long as a wrong password (no account enumeration by timing).
const std::string& dummy_hash() {
  static const std::string h = accounts::hash_password(random_token());
  return h;
}

void log_change(const Session& s, const std::string& site, const std::string& what) {
  log::info("web_change", {{"user", s.user}, {"site", site}, {"what", what}});
}

// Everything one signed-in request needs.
struct Ctx {
  const Request& req;
  const Route& route;
  Session session;
  PageContext page;
  Form form;
};

}  // namespace

const std::vector<std::pair<std::string, std::string>>& security_headers() {
  static const std::vector<std::pair<std::string, std::string>> h = {
      {"Content-Security-Policy",
       "default-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"},
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"Cache-Control", "no-store"},
  };
  return h;
}

namespace {

class Handler {
 public:
  Handler(const DaemonConf& conf, bool tls, SessionStore& sessions, LoginThrottle& throttle)
      : conf_(conf), tls_(tls), sessions_(sessions), throttle_(throttle) {}

  Response handle(const Request& req) {
    const Route r = route(req.method, req.target);
    switch (r.id) {
      case RouteId::static_css: return asset(kConsoleCss, "text/css; charset=utf-8");
      case RouteId::static_js: return asset(kConsoleJs, "text/javascript; charset=utf-8");
      case RouteId::login_page: return login_page_for(req, "");
      case RouteId::login: return login(req);
      default: break;
    }
    const std::string token = cookie_value(req.cookie, kSessionCookie);
    auto session = sessions_.touch(token);
    if (!session) return redirect("/login");
    {
      // The account as it is now: removed, or given a new password, ends the session; a
      // changed role or site list applies at once.
      PgConn db(require_database(conf_));
      auto acct = admin::find_web_account(db, session->user);
      if (!acct || !tokens_equal(acct->password_hash, session->credential)) {
        sessions_.end(token);
        log::info("web_session_ended", {{"user", session->user}, {"reason", acct ? "password changed" : "account removed"}});
        return redirect("/login");
      }
      session->role = acct->role;
      session->sites = acct->sites;
    }
    Ctx c{req, r, *session, PageContext{session->csrf, session->user, session->admin(), std::time(nullptr)}, {}};
    if (r.id == RouteId::not_found) return not_found(c);
    if (r.id == RouteId::method_not_allowed) {
      auto res = html(405, layout(c.page, "Method not allowed", "<h1>Method not allowed</h1>"));
      res.headers.emplace_back("Allow", r.allow);
      return res;
    }
    if (req.method == "POST") {
      if (auto refused = check_post(c)) return *refused;
    }
    switch (r.id) {
      case RouteId::logout:
        sessions_.end(token);
        log::info("web_logout", {{"user", c.session.user}});
        {
          auto res = redirect("/login");
          res.headers.emplace_back("Set-Cookie", cookie(kSessionCookie, "", "/", true));
          return res;
        }
      case RouteId::site_list: return site_list(c, {});
      case RouteId::site_page: return site_page_for(c, {}, {}, 200);
      case RouteId::site_queue: return queue(c);
      case RouteId::message_page: return message(c, {});
      case RouteId::set_key: return set_key(c);
      case RouteId::test_site: return test(c);
      case RouteId::retry_message:
      case RouteId::cancel_message: return queue_action(c);
      case RouteId::reload: return reload(c);
      default: return not_found(c);
    }
  }

 private:
  const DaemonConf& conf_;
  bool tls_;
  SessionStore& sessions_;
  LoginThrottle& throttle_;

  std::string cookie(const std::string& name, const std::string& value, const std::string& path, bool expire = false) const {
    return name + "=" + value + "; Path=" + path + "; HttpOnly; SameSite=Strict" + (tls_ ? "; Secure" : "") +
           (expire ? "; Max-Age=0" : "");
  }

  static Response asset(const char* body, const char* type) {
    Response r;
    r.content_type = type;
    r.body = body;
    r.headers.emplace_back("Cache-Control", "max-age=300");
    return r;
  }

  Response not_found(const Ctx& c) { return html(404, not_found_page(c.page)); }

  // --- sign-in ----------------------------------------------------------------------------

  Response login_page_for(const Request& req, const std::string& message, int status = 200) {
    if (message.empty() && sessions_.touch(cookie_value(req.cookie, kSessionCookie))) return redirect("/");
    // One token per browser until it signs in: a second GET /login (the browser fetching
    // /favicon.ico is redirected here too) must not invalidate the form already shown.
    std::string token = cookie_value(req.cookie, kLoginCookie);
    if (token.size() != 43 ||
        token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != std::string::npos)
      token = random_token();
    auto res = html(status, login_page(PageContext{token, "", false, std::time(nullptr)}, message));
    res.headers.emplace_back("Set-Cookie", cookie(kLoginCookie, token, "/login"));
    return res;
  }

  Response login(const Request& req) {
    auto form = decode_form(req.body);
    if (!form || !req.content_type.starts_with("application/x-www-form-urlencoded"))
      return login_page_for(req, "The sign-in form was not understood; please try again.", 400);
    if (!tokens_equal(form->get("csrf"), cookie_value(req.cookie, kLoginCookie)))
      return login_page_for(req, "The sign-in form had expired; please sign in again.", 403);
    const std::string user = form->get("user"), password = form->get("password");
    const std::string& client = req.client;
    // Throttled: the same answer as a wrong password, and nothing is verified.
    if (throttle_.blocked(client)) {
      log::warn("web_login", {{"client", client}, {"result", "throttled"}});
      return login_page_for(req, kWrongLogin, 401);
    }
    std::optional<admin::WebAccount> acct;
    if (admin::web_user_problem(user).empty() && password.size() <= 1024) {
      PgConn db(require_database(conf_));
      acct = admin::find_web_account(db, user);
    }
    const bool ok = accounts::verify_password(password.size() <= 1024 ? password : std::string(),
                                              acct ? acct->password_hash : dummy_hash()) &&
                    acct.has_value();
    if (!ok) {
      throttle_.failed(client);
      // An unknown name is not logged: it may be a password typed into the wrong field.
      log::warn("web_login", {{"user", acct ? acct->user : std::string("(unknown)")}, {"client", client}, {"result", "refused"}});
      return login_page_for(req, kWrongLogin, 401);
    }
    const std::string token = sessions_.create(acct->user, acct->role, acct->sites, acct->password_hash);
    log::info("web_login", {{"user", acct->user}, {"client", client}, {"result", "ok"}, {"role", acct->role}});
    auto res = redirect("/");
    res.headers.emplace_back("Set-Cookie", cookie(kSessionCookie, token, "/"));
    res.headers.emplace_back("Set-Cookie", cookie(kLoginCookie, "", "/login", true));
    return res;
  }

  // A POST must carry a form with this session's CSRF token; otherwise nothing happens.
  std::optional<Response> check_post(Ctx& c) {
    auto form = decode_form(c.req.body);
    if (!form || !c.req.content_type.starts_with("application/x-www-form-urlencoded"))
      return html(400,
                  layout(c.page, "Bad request", "<h1>Bad request</h1><p>The form was not understood; nothing was changed.</p>"));
    if (!tokens_equal(form->get("csrf"), c.session.csrf)) {
      log::warn("web_csrf_refused", {{"user", c.session.user}, {"client", c.req.client}, {"target", c.req.target}});
      return html(403, layout(c.page, "Refused",
                              "<h1>Refused</h1><p id=\"notice\">The form was out of date (CSRF check failed); "
                              "nothing was changed. <a href=\"/\">Reload the page</a> and try again.</p>"));
    }
    c.form = std::move(*form);
    return std::nullopt;
  }

  // --- what an account may see --------------------------------------------------------------

  // The site when this account may see it; null (answered 404) when it does not manage it,
  // when it is the default site and the account is not an admin, or when it does not exist.
  std::shared_ptr<const ResolvedSite> visible(const Session& s, const SiteTable& table, const std::string& code) const {
    if (!s.admin()) {
      if (code == conf_.default_site || !s.manages(code)) return nullptr;
      return table.find_or_resolve(code);
    }
    if (auto site = table.find(code)) return site;
    return code == conf_.default_site ? table.find_or_resolve(code) : nullptr;
  }

  static SiteRow row_for(const ResolvedSite& site, const std::map<std::string, admin::SiteHealth>& health) {
    SiteRow row;
    row.code = site.site;
    row.valid = site.valid;
    if (const auto* e = site.first_error()) row.first_problem = e->to_line();
    for (const auto& w : site.defined_in) row.defined_in += (row.defined_in.empty() ? "" : ",") + w;
    if (auto it = health.find(site.site); it != health.end()) {
      row.queued = it->second.queued;
      row.held = it->second.held;
      row.failed = it->second.failed;
      row.last_status = it->second.last_status;
      row.last_time_utc = it->second.last_time_utc;
      row.last_error = it->second.last_error;
    }
    return row;
  }

  // --- pages ------------------------------------------------------------------------------

  Response site_list(const Ctx& c, const Notice& notice) {
    PgConn db(require_database(conf_));
    // an admin sees every site; a site's admin only the sites of the account
    auto table = c.session.admin()
                     ? load_sites(db, conf_)
                     : load_sites_only(db, conf_, std::set<std::string>(c.session.sites.begin(), c.session.sites.end()));
    auto health = admin::site_health(db);
    std::vector<SiteRow> rows;
    if (c.session.admin()) {
      for (const auto& [code, site] : table->sites) rows.push_back(row_for(*site, health));
    } else {
      for (const auto& code : c.session.sites)
        if (auto site = visible(c.session, *table, code)) rows.push_back(row_for(*site, health));
    }
    return html(200, site_list_page(c.page, rows, notice));
  }

  Response site_page_for(const Ctx& c, const Notice& notice, const TestOutcome& test, int status) {
    PgConn db(require_database(conf_));
    auto table = load_sites_only(db, conf_, {c.route.site});
    auto site = visible(c.session, *table, c.route.site);
    if (!site) return not_found(c);
    SitePage p;
    p.row = row_for(*site, admin::site_health(db));
    p.show_explain = format_show(*site, true);
    if (table->find(site->site)) p.problems = format_check(collect_problems(*table, site->site));
    auto keys = db.exec("SELECT custkey, coalesce(value,'') FROM customization WHERE nvtgc = $1 ORDER BY custkey", {site->site});
    for (int i = 0; i < keys.rows(); ++i) {
      auto s = find_setting(keys.get(i, 0));
      if (!s) continue;
      const auto& d = def(*s);
      p.keys.push_back({std::string(d.name), keys.get(i, 0), format_raw(d, keys.get(i, 1)), d.secret});
    }
    for (auto n : all_setting_names()) p.setting_names.emplace_back(n);
    if (site->settings) p.from_address = site->settings->text(Setting::EMailFromAddress);
    p.notice = notice;
    p.test = test;
    return html(status, site_page(c.page, p));
  }

  Response queue(const Ctx& c) {
    PgConn db(require_database(conf_));
    auto table = load_sites_only(db, conf_, {c.route.site});
    auto site = visible(c.session, *table, c.route.site);
    if (!site) return not_found(c);
    const std::string status = c.route.query.get("status");
    if (!admin::valid_status_filter(status))
      return html(400, queue_page(c.page, site->site, "", {}, "",
                                  {false, "status must be one of queued, held, sending, sent, failed, cancelled", {}}));
    auto listing = admin::list_queue(db, site->site, status, "200");
    std::vector<QueueItem> items;
    for (const auto& m : listing.rows)
      items.push_back({m.id, m.status, m.attempts, m.next_attempt_utc, m.to, m.subject, m.last_error, m.held});
    std::map<std::string, long long> by_status;
    long long held = 0, all = 0;
    for (const auto& n : listing.counts) {
      by_status[n.status] += n.count;
      held += n.held;
      all += n.count;
    }
    std::string summary = admin::count_line(by_status, held);
    if (all > static_cast<long long>(items.size())) summary += " (" + std::to_string(items.size()) + " shown)";
    return html(200, queue_page(c.page, site->site, status, items, summary, {}));
  }

  // The message when this account may see its site; nothing (404) otherwise.
  std::optional<admin::QueueMessage> visible_message(PgConn& db, const Ctx& c) {
    auto m = admin::show_message(db, c.route.message_id);
    if (!m) return std::nullopt;
    auto table = load_sites_only(db, conf_, {m->site});
    if (!visible(c.session, *table, m->site)) return std::nullopt;
    return m;
  }

  Response message(const Ctx& c, const Notice& notice) {
    PgConn db(require_database(conf_));
    auto m = visible_message(db, c);
    if (!m) return not_found(c);
    return html(notice.ok ? 200 : 409, message_page(c.page, c.route.message_id, m->site, m->status, m->text, notice));
  }

  // --- changes ----------------------------------------------------------------------------

  Response set_key(const Ctx& c) {
    std::string site_code;
    {
      PgConn db(require_database(conf_));
      auto table = load_sites_only(db, conf_, {c.route.site});
      auto site = visible(c.session, *table, c.route.site);
      if (!site) return not_found(c);
      site_code = site->site;
    }
    const std::string key = std::string(trim(c.form.get("key"))), value = c.form.get("value");
    std::string unknown;
    const SettingDef* d = admin::setting_for_key(key, unknown);
    if (!d) return site_page_for(c, {false, Diagnostic{"db:" + site_code, key, Severity::error, unknown}.to_line(), {}}, {}, 400);
    PgConn db(require_database(conf_));
    if (value.empty() && c.form.get("unset") == "1") {
      const auto removed = admin::unset_key(db, *d, site_code);
      if (removed.empty())
        return site_page_for(c, {true, std::string(d->name) + " was not set for site " + printable(site_code), {}}, {}, 200);
      log_change(c.session, site_code, "keys unset " + std::string(d->name));
      Notice n{true, "db:" + printable(site_code) + " " + std::string(d->name) + " unset", {}};
      add_effective(n, *d, site_code, false);
      return site_page_for(c, n, {}, 200);
    }
    const auto checked = admin::check_key_value(conf_, *d, site_code, value);
    if (checked.error) return site_page_for(c, {false, checked.error->to_line(), {}}, {}, 400);
    admin::write_key(db, *d, site_code, checked.stored);
    log_change(c.session, site_code, "keys set " + std::string(d->name));
    Notice n{true, "db:" + printable(site_code) + " " + std::string(d->name) + " = " + format_raw(*d, checked.stored), {}};
    if (checked.warning) n.lines.push_back(checked.warning->to_line());
    add_effective(n, *d, site_code, true);
    return site_page_for(c, n, {}, 200);
  }

  // The same report as `keys set`/`keys unset` print after a write.
  void add_effective(Notice& n, const SettingDef& d, const std::string& site_code, bool just_set) {
    PgConn db(require_database(conf_));
    auto table = load_sites_only(db, conf_, {site_code});
    const auto report = admin::effective_report(*table->find_or_resolve(site_code), d, just_set);
    if (!report.line.empty()) n.lines.push_back(report.line);
    for (const auto& w : report.warnings) n.lines.push_back(w);
  }

  Response test(const Ctx& c) {
    std::shared_ptr<const ResolvedSite> s;
    {
      PgConn db(require_database(conf_));
      auto table = load_sites_only(db, conf_, {c.route.site});
      s = visible(c.session, *table, c.route.site);
    }
    if (!s) return not_found(c);
    admin::SiteTestOptions opt;
    opt.send_to = std::string(trim(c.form.get("send_to")));
    opt.sent_by = "the sitemail web console (account " + c.session.user + ")";
    log_change(c.session, s->site, opt.send_to.empty() ? "test" : "test send_to=" + opt.send_to);
    auto result = admin::run_site_test(conf_, *s, opt);
    log::info("web_test", {{"user", c.session.user}, {"site", s->site}, {"verdict", result.verdict}});
    return site_page_for(c, {}, TestOutcome{true, result.verdict, result.transcript}, 200);
  }

  Response queue_action(const Ctx& c) {
    PgConn db(require_database(conf_));
    auto m = visible_message(db, c);
    if (!m) return not_found(c);
    const std::string& id = c.route.message_id;
    const bool retry = c.route.id == RouteId::retry_message;
    const bool done = retry ? admin::retry_message(db, id) : admin::cancel_message(db, id);
    Notice n;
    if (done) {
      log_change(c.session, m->site, std::string(retry ? "queue retry " : "queue cancel ") + id);
      n = {true, std::string(retry ? "requeued " : "cancelled ") + id, {}};
    } else {
      n = {false,
           retry ? "message " + id + " cannot be retried (sent, being sent, or unknown)"
                 : "message " + id + " cannot be cancelled (sent, being sent, cancelled or unknown)",
           {}};
    }
    return message(c, n);
  }

  Response reload(const Ctx& c) {
    if (!c.session.admin()) return not_found(c);  // admin-only: answered like an address that does not exist
    PgConn db(require_database(conf_));
    log_change(c.session, "", "reload");
    auto res = admin::request_reload(db, std::chrono::seconds(5));
    return html(200, reload_page(c.page, Notice{res.ok(), res.summary(), res.lines()}));
  }
};

}  // namespace

Response Console::handle(const Request& req) {
  Handler h(conf_, tls_, sessions_, throttle_);
  Response res;
  try {
    res = h.handle(req);
  } catch (const std::exception& e) {
    // Our own words only: a database error may quote a statement, never a secret, but the
    // details go to the log rather than the page.
    log::error("web_error", {{"target", req.target}, {"problem", e.what()}});
    res = html(500, "<!DOCTYPE html><title>Error</title><h1>Something went wrong</h1><p>The error is in sitemaild's log.</p>\n");
  }
  for (const auto& h2 : security_headers()) {
    bool set = false;
    for (const auto& [k, v] : res.headers) set = set || k == h2.first;
    if (!set) res.headers.push_back(h2);
  }
  return res;
}

}  // namespace sitemail::web
