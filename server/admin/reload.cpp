// reload.cpp — see reload.hpp. Every daemon has one session named sitemaild (its LISTEN
// connection): wait until that many acknowledged, or `wait` runs out. Daemons that do not
// name their session (older versions) are waited for until one quiet second after the last
// acknowledgement.
#include "reload.hpp"

#include <set>
#include <stdexcept>
#include <thread>

#include "text_util.hpp"

namespace sitemail::admin {

std::string ReloadResult::summary() const {
  std::string out = "reload acknowledged by " + std::to_string(acks.size());
  if (running > static_cast<long long>(acks.size())) out += " of " + std::to_string(running);
  out += acks.size() == 1 && running <= 1 ? " daemon" : " daemons";
  if (failed) out += " (" + std::to_string(failed) + " failed to reload)";
  return out;
}

std::vector<std::string> ReloadResult::lines() const {
  std::vector<std::string> out;
  for (const auto& a : acks) out.push_back("  " + printable(a.instance) + " " + printable(a.result) + " " + printable(a.detail));
  return out;
}

ReloadResult request_reload(PgConn& db, std::chrono::seconds wait, const std::function<void(const std::string&)>& requested) {
  if (!db.table_exists("reload_ack"))
    throw std::runtime_error("the database has no reload_ack table; run: sitemailctl db migrate");
  ReloadResult res;
  res.request_id = db.exec("SELECT gen_random_uuid()::text").get(0, 0);
  db.exec("SELECT pg_notify('sitemail_reload', $1)", {res.request_id});
  if (requested) requested(res.request_id);
  const auto start = std::chrono::steady_clock::now();
  auto last_new = start;
  std::set<std::string> seen;
  while (true) {
    res.running = db.exec("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sitemaild' "
                          "AND datname = current_database()")
                      .get_int(0, 0);
    auto r = db.exec("SELECT instance, result, coalesce(detail, '') FROM reload_ack WHERE request_id = $1 ORDER BY acked_at",
                     {res.request_id});
    for (int i = 0; i < r.rows(); ++i) {
      if (!seen.insert(r.get(i, 0)).second) continue;
      last_new = std::chrono::steady_clock::now();
      if (r.get(i, 1) != "ok") ++res.failed;
      res.acks.push_back({r.get(i, 0), r.get(i, 1), r.get(i, 2)});
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - start >= wait) break;
    if (res.running > 0 && static_cast<long long>(seen.size()) >= res.running) break;
    if (res.running == 0 && !seen.empty() && now - last_new >= std::chrono::seconds(1)) break;
    if (res.running == 0 && seen.empty() && now - start >= std::chrono::seconds(2)) break;  // nobody is listening
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return res;
}

}  // namespace sitemail::admin
