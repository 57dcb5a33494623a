// pages.hpp — the console's pages as plain functions of their data (no socket, no
// database), so unit tests can render them. Every value reaches the page through esc();
// every form carries the CSRF token in an input named csrf, every page holds it in
// <meta name="csrf-token">; no inline script (the CSP forbids it).
#pragma once
#include <ctime>
#include <string>
#include <vector>

namespace sitemail::web {

struct PageContext {
  std::string csrf;  // the session's (or the sign-in form's) CSRF token
  std::string user;  // "" on the sign-in page
  bool admin = false;
  std::time_t now = 0;
};

struct Notice {
  bool ok = true;
  std::string text;                // "" = none
  std::vector<std::string> lines;  // shown in a <pre> below the text (acknowledgements, ...)
};

// The whole document: head (viewport, CSS, JS file, csrf meta), header with sign-out, body.
[[nodiscard]] std::string layout(const PageContext& ctx, const std::string& title, const std::string& body);

[[nodiscard]] std::string login_page(const PageContext& ctx, const std::string& message);
[[nodiscard]] std::string not_found_page(const PageContext& ctx);

struct SiteRow {
  std::string code;
  bool valid = false;
  std::string first_problem;  // check's words, for an invalid site
  std::string defined_in;     // "db,outbox,ACME.config"
  long long queued = 0, held = 0, failed = 0;
  std::string last_status, last_time_utc, last_error;
};
[[nodiscard]] std::string site_list_page(const PageContext& ctx, const std::vector<SiteRow>& sites, const Notice& notice);

struct KeyRow {
  std::string setting;  // canonical name
  std::string custkey;  // as stored
  std::string shown;    // format_raw: secrets (set)/(empty)
  bool secret = false;
};
struct TestOutcome {
  bool ran = false;
  std::string verdict;
  std::vector<std::string> transcript;
};
struct SitePage {
  SiteRow row;
  std::string show_explain;  // format_show(site, true), exactly as `show --explain`
  std::string problems;      // format_check(collect_problems(...)), exactly as `check --site S`
  std::vector<KeyRow> keys;
  std::vector<std::string> setting_names;  // every canonical setting name, for the add form
  std::string from_address;                // the test address offered by default
  Notice notice;
  TestOutcome test;
};
[[nodiscard]] std::string site_page(const PageContext& ctx, const SitePage& p);

struct QueueItem {
  std::string id, status, attempts, next_attempt_utc, to, subject, last_error;
  bool held = false;
};
[[nodiscard]] std::string queue_page(const PageContext& ctx, const std::string& site, const std::string& status,
                                     const std::vector<QueueItem>& items, const std::string& summary, const Notice& notice);
[[nodiscard]] std::string message_page(const PageContext& ctx, const std::string& id, const std::string& site,
                                       const std::string& status, const std::string& text, const Notice& notice);
[[nodiscard]] std::string reload_page(const PageContext& ctx, const Notice& result);

}  // namespace sitemail::web
