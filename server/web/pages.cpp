// pages.cpp — see pages.hpp. Small functions that build HTML; esc() on every value.
#include "pages.hpp"

#include "form.hpp"
#include "html.hpp"

namespace sitemail::web {

namespace {

std::string csrf_input(const PageContext& ctx) { return "<input type=\"hidden\" name=\"csrf\" value=\"" + esc(ctx.csrf) + "\">"; }

std::string post_form(const PageContext& ctx, const std::string& action, const std::string& inner,
                      const std::string& cls = "inline", const std::string& confirm = "") {
  return "<form class=\"" + cls + "\" method=\"post\" action=\"" + esc(action) + "\"" +
         (confirm.empty() ? "" : " data-confirm=\"" + esc(confirm) + "\"") + ">" + csrf_input(ctx) + inner + "</form>";
}

std::string site_href(const std::string& code) { return "/sites/" + url_encode(code); }

std::string notice_html(const Notice& n) {
  if (n.text.empty()) return {};
  std::string out = "<div class=\"notice " + std::string(n.ok ? "ok" : "bad") + "\" role=\"status\" id=\"notice\">" + esc(n.text);
  if (!n.lines.empty()) {
    out += "<pre>";
    for (const auto& l : n.lines) out += esc(l) + "\n";
    out += "</pre>";
  }
  return out + "</div>";
}

// Health at a glance: OK when valid and the last delivery worked, else what is wrong.
std::string health_badge(const SiteRow& r) {
  if (!r.valid) return "<span class=\"badge bad\">invalid</span>";
  if (r.last_status == "failed" || r.failed > 0) return "<span class=\"badge warn\">valid</span>";
  if (r.last_status.empty()) return "<span class=\"badge idle\">valid</span>";
  return "<span class=\"badge ok\">valid</span>";
}

std::string status_word(const std::string& status, bool held) { return held ? "held" : status; }

}  // namespace

std::string layout(const PageContext& ctx, const std::string& title, const std::string& body) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                    "<meta name=\"csrf-token\" content=\"" +
                    esc(ctx.csrf) +
                    "\">"
                    "<title>" +
                    esc(title) +
                    " · sitemail</title>"
                    "<link rel=\"stylesheet\" href=\"/static/console.css\">"
                    "<script src=\"/static/console.js\" defer></script></head><body>";
  out += "<header><a class=\"brand\" href=\"/\">sitemail</a>";
  if (!ctx.user.empty()) {
    out += "<nav><a href=\"/\">Sites</a></nav><span class=\"who\">" + esc(ctx.user) + " (" + (ctx.admin ? "admin" : "site") +
           ")</span>" + post_form(ctx, "/logout", "<button type=\"submit\" id=\"logout\">Sign out</button>", "inline");
  }
  out += "</header><main>" + body + "</main></body></html>\n";
  return out;
}

std::string login_page(const PageContext& ctx, const std::string& message) {
  std::string body = "<div class=\"login\"><h1>Sign in</h1>";
  if (!message.empty()) body += "<div class=\"notice bad\" id=\"notice\">" + esc(message) + "</div>";
  body += "<form method=\"post\" action=\"/login\">" + csrf_input(ctx) +
          "<label for=\"user\">Account</label><input type=\"text\" id=\"user\" name=\"user\" autocomplete=\"username\" "
          "autocapitalize=\"none\" required>"
          "<label for=\"password\">Password</label><input type=\"password\" id=\"password\" name=\"password\" "
          "autocomplete=\"current-password\" required>"
          "<button class=\"primary\" type=\"submit\" id=\"signin\">Sign in</button></form></div>";
  return layout(ctx, "Sign in", body);
}

std::string not_found_page(const PageContext& ctx) {
  return layout(ctx, "Not found", "<h1>Not found</h1><p>There is no such page. <a href=\"/\">Back to the sites</a></p>");
}

std::string site_list_page(const PageContext& ctx, const std::vector<SiteRow>& sites, const Notice& notice) {
  std::string body = notice_html(notice) + "<h1>Sites</h1>";
  if (sites.empty()) body += "<p class=\"mute\">No sites yet.</p>";
  else {
    body +=
        "<div class=\"scroll\"><table id=\"sites\"><thead><tr><th>Site</th><th>Configuration</th><th class=\"num\">Queued</th>"
        "<th class=\"num\">Held</th><th class=\"num\">Failed</th><th>Last delivery</th></tr></thead><tbody>";
    for (const auto& r : sites) {
      body += "<tr data-site=\"" + esc(r.code) + "\"><td><a href=\"" + esc(site_href(r.code)) + "\">" + esc(r.code) +
              "</a></td><td>" + health_badge(r);
      if (!r.valid && !r.first_problem.empty()) body += " <span class=\"problem\">" + esc(r.first_problem) + "</span>";
      body += "</td><td class=\"num\"><a href=\"" + esc(site_href(r.code) + "/queue?status=queued") + "\">" +
              std::to_string(r.queued) + "</a></td><td class=\"num\"><a href=\"" + esc(site_href(r.code) + "/queue?status=held") +
              "\">" + std::to_string(r.held) + "</a></td><td class=\"num\"><a href=\"" +
              esc(site_href(r.code) + "/queue?status=failed") + "\">" + std::to_string(r.failed) + "</a></td><td>";
      if (r.last_status.empty()) body += "<span class=\"mute\">none yet</span>";
      else {
        body += "<span class=\"" + std::string(r.last_status == "sent" ? "" : "problem") + "\">" + esc(r.last_status) +
                "</span> " + time_html(r.last_time_utc, ctx.now);
        if (r.last_status == "failed" && !r.last_error.empty())
          body += "<br><span class=\"mute\">" + esc(r.last_error) + "</span>";
      }
      body += "</td></tr>";
    }
    body += "</tbody></table></div>";
  }
  if (ctx.admin)
    body += "<h2>Reload</h2><p class=\"mute\">Ask every running sitemaild to read DB keys and site files again.</p>" +
            post_form(ctx, "/reload", "<button type=\"submit\" id=\"reload\">Reload all daemons</button>");
  return layout(ctx, "Sites", body);
}

std::string site_page(const PageContext& ctx, const SitePage& p) {
  const auto& r = p.row;
  const std::string href = site_href(r.code);
  std::string body = notice_html(p.notice) + "<h1>Site " + esc(r.code) + " " + health_badge(r) + "</h1>";
  body += "<p><a href=\"" + esc(href + "/queue") + "\">Queue</a>: " + std::to_string(r.queued) + " queued, " +
          std::to_string(r.held) + " held, " + std::to_string(r.failed) + " failed &middot; last delivery: " +
          (r.last_status.empty() ? std::string("none yet") : esc(r.last_status) + " " + time_html(r.last_time_utc, ctx.now)) +
          " &middot; defined in " + esc(r.defined_in) + "</p>";

  body += "<h2>Test</h2>";
  if (p.test.ran) {
    const bool ok = p.test.verdict.starts_with("OK ");
    body += "<div class=\"notice " + std::string(ok ? "ok" : "bad") + "\" id=\"verdict\">" + esc(p.test.verdict) + "</div>";
    if (!p.test.transcript.empty()) {
      body += "<details open><summary>Transcript</summary><pre id=\"transcript\">";
      for (const auto& l : p.test.transcript) body += esc(l) + "\n";
      body += "</pre></details>";
    }
  }
  body +=
      post_form(ctx, href + "/test", "<button type=\"submit\" id=\"test-connection\">Test connection</button>") + "<p></p>" +
      post_form(
          ctx, href + "/test",
          "<label for=\"send_to\">Send a test email to</label> <input type=\"email\" id=\"send_to\" name=\"send_to\" value=\"" +
              esc(p.from_address) + "\" required> <button type=\"submit\" id=\"send-test\">Send test email</button>");

  body += "<h2>Problems</h2>";
  body += p.problems.empty() ? "<p class=\"mute\" id=\"problems\">No problems.</p>"
                             : "<pre id=\"problems\">" + esc(p.problems) + "</pre>";

  body += "<h2>Effective settings</h2><p class=\"mute\">Each value with the layer it came from, as <code>sitemailctl show "
          "--explain</code> prints it.</p><pre id=\"effective\">" +
          esc(p.show_explain) + "</pre>";

  body += "<h2>DB keys of " + esc(r.code) + "</h2>";
  if (p.keys.empty()) body += "<p class=\"mute\">No DB keys of this site.</p>";
  else {
    body += "<div class=\"scroll\"><table id=\"keys\"><thead><tr><th>Setting</th><th>Value</th><th></th></tr></thead><tbody>";
    for (const auto& k : p.keys) {
      body += "<tr data-key=\"" + esc(k.setting) + "\"><td>" + esc(k.setting) +
              (k.custkey != k.setting ? " <span class=\"mute\">(" + esc(k.custkey) + ")</span>" : "") + "</td><td>";
      const std::string key_input = "<input type=\"hidden\" name=\"key\" value=\"" + esc(k.setting) + "\">";
      if (k.secret)
        body += "<span class=\"secret\">" + esc(k.shown) + "</span> " +
                post_form(ctx, href + "/keys",
                          key_input +
                              "<input type=\"password\" name=\"value\" autocomplete=\"new-password\" placeholder=\"new value\" "
                              "aria-label=\"new value of " +
                              esc(k.setting) + "\"><button type=\"submit\">Set</button>");
      else
        body += post_form(ctx, href + "/keys",
                          key_input + "<input type=\"text\" name=\"value\" value=\"" + esc(k.shown) +
                              "\" aria-label=\"value of " + esc(k.setting) + "\"><button type=\"submit\">Save</button>");
      body += "</td><td>" +
              post_form(ctx, href + "/keys",
                        key_input +
                            "<input type=\"hidden\" name=\"value\" value=\"\"><input type=\"hidden\" name=\"unset\" value=\"1\">"
                            "<button type=\"submit\" class=\"danger\">Unset</button>",
                        "inline", "Remove the DB key " + k.setting + " of " + r.code + "?") +
              "</td></tr>";
    }
    body += "</tbody></table></div>";
  }
  std::string options;
  for (const auto& n : p.setting_names) options += "<option value=\"" + esc(n) + "\">";
  body +=
      "<h3>Set a key</h3>" +
      post_form(ctx, href + "/keys",
                "<input type=\"text\" id=\"new-key\" name=\"key\" list=\"settings\" placeholder=\"setting\" required "
                "aria-label=\"setting\"><datalist id=\"settings\">" +
                    options +
                    "</datalist><input type=\"text\" id=\"new-value\" name=\"value\" placeholder=\"value\" aria-label=\"value\">"
                    "<button type=\"submit\" class=\"primary\" id=\"set-key\">Set</button>") +
      "<p class=\"mute\">Validated exactly as <code>sitemailctl keys set</code>. A secret (passwords, tokens) is never shown "
      "again: only <code>(set)</code> or <code>(empty)</code>.</p>";
  return layout(ctx, "Site " + r.code, body);
}

std::string queue_page(const PageContext& ctx, const std::string& site, const std::string& status,
                       const std::vector<QueueItem>& items, const std::string& summary, const Notice& notice) {
  const std::string href = site_href(site);
  std::string body =
      notice_html(notice) + "<h1>Queue of <a href=\"" + esc(href) + "\">" + esc(site) + "</a></h1><p class=\"filters\">";
  for (const char* st : {"", "queued", "held", "sending", "sent", "failed", "cancelled"}) {
    const std::string s = st, label = s.empty() ? "all" : s;
    if (s == status) body += "<strong>" + esc(label) + "</strong> ";
    else body += "<a href=\"" + esc(href + "/queue" + (s.empty() ? "" : "?status=" + s)) + "\">" + esc(label) + "</a> ";
  }
  body += "</p><p class=\"mute\" id=\"summary\">" + esc(summary) + "</p>";
  if (!items.empty()) {
    body +=
        "<div class=\"scroll\"><table id=\"queue\"><thead><tr><th>ID</th><th>Status</th><th class=\"hide-narrow\">Attempts</th>"
        "<th>To / subject</th><th class=\"hide-narrow\">Next attempt</th><th></th></tr></thead><tbody>";
    for (const auto& m : items) {
      const std::string qhref = "/queue/" + m.id;
      body += "<tr data-id=\"" + esc(m.id) + "\"><td><a href=\"" + esc(qhref) + "\">" + esc(m.id) + "</a></td><td>" +
              esc(status_word(m.status, m.held)) + "</td><td class=\"num hide-narrow\">" + esc(m.attempts) + "</td><td>" +
              esc(m.to) + "<br><span class=\"mute\">" + esc(m.subject) + "</span>";
      if (!m.last_error.empty()) body += "<br><span class=\"problem\">" + esc(m.last_error) + "</span>";
      body += "</td><td class=\"hide-narrow\">" +
              (m.status == "queued" ? time_html(m.next_attempt_utc, ctx.now) : std::string("&mdash;")) + "</td><td>";
      if (m.status == "failed" || m.status == "cancelled" || m.status == "queued")
        body += post_form(ctx, qhref + "/retry", "<button type=\"submit\" class=\"retry\">Retry</button>");
      if (m.status == "failed" || m.status == "queued")
        body += post_form(ctx, qhref + "/cancel", "<button type=\"submit\" class=\"danger cancel\">Cancel</button>", "inline",
                          "Cancel message " + m.id + "?");
      body += "</td></tr>";
    }
    body += "</tbody></table></div>";
  }
  return layout(ctx, "Queue of " + site, body);
}

std::string message_page(const PageContext& ctx, const std::string& id, const std::string& site, const std::string& status,
                         const std::string& text, const Notice& notice) {
  const std::string qhref = "/queue/" + id;
  std::string body = notice_html(notice) + "<h1>Message " + esc(id) + "</h1><p>Site <a href=\"" + esc(site_href(site)) + "\">" +
                     esc(site) + "</a> &middot; <a href=\"" + esc(site_href(site) + "/queue") +
                     "\">queue</a></p><pre id=\"message\">" + esc(text) + "</pre><p>";
  if (status == "failed" || status == "cancelled" || status == "queued")
    body += post_form(ctx, qhref + "/retry", "<button type=\"submit\" id=\"retry\">Retry now</button>");
  if (status == "failed" || status == "queued")
    body += " " + post_form(ctx, qhref + "/cancel", "<button type=\"submit\" class=\"danger\" id=\"cancel\">Cancel</button>",
                            "inline", "Cancel message " + id + "?");
  return layout(ctx, "Message " + id, body + "</p>");
}

std::string reload_page(const PageContext& ctx, const Notice& result) {
  return layout(ctx, "Reload", "<h1>Reload</h1>" + notice_html(result) + "<p><a href=\"/\">Back to the sites</a></p>");
}

}  // namespace sitemail::web
