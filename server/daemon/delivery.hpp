// delivery.hpp — the io-thread side of sitemaild: claimed rows are grouped per site and
// delivered over reused connections. Who gets a connection slot is decided by the
// SlotScheduler (scheduler.hpp: global limit, per-site share, FIFO line of waiting sites,
// idle eviction, round robin). A relay that cannot be reached is one event for its site:
// the tried message spends its attempt, the site is suspended with back-off and the rest
// of its mail is deferred without spending attempts. Every connection coroutine ends
// through one handler (on_connection_end) that settles its rows and frees its slot, also
// when it throws. Every session ends with QUIT and a TLS close_notify.
#pragma once
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "client.hpp"
#include "content_reader.hpp"
#include "log.hpp"
#include "metrics.hpp"
#include "queue_store.hpp"
#include "scheduler.hpp"
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
  // Stop taking new messages: pending jobs are released; in-flight ones finish; idle
  // connections say QUIT.
  void stop();
  // stop(), then call `done` once every connection has closed (at most a few seconds).
  void shutdown(std::function<void()> done);
  [[nodiscard]] int connections() const { return sched_.total(); }

 private:
  using Clock = std::chrono::steady_clock;
  struct ConnState {  // what the completion handler needs when a connection ends
    SlotScheduler::ConnId id = 0;
    std::string route;           // connection_route() of the sites it carries
    std::string label;           // the site it was opened for (logs)
    std::optional<Job> current;  // the message on the wire, if any
    std::optional<Job> ahead;    // the next one, its envelope already sent
    asio::steady_timer* idle_timer = nullptr;
  };
  // Per route (tenants/connection_route.hpp): the sites whose connection identity is the same
  // share its queue, connections, suspension and TLS setup. A site with a rate limit or a
  // token endpoint is a route of its own.
  struct RouteState {
    std::deque<Job> pending;
    std::map<SlotScheduler::ConnId, std::shared_ptr<ConnState>> conns;
    Clock::time_point suspended_until{};  // dead relay or 535: no connection before this
    std::string suspended_because;
    bool suspended_for_auth = false;
    int failures = 0;               // consecutive connection failures
    Clock::time_point next_send{};  // MaxMessagesPerMinute
    std::shared_ptr<smtp::TlsSetup> tls;
    bool tls_built = false;
  };
  // An open connection waits this long for more mail of its site before it says QUIT
  // (unless a site with no connection needs the slot: then the least recently used idle
  // connections close first).
  static constexpr std::chrono::milliseconds kIdleKeep{2000};

  void pump();
  void make_room();  // close idle connections of other sites for the starved sites in line
  void spawn(const std::string& route, SlotScheduler::ConnId id);
  asio::awaitable<void> connection(std::shared_ptr<ConnState> cs);
  struct Prepared {  // a message built for its job, ready for the wire
    Job job;
    smtp::BuiltMessage msg;
  };
  asio::awaitable<void> pace(RouteState& st, const Job& job);
  std::unique_ptr<Prepared> prepare(Job job, const std::string& relay);
  asio::awaitable<bool> carry(smtp::Client& client, RouteState& st, ConnState& cs, std::unique_ptr<Prepared> cur,
                              std::unique_ptr<Prepared>& ahead, bool may_prefetch);
  void on_connection_end(const std::shared_ptr<ConnState>& cs, const std::exception_ptr& e);
  void opened_failed(RouteState& st, const std::string& site, const smtp::Failure& f, const std::string& relay);
  void defer_suspended(RouteState& st, Job job);
  void finish(const Job& job, const std::optional<smtp::Failure>& failure, const smtp::MessageResult* result,
              const std::string& message_id, const std::string& relay, std::size_t rcpts = 0);
  void release(const Job& job);
  void check_shutdown();

  asio::io_context& io_;
  const DaemonConf& conf_;
  Metrics& metrics_;
  Report report_;
  SlotScheduler sched_;
  std::map<std::string, RouteState> routes_;
  // Routes that may have mail waiting for a connection (pending not empty when added):
  // pump() looks at these and the line, not at every route it ever saw.
  std::set<std::string> with_mail_;
  void queue(Job job, bool front = false);
  // How many connections the route may hold: MaxConnections per site that has mail in it
  // (pending or on the wire), within the site_share of the pool.
  [[nodiscard]] int route_cap(const RouteState& st) const;
  bool stopping_ = false;
  std::function<void()> on_closed_;
  std::unique_ptr<asio::steady_timer> shutdown_timer_;
  // Large attachments and raw messages are read in slices while they are sent (§8).
  std::shared_ptr<ContentReader> content_ = std::make_shared<ContentReader>(conf_.database_url);
  // oauth (issue 10): one token source per site that uses a token endpoint, shared by its
  // connections; rotated refresh tokens are stored over the store's own DB connection/thread.
  oauth::TokenSources tokens_{io_.get_executor(), conf_.config_dir,
                              std::make_shared<oauth::ThreadedPgRefreshStore>(conf_.database_url,
                                                                              [](const std::string& m) {
                                                                                log::error("oauth", {{"error", m}});
                                                                              }),
                              [](const std::string& site, const std::string& what, const std::string& detail) {
                                if (what == "failed")
                                  log::warn("oauth_token", {{"site", site}, {"result", what}, {"error", detail}});
                                else log::info("oauth_token", {{"site", site}, {"result", what}, {"detail", detail}});
                              }};
};

}  // namespace sitemail
