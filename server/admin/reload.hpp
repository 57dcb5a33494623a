// reload.hpp — ask every running sitemaild to reload (NOTIFY sitemail_reload with a fresh
// request id) and collect their acknowledgements from reload_ack (sql/007_reload_acks.sql),
// shared by `sitemailctl reload` and the web console's Reload button.
#pragma once
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "pg.hpp"

namespace sitemail::admin {

struct ReloadAck {
  std::string instance, result, detail;
};
struct ReloadResult {
  std::string request_id;
  std::vector<ReloadAck> acks;  // in the order they arrived
  long long running = 0;        // daemons connected (sessions named sitemaild)
  int failed = 0;               // acknowledgements that say the reload failed
  [[nodiscard]] bool ok() const { return !acks.empty() && failed == 0; }
  // "reload acknowledged by 2 daemons" and one indented line per acknowledgement.
  [[nodiscard]] std::string summary() const;
  [[nodiscard]] std::vector<std::string> lines() const;
};

// Throws std::runtime_error when the database has no reload_ack table. `requested` is
// called with the request id once the NOTIFY is out (before the wait).
[[nodiscard]] ReloadResult request_reload(PgConn& db, std::chrono::seconds wait,
                                          const std::function<void(const std::string&)>& requested = {});

}  // namespace sitemail::admin
