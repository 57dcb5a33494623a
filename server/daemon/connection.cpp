// connection.cpp — one SMTP connection of the Dispatcher (delivery.hpp): open it (with the
// overall [delivery] transaction_deadline on top of the per-read Timeout), carry the
// site's mail one message at a time, wait for more while no starved site needs the slot, and always end with QUIT + TLS close.
// Whatever happens inside, including an exception, the connection ends through on_connection_end(), which settles the message it
// was carrying and frees the slot.
#include <set>

#include "delivery.hpp"
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
}  // namespace

void Dispatcher::spawn(const std::string& route, SlotScheduler::ConnId id) {
  auto cs = std::make_shared<ConnState>();
  cs->id = id;
  cs->route = route;
  routes_[route].conns[id] = cs;
  metrics_.connection_opened();
  asio::co_spawn(io_, connection(cs), [this, cs](const std::exception_ptr& e) { on_connection_end(cs, e); });
}

void Dispatcher::on_connection_end(const std::shared_ptr<ConnState>& cs, const std::exception_ptr& e) {
  auto& st = routes_[cs->route];
  if (e) {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      what = ex.what();
    } catch (...) {
    }
    log::error("connection",
               {{"site", cs->current ? cs->current->row.nvtgc : cs->label}, {"problem", "internal error: " + what}});
    if (cs->current)
      finish(*cs->current, smtp::Failure{smtp::FailureKind::transient, smtp::Stage::message, "internal error: " + what, {}, 0},
             nullptr, "", "");
  } else if (cs->current) {  // taken from the queue but not started (stopping): back to the queue
    release(*cs->current);
  }
  if (cs->ahead) release(*cs->ahead);  // its envelope went out, its content never did
  cs->current.reset();
  cs->ahead.reset();
  st.conns.erase(cs->id);
  sched_.release(cs->route, cs->id);
  // A route nobody uses any more (its sites were reloaded into a new one): forget it.
  if (st.conns.empty() && st.pending.empty() && st.suspended_until <= Clock::now()) {
    with_mail_.erase(cs->route);
    sched_.satisfied(cs->route);
    routes_.erase(cs->route);
  }
  metrics_.connection_closed();
  check_shutdown();
  pump();
}

asio::awaitable<void> Dispatcher::connection(std::shared_ptr<ConnState> cs) {
  auto& st = routes_[cs->route];
  if (st.pending.empty() || stopping_) co_return;
  cs->current = std::move(st.pending.front());
  st.pending.pop_front();
  // The session is set up with the first message's site settings; every site of the route
  // has the same connection identity (tenants/connection_route.hpp).
  const std::string site = cs->current->row.nvtgc;
  cs->label = site;
  auto settings = cs->current->site->settings;
  if (!st.tls_built) {  // once per route (a route belongs to one configuration load), only when TLS is used
    st.tls = settings->tls == TlsMode::none ? nullptr : smtp::make_tls_setup(*settings, conf_.config_dir);
    st.tls_built = true;
  }
  const std::chrono::seconds deadline(conf_.transaction_deadline);
  smtp::Client client(io_.get_executor(), settings, st.tls, false,
                      tokens_.for_site(site, settings));  // oauth: one site per route
  client.set_deadline(deadline);
  client.set_content_source(content_);
  if (auto failed = co_await client.open()) {
    Job job = std::move(*cs->current);
    cs->current.reset();
    finish(job, failed, nullptr, "", client.peer());  // the message that was tried spends its attempt
    opened_failed(st, site, *failed, client.peer());
    co_await client.close();
    co_return;
  }
  st.failures = 0;
  int carried = 0;
  const char* why = "stopping";
  std::unique_ptr<Prepared> ahead;  // the next message, its envelope already on the wire
  while (true) {
    std::unique_ptr<Prepared> cur = std::move(ahead);
    if (!cur) {
      if (!cs->current || stopping_) break;
      Job job = std::move(*cs->current);
      cs->current.reset();
      co_await pace(st, job);
      cur = prepare(std::move(job), client.peer());  // null: settled at once
    }
    if (cur) {
      client.set_deadline(deadline);
      // No next message rides along when this connection is about to hand its slot over.
      const bool last = sched_.would_yield(cs->route, cs->id, carried + 1);
      const bool again = co_await carry(client, st, *cs, std::move(cur), ahead, !last);
      client.set_deadline(std::chrono::seconds(0));
      ++carried;
      if (!again || !client.usable()) {
        why = stopping_ ? "stopping" : "unusable";
        break;
      }
      if (ahead) continue;  // on the wire: it goes next, whatever else happens
    }
    if (stopping_) break;
    if (sched_.yield(cs->route, cs->id, carried)) {  // a starved site waits: hand the slot over
      why = "yielded";
      break;
    }
    if (st.pending.empty()) {
      // Wait for more of the site's mail, unless a starved site needs this slot now.
      asio::steady_timer idle(io_, kIdleKeep);
      cs->idle_timer = &idle;
      sched_.idle(cs->route, cs->id, Clock::now());
      make_room();  // may pick this very connection
      if (!sched_.evicted(cs->id)) {
        boost::system::error_code ec;
        co_await idle.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      cs->idle_timer = nullptr;
      sched_.busy(cs->route, cs->id);
      // evicted for a starved site (even if mail of this site came meanwhile), idle too long, or stopping
      if (sched_.evicted(cs->id) || st.pending.empty() || stopping_) {
        why = sched_.evicted(cs->id) ? "evicted" : stopping_ ? "stopping" : "idle";
        break;
      }
    }
    cs->current = std::move(st.pending.front());
    st.pending.pop_front();
  }
  log::debug("connection_closed",
             {{"site", site}, {"relay", client.peer()}, {"messages", std::to_string(carried)}, {"reason", why}});
  co_await client.close();  // QUIT and TLS close_notify, bounded
}

// MaxMessagesPerMinute: waits for the site's next send slot.
asio::awaitable<void> Dispatcher::pace(RouteState& st, const Job& job) {
  const double per_minute = static_cast<double>(job.site->settings->number(Setting::MaxMessagesPerMinute));
  if (per_minute <= 0) co_return;
  // Reserve the next send slot before waiting, so the site's connections together keep the rate.
  const auto now = Clock::now();
  const auto slot = std::max(st.next_send, now);
  st.next_send = slot + std::chrono::microseconds(static_cast<long long>(60e6 / per_minute));
  if (slot > now) {
    asio::steady_timer t(io_, slot - now);
    co_await t.async_wait(asio::use_awaitable);
  }
}

// Builds the message of `job` with its own site's settings; null when it was settled at
// once (it cannot be built, or every recipient already has it).
std::unique_ptr<Dispatcher::Prepared> Dispatcher::prepare(Job job, const std::string& relay) {
  if (!job.row.attachment_error.empty()) {
    finish(job, smtp::Failure{smtp::FailureKind::permanent, smtp::Stage::message, job.row.attachment_error, {}, 0}, nullptr, "",
           relay);
    return nullptr;
  }
  auto m = smtp::outbox_row(job.row.id, job.row.nvtgc, job.row.to, job.row.cc, job.row.bcc, job.row.from_addr, job.row.from_name,
                            job.row.reply_to, job.row.subject, job.row.body_text, job.row.body_html, job.row.headers);
  m.attachments = job.row.attachments;
  m.has_raw = job.row.has_raw;
  m.raw_head = job.row.raw_head;
  m.raw_size = job.row.raw_size;
  auto built = smtp::build_message(m, *job.site->settings, static_cast<long long>(std::time(nullptr)));
  if (built.failure) {
    finish(job, built.failure, nullptr, "", relay);
    return nullptr;
  }
  auto done = done_set(job.row.done_rcpts);
  auto& rc = built.message->recipients;
  rc.erase(std::remove_if(rc.begin(), rc.end(), [&](const std::string& a) { return done.count(to_lower(a)) > 0; }), rc.end());
  if (rc.empty()) {
    finish(job, std::nullopt, nullptr, built.message->message_id, relay);
    return nullptr;
  }
  return std::make_unique<Prepared>(Prepared{std::move(job), std::move(*built.message)});
}

// Sends one message on an open connection; false when the connection cannot go on. When
// the relay pipelines and nothing paces the site, the next message of the route rides
// along: its envelope goes out with this message's content (`ahead`), so it must be the
// next one carried; if the connection cannot go on, it goes back to the queue unspent.
asio::awaitable<bool> Dispatcher::carry(smtp::Client& client, RouteState& st, ConnState& cs, std::unique_ptr<Prepared> cur,
                                        std::unique_ptr<Prepared>& ahead, bool may_prefetch) {
  const Job& job = cur->job;
  cs.current = job;  // until settled, the completion handler owns its outcome
  cs.ahead.reset();
  std::unique_ptr<Prepared> next;
  if (may_prefetch && !stopping_ && !st.pending.empty() && client.session().capabilities().pipelining &&
      job.site->settings->number(Setting::MaxMessagesPerMinute) == 0) {
    Job j2 = std::move(st.pending.front());
    st.pending.pop_front();
    next = prepare(std::move(j2), client.peer());
  }
  const int done_before = client.session().messages_sent();
  auto result = co_await client.send(cur->msg, next ? &next->msg : nullptr);
  cs.current.reset();
  if (next) {
    if (client.session().prefetched(next->msg)) {
      cs.ahead = next->job;
      ahead = std::move(next);
    } else {
      queue(std::move(next->job), true);  // not sent: back to the front of the queue
    }
  }
  const auto requeue_ahead = [&] {
    if (!ahead) return;
    cs.ahead.reset();
    queue(std::move(ahead->job), true);
    ahead.reset();
  };
  const std::size_t rcpts = cur->msg.recipients.size();
  if (result.failure && !client.usable() && done_before > 0 && result.recipients.empty() &&
      result.failure->kind == smtp::FailureKind::transient) {
    // The relay dropped a connection we were reusing before it took the sender (idle
    // timeout, per-connection message limit): try this message again on a fresh one.
    requeue_ahead();
    queue(std::move(cur->job), true);
    co_return false;
  }
  if (result.failure && result.failure->kind == smtp::FailureKind::auth) {
    requeue_ahead();  // deferred with the rest of the route's mail
    finish(job, result.failure, &result, cur->msg.message_id, client.peer(), rcpts);
    opened_failed(st, job.row.nvtgc, *result.failure, client.peer());
    co_return false;
  }
  finish(job, result.failure, &result, cur->msg.message_id, client.peer(), rcpts);
  if (!client.usable()) requeue_ahead();
  co_return client.usable();
}

}  // namespace sitemail
