// delivery.cpp — see delivery.hpp. Per-recipient bookkeeping: recipients accepted on an
// earlier attempt (done_rcpts) are never sent again; recipients refused for good are
// recorded in last_error; a transiently refused recipient keeps the row queued.
#include "delivery.hpp"

#include <random>
#include <set>

#include "log.hpp"
#include "text_util.hpp"

namespace sitemail {

namespace {

std::set<std::string> done_set(const std::string& s) {
  std::set<std::string> out;
  for (auto& a : split(s, ','))
    if (!trim(a).empty()) out.insert(to_lower(trim(a)));
  return out;
}

double jitter() {
  thread_local std::mt19937 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0, 1)(rng);
}

}  // namespace

Dispatcher::Dispatcher(asio::io_context& io, const DaemonConf& conf, Metrics& metrics, Report report)
    : io_(io), conf_(conf), metrics_(metrics), report_(std::move(report)) {}

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
    sites_[j.row.nvtgc].pending.push_back(std::move(j));
  }
  for (auto& [code, st] : sites_)
    if (!st.pending.empty())
      for (auto* t : st.idle) t->cancel();  // wake idle connections first
  pump();
}

void Dispatcher::stop() {
  stopping_ = true;
  for (auto& [code, st] : sites_) {
    for (auto* t : st.idle) t->cancel();
    for (const auto& j : st.pending) release(j);
    st.pending.clear();
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
  const auto now = std::chrono::steady_clock::now();
  for (auto& [code, st] : sites_) {
    if (st.pending.empty()) continue;
    if (st.backoff_until > now) {
      // 535 back-off: defer without connecting
      while (!st.pending.empty()) {
        Job j = std::move(st.pending.front());
        st.pending.pop_front();
        finish(j, smtp::Failure{smtp::FailureKind::auth, smtp::Stage::auth, "site backed off after an authentication failure", {}, 0},
               nullptr, "", "");
      }
      continue;
    }
    const int per_site = static_cast<int>(st.pending.front().site->settings->number(Setting::MaxConnections));
    // idle connections count too: add() has just woken them for the new mail
    while (st.connections < per_site && total_connections_ < conf_.max_connections &&
           static_cast<std::size_t>(st.connections) < st.pending.size()) {
      ++st.connections;
      ++total_connections_;
      asio::co_spawn(io_, connection(code), asio::detached);
    }
  }
}

asio::awaitable<void> Dispatcher::connection(std::string code) {
  auto& st = sites_[code];
  metrics_.connection_opened();
  if (!st.pending.empty()) {
    auto settings = st.pending.front().site->settings;
    if (st.tls_for != settings) {  // built once per site and configuration, only when TLS is used
      st.tls = settings->tls == TlsMode::none ? nullptr : smtp::make_tls_setup(*settings, conf_.config_dir);
      st.tls_for = settings;
    }
    smtp::Client client(io_.get_executor(), settings, st.tls, false, tokens_.for_site(code, settings));  // oauth
    auto opened = co_await client.open();
    if (opened) {
      if (opened->kind == smtp::FailureKind::auth) st.backoff_until = std::chrono::steady_clock::now() + std::chrono::seconds(conf_.auth_backoff);
      // The relay cannot be reached now: every message waiting for it gets this outcome.
      std::deque<Job> jobs;
      jobs.swap(st.pending);
      for (const auto& j : jobs) finish(j, opened, nullptr, "", client.peer());
    }
    const double per_minute = static_cast<double>(settings->number(Setting::MaxMessagesPerMinute));
    while (!opened && client.usable() && !stopping_) {
      if (st.pending.empty()) {
        asio::steady_timer idle(io_, kIdleKeep);
        st.idle.push_back(&idle);
        boost::system::error_code ec;
        co_await idle.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        st.idle.erase(std::find(st.idle.begin(), st.idle.end(), &idle));
        if (st.pending.empty()) break;  // idle too long, or stopping
        continue;
      }
      if (st.pending.front().site->settings != settings) break;  // reloaded: a new connection uses the new settings
      Job job = std::move(st.pending.front());
      st.pending.pop_front();
      if (per_minute > 0) {
        // Reserve the next send slot before waiting, so that the site's connections
        // together keep to the rate.
        const auto now = std::chrono::steady_clock::now();
        const auto slot = std::max(st.next_send, now);
        st.next_send = slot + std::chrono::microseconds(static_cast<long long>(60e6 / per_minute));
        if (slot > now) {
          asio::steady_timer t(io_, slot - now);
          co_await t.async_wait(asio::use_awaitable);
        }
      }
      smtp::OutboxMessage m{job.row.id, job.row.nvtgc, job.row.to, job.row.cc, job.row.bcc, job.row.from_addr,
                            job.row.from_name, job.row.reply_to, job.row.subject, job.row.body_text, job.row.body_html,
                            job.row.headers};
      auto built = smtp::build_message(m, *settings, static_cast<long long>(std::time(nullptr)));
      if (built.failure) {
        finish(job, built.failure, nullptr, "", client.peer());
        continue;
      }
      auto done = done_set(job.row.done_rcpts);
      auto& rc = built.message->recipients;
      rc.erase(std::remove_if(rc.begin(), rc.end(), [&](const std::string& a) { return done.count(to_lower(a)) > 0; }), rc.end());
      if (rc.empty()) {
        finish(job, std::nullopt, nullptr, built.message->message_id, client.peer());
        continue;
      }
      const int done_before = client.session().messages_sent();
      auto result = co_await client.send(*built.message);
      if (result.failure && !client.usable() && done_before > 0 && result.recipients.empty() &&
          result.failure->kind == smtp::FailureKind::transient) {
        // The relay dropped a connection we were reusing before it took the sender (idle
        // timeout, per-connection message limit): try this message again on a fresh one.
        st.pending.push_front(std::move(job));
        break;
      }
      if (result.failure && result.failure->kind == smtp::FailureKind::auth)
        st.backoff_until = std::chrono::steady_clock::now() + std::chrono::seconds(conf_.auth_backoff);
      finish(job, result.failure, &result, built.message->message_id, client.peer());
    }
    co_await client.close();
  }
  --st.connections;
  --total_connections_;
  metrics_.connection_closed();
  pump();
}

void Dispatcher::finish(const Job& job, const std::optional<smtp::Failure>& failure, const smtp::MessageResult* result,
                        const std::string& message_id, const std::string& relay) {
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
  o.update = decide(effective, job.row.attempts, std::chrono::seconds(static_cast<long long>(job.row.age_seconds)), conf_, jitter());
  if (!effective && !refused.empty()) o.update.last_error = "refused for good: " + refused;
  if (effective && effective->kind == smtp::FailureKind::transient && !refused.empty())
    o.update.last_error += "; refused for good: " + refused;
  const char* result_word = o.update.status == RowStatus::sent     ? "sent"
                            : o.update.status == RowStatus::failed ? "failed"
                            : o.update.refund_attempt              ? "held"
                                                                   : "deferred";
  const double latency =  // enqueue -> outcome: age at claim plus the time since
      job.row.age_seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - job.claimed_at).count();
  metrics_.delivered(job.row.nvtgc, result_word, latency);
  log::info("delivery", {{"site", job.row.nvtgc}, {"id", std::to_string(job.row.id)}, {"relay", relay},
                         {"result", result_word}, {"attempt", std::to_string(job.row.attempts)},
                         {"delay", std::to_string(latency)},
                         {"reply", o.smtp_reply}, {"error", o.update.last_error}});
  report_(std::move(o));
}

}  // namespace sitemail
