// delivery.hpp — the io-thread side of sitemaild: claimed rows are grouped per site and
// delivered over reused connections, at most MaxConnections per site and
// [delivery] max_connections in total, optionally rate limited (MaxMessagesPerMinute).
// A slow or dead relay only occupies its own site's connections.
#pragma once
#include <deque>
#include <functional>
#include <map>
#include <memory>

#include "client.hpp"
#include "log.hpp"
#include "metrics.hpp"
#include "queue_store.hpp"
#include "site_table.hpp"
#include "token_cache.hpp"

namespace sitemail {

struct Job {
  ClaimedRow row;
  std::shared_ptr<const ResolvedSite> site;
  std::chrono::steady_clock::time_point claimed_at = std::chrono::steady_clock::now();
};

class Dispatcher {
 public:
  using Report = std::function<void(RowOutcome)>;
  Dispatcher(asio::io_context& io, const DaemonConf& conf, Metrics& metrics, Report report);

  void add(std::vector<Job> jobs);  // io thread
  // Stop taking new messages: pending jobs are released; in-flight ones finish.
  void stop();
  [[nodiscard]] int connections() const { return total_connections_; }

 private:
  struct SiteState {
    std::deque<Job> pending;
    int connections = 0;
    std::chrono::steady_clock::time_point backoff_until{};
    std::chrono::steady_clock::time_point next_send{};
    std::shared_ptr<smtp::TlsSetup> tls;
    std::shared_ptr<const EffectiveSettings> tls_for;  // held, so a reused address cannot alias it
    std::vector<asio::steady_timer*> idle;  // connections waiting for more of this site's mail
  };
  // An open connection waits this long for more mail of its site before it says QUIT.
  static constexpr std::chrono::milliseconds kIdleKeep{2000};

  void pump();
  asio::awaitable<void> connection(std::string site);
  void finish(const Job& job, const std::optional<smtp::Failure>& failure, const smtp::MessageResult* result,
              const std::string& message_id, const std::string& relay);
  void release(const Job& job);

  asio::io_context& io_;
  const DaemonConf& conf_;
  Metrics& metrics_;
  Report report_;
  std::map<std::string, SiteState> sites_;
  int total_connections_ = 0;
  bool stopping_ = false;
  // oauth (issue 10): one token source per site that uses a token endpoint, shared by its
  // connections; rotated refresh tokens are stored over the store's own DB connection/thread.
  oauth::TokenSources tokens_{io_.get_executor(), conf_.config_dir,
                              std::make_shared<oauth::ThreadedPgRefreshStore>(conf_.database_url, [](const std::string& m) {
                                log::error("oauth", {{"error", m}});
                              }),
                              [](const std::string& site, const std::string& what, const std::string& detail) {
                                if (what == "failed") log::warn("oauth_token", {{"site", site}, {"result", what}, {"error", detail}});
                                else log::info("oauth_token", {{"site", site}, {"result", what}, {"detail", detail}});
                              }};
};

}  // namespace sitemail
