// delivery.cpp — see delivery.hpp: claimed mail in, slots handed out, outcomes reported.
// The connection coroutine itself is in connection.cpp.
#include "delivery.hpp"

#include <random>

#include "log.hpp"

namespace sitemail {

namespace {
double jitter() {
  thread_local std::mt19937 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0, 1)(rng);
}
}  // namespace

Dispatcher::Dispatcher(asio::io_context& io, const DaemonConf& conf, Metrics& metrics, Report report)
    : io_(io), conf_(conf), metrics_(metrics), report_(std::move(report)), sched_(conf.max_connections, conf.site_share) {}

void Dispatcher::add(std::vector<Job> jobs) {
  for (auto& j : jobs) {
    if (stopping_) {
      release(j);
      continue;
    }
    if (!j.site->valid) {  // held: the site's configuration is invalid; no attempt spent
      const auto* e = j.site->first_error();
      finish(j, smtp::config_failure("site configuration invalid: " + (e ? e->to_line() : std::string("?"))), nullptr, "", "");
      continue;
    }
    queue(std::move(j));
  }
  pump();
}

void Dispatcher::queue(Job job, bool front) {
  const std::string route = job.site->route;
  auto& pending = routes_[route].pending;
  if (front) pending.push_front(std::move(job));
  else pending.push_back(std::move(job));
  with_mail_.insert(route);
}

int Dispatcher::route_cap(const RouteState& st) const {
  const int per_site = static_cast<int>(st.pending.front().site->settings->number(Setting::MaxConnections));
  const int most = sched_.share_cap();
  std::set<std::string_view> sites;
  auto count = [&](const Job& j) {
    sites.insert(j.row.nvtgc);
    return per_site * static_cast<int>(sites.size()) >= most;
  };
  for (const auto& j : st.pending)
    if (count(j)) return most;
  for (const auto& [id, cs] : st.conns)
    if (cs->current && count(*cs->current)) return most;
  return sched_.site_cap(per_site * static_cast<int>(sites.size()));
}

void Dispatcher::stop() {
  stopping_ = true;
  for (auto& [route, st] : routes_) {
    for (const auto& j : st.pending) release(j);
    st.pending.clear();
    for (auto& [id, cs] : st.conns)
      if (cs->idle_timer) cs->idle_timer->cancel();  // idle connections say QUIT now
  }
}

void Dispatcher::shutdown(std::function<void()> done) {
  stop();
  on_closed_ = std::move(done);
  // Connections still sending when the grace ran out are cut after a short wait.
  shutdown_timer_ = std::make_unique<asio::steady_timer>(io_, smtp::Client::kCloseLimit + std::chrono::seconds(1));
  shutdown_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec || !on_closed_) return;
    log::warn("shutdown", {{"connections_cut", std::to_string(sched_.total())}});
    std::exchange(on_closed_, nullptr)();
  });
  check_shutdown();
}

void Dispatcher::check_shutdown() {
  if (on_closed_ && sched_.total() == 0) {
    if (shutdown_timer_) shutdown_timer_->cancel();
    std::exchange(on_closed_, nullptr)();
  }
}

void Dispatcher::release(const Job& job) {
  RowOutcome o;
  o.id = job.row.id;
  o.attempts = job.row.attempts;
  o.site = job.row.nvtgc;
  o.release = true;
  report_(std::move(o));
}

void Dispatcher::pump() {
  if (stopping_) return;
  const auto now = Clock::now();
  // Routes that have waited for a slot longest go first, then the others with mail.
  std::vector<std::string> order(sched_.line().begin(), sched_.line().end());
  for (const auto& route : with_mail_)
    if (!sched_.waiting(route)) order.push_back(route);
  std::vector<std::string> ready;  // routes with mail that may connect now
  for (const auto& route : order) {
    auto it = routes_.find(route);
    if (it == routes_.end() || it->second.pending.empty()) {
      sched_.satisfied(route);
      with_mail_.erase(route);
      continue;
    }
    auto& st = it->second;
    if (st.suspended_until > now) {  // dead relay or 535: defer without connecting
      while (!st.pending.empty()) {
        Job j = std::move(st.pending.front());
        st.pending.pop_front();
        defer_suspended(st, std::move(j));
      }
      sched_.satisfied(route);
      continue;
    }
    // Idle connections of the route take its mail first.
    for (auto& [id, cs] : st.conns)
      if (cs->idle_timer) cs->idle_timer->cancel();
    ready.push_back(route);
  }
  // Every route's first connection before any route's second: a free slot taken for an
  // extra connection would only be handed back to the next route that has none.
  for (const bool first : {true, false}) {
    for (const auto& route : ready) {
      auto& st = routes_[route];
      if (first != st.conns.empty() || st.pending.empty()) continue;
      const int cap = route_cap(st);
      // one connection per waiting message, up to the route's cap (open ones take theirs too)
      int want = first ? 1 : static_cast<int>(st.pending.size()) - static_cast<int>(st.conns.size());
      while (want > 0) {
        auto id = sched_.acquire(route, cap);
        if (!id) break;
        spawn(route, *id);
        --want;
      }
      if (!first && (want <= 0 || sched_.open(route) >= cap)) sched_.satisfied(route);
      if (first && want > 0) continue;  // in line for a slot
      if (first && static_cast<int>(st.pending.size()) <= static_cast<int>(st.conns.size())) sched_.satisfied(route);
    }
  }
  make_room();
}

void Dispatcher::make_room() {
  // Starved routes in line: idle connections of other routes close (least recently used).
  while (auto victim = sched_.evict()) {
    auto& conns = routes_[victim->site].conns;
    if (auto c = conns.find(victim->id); c != conns.end() && c->second->idle_timer) c->second->idle_timer->cancel();
  }
}

void Dispatcher::defer_suspended(RouteState& st, Job job) {
  const auto wait = std::chrono::duration_cast<std::chrono::seconds>(st.suspended_until - Clock::now()).count() + 1;
  RowOutcome o;
  o.id = job.row.id;
  o.attempts = job.row.attempts;
  o.site = job.row.nvtgc;
  o.done_rcpts = job.row.done_rcpts;
  o.update =
      decide_suspended(st.suspended_because, wait, std::chrono::seconds(static_cast<long long>(job.row.age_seconds)), conf_);
  metrics_.delivered(job.row.nvtgc, o.update.status == RowStatus::failed ? "failed" : "deferred", job.row.age_seconds);
  log::info("delivery", {{"site", job.row.nvtgc},
                         {"id", std::to_string(job.row.id)},
                         {"result", o.update.status == RowStatus::failed ? "failed" : "deferred"},
                         {"attempt", std::to_string(job.row.attempts - 1)},
                         {"error", o.update.last_error}});
  report_(std::move(o));
}

void Dispatcher::opened_failed(RouteState& st, const std::string& site, const smtp::Failure& f, const std::string& relay) {
  if (f.kind == smtp::FailureKind::config || f.kind == smtp::FailureKind::permanent) {
    // Every message would meet the same answer (held config, or a relay refusing us for good).
    std::deque<Job> jobs;
    jobs.swap(st.pending);
    for (const auto& j : jobs) finish(j, f, nullptr, "", relay);
    return;
  }
  // The relay cannot be reached or refused our login: one event for the site. It is
  // suspended with back-off; the mail waiting for it is deferred without spending attempts.
  ++st.failures;
  const long long secs = f.kind == smtp::FailureKind::auth ? conf_.auth_backoff : backoff_seconds(st.failures, conf_, jitter());
  const auto until = Clock::now() + std::chrono::seconds(secs);
  if (until > st.suspended_until) {
    st.suspended_until = until;
    st.suspended_because = f.describe();
    st.suspended_for_auth = f.kind == smtp::FailureKind::auth;
    log::warn("site_suspended", {{"site", site},
                                 {"relay", relay},
                                 {"seconds", std::to_string(secs)},
                                 {"failures", std::to_string(st.failures)},
                                 {"problem", f.describe()}});
  }
  while (!st.pending.empty()) {
    Job j = std::move(st.pending.front());
    st.pending.pop_front();
    defer_suspended(st, std::move(j));
  }
}

void Dispatcher::finish(const Job& job, const std::optional<smtp::Failure>& failure, const smtp::MessageResult* result,
                        const std::string& message_id, const std::string& relay, std::size_t rcpts) {
  RowOutcome o;
  o.id = job.row.id;
  o.attempts = job.row.attempts;
  o.site = job.row.nvtgc;
  o.message_id = message_id;
  o.done_rcpts = job.row.done_rcpts;
  std::optional<smtp::Failure> effective = failure;
  std::string refused;
  if (result && !failure) {
    o.smtp_reply = result->reply;
    bool transient_left = false;
    std::string transient_list;
    for (const auto& r : result->recipients) {
      if (r.accepted) {
        o.done_rcpts += (o.done_rcpts.empty() ? "" : ",") + r.address;
      } else if (r.code >= 500) {
        refused += (refused.empty() ? "" : "; ") + r.address + " (" + r.reply + ")";
      } else {
        transient_left = true;
        transient_list += (transient_list.empty() ? "" : "; ") + r.address + " (" + r.reply + ")";
      }
    }
    if (transient_left)
      effective = smtp::Failure{smtp::FailureKind::transient, smtp::Stage::rcpt, "deferred recipients: " + transient_list, {}, 0};
  } else if (failure) {
    o.smtp_reply = failure->remote;
  }
  o.update =
      decide(effective, job.row.attempts, std::chrono::seconds(static_cast<long long>(job.row.age_seconds)), conf_, jitter());
  if (!effective && !refused.empty()) o.update.last_error = "refused for good: " + refused;
  if (effective && effective->kind == smtp::FailureKind::transient && !refused.empty())
    o.update.last_error += "; refused for good: " + refused;
  const char* result_word = o.update.status == RowStatus::sent     ? "sent"
                            : o.update.status == RowStatus::failed ? "failed"
                            : o.update.refund_attempt              ? "held"
                                                                   : "deferred";
  const double latency =  // enqueue -> outcome: age at claim plus the time since
      job.row.age_seconds + std::chrono::duration<double>(Clock::now() - job.claimed_at).count();
  metrics_.delivered(job.row.nvtgc, result_word, latency);
  log::info("delivery", {{"site", job.row.nvtgc},
                         {"id", std::to_string(job.row.id)},
                         {"relay", relay},
                         {"result", result_word},
                         {"attempt", std::to_string(job.row.attempts)},
                         {"rcpts", std::to_string(rcpts)},
                         {"message_id", message_id},
                         {"delay", std::to_string(latency)},
                         {"reply", o.smtp_reply},
                         {"error", o.update.last_error}});
  report_(std::move(o));
}

}  // namespace sitemail
