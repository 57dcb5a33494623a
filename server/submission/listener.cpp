// listener.cpp — see listener.hpp.
#include "listener.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <future>
#include <set>
#include <thread>

#include "asio.hpp"
#include "deadline.hpp"
#include "dialogue.hpp"
#include "door_store.hpp"
#include "log.hpp"
#include "metrics.hpp"
#include "password_hash.hpp"

namespace sitemail::submission {

namespace {

constexpr auto kIdleTimeout = std::chrono::minutes(5);  // CONTRACT §9: silent 5 minutes -> 421

// The tests shorten the idle limit with SITEMAIL_TEST_SUBMISSION_IDLE_SECONDS (1-300); nothing else reads it.
std::chrono::seconds idle_timeout() {
  if (const char* v = std::getenv("SITEMAIL_TEST_SUBMISSION_IDLE_SECONDS")) {
    int n = std::atoi(v);
    if (n >= 1 && n <= 300) return std::chrono::seconds(n);
  }
  return kIdleTimeout;
}
constexpr auto kHandshakeTimeout = std::chrono::seconds(30);
constexpr auto kWriteTimeout = std::chrono::minutes(5);
constexpr std::size_t kReadBuffer = 16 * 1024;
constexpr auto kShutdownWait = std::chrono::seconds(5);
// The door is full (max_connections reached, or a connection refused for it, within the last
// kStressWindow): every time limit of every session is at most kStressLimit, so clients that
// drip a line a byte at a time, flood one without its end or never read cannot keep the
// places from clients that talk (Postfix's overload rule, smtpd_timeout 10s with a limit per
// line rather than per read).
constexpr auto kStressLimit = std::chrono::seconds(10);
constexpr auto kStressWindow = std::chrono::seconds(60);
// Octets of messages being received, all sessions together: beyond it a message is refused
// with 452 4.3.1 (the client retries) instead of the daemon growing without bound. At least
// two messages of max_message_size always fit.
constexpr std::size_t kDataBudget = 256u << 20;
// Connections refused in one turn of the io loop while the door is full (see accept_loop).
constexpr int kRefuseBatch = 256;

using ssl_stream = asio::ssl::stream<tcp::socket&>;

std::string host_name() {
  char h[256] = {};
  if (gethostname(h, sizeof h - 1) != 0 || !*h) return "localhost";
  return h;
}

std::size_t descriptor_cap(std::size_t wanted) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return wanted;
  return std::clamp<std::size_t>(static_cast<std::size_t>(rl.rlim_cur / 2), 1, wanted);
}

// Waits on the io thread for a result produced on another thread.
template <class T>
struct Waiter {
  explicit Waiter(const asio::any_io_executor& ex) : timer(ex, std::chrono::steady_clock::time_point::max()) {}
  asio::steady_timer timer;
  T value{};
  bool done = false;
  // Callable from any thread.
  static void deliver(const std::shared_ptr<Waiter>& w, T v) {
    asio::post(w->timer.get_executor(), [w, v = std::move(v)]() mutable {
      w->value = std::move(v);
      w->done = true;
      w->timer.cancel();
    });
  }
  asio::awaitable<T> wait() {
    boost::system::error_code ec;
    while (!done) co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return value;
  }
};

bool out_of_descriptors(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system ||
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

}  // namespace

struct SubmissionServer::Impl {
  Impl(const DaemonConf& c, Metrics& m) : conf(c), metrics(m), store(c.database_url), hostname(host_name()), pool(2) {}

  // Declared before io: the sessions' frames (destroyed with io) still touch them.
  const DaemonConf conf;
  Metrics& metrics;
  DoorStore store;
  std::string hostname;
  std::string dummy_hash;  // verified for unknown users, so a probe cannot tell them by time
  std::size_t cap = 0;
  std::chrono::seconds idle = idle_timeout();
  std::unique_ptr<asio::ssl::context> tls;
  // io thread only:
  std::size_t open = 0;
  bool stopping = false;
  AuthThrottle throttle;
  std::map<std::string, int> inflight;  // principal -> messages between MAIL FROM and their row
  std::set<tcp::socket*> sockets;
  std::set<Deadline*> deadlines;
  std::chrono::steady_clock::time_point last_full{};  // the door was full (see kStressLimit)
  bool ever_full = false;
  std::size_t data_bytes = 0;  // held by all sessions' dialogues (see kDataBudget)
  std::size_t data_budget = kDataBudget;
  bool stopped = false;
  asio::io_context io{1};
  asio::thread_pool pool;  // scrypt checks: never on the io thread
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::thread thread;

  void listen(const std::string& list, bool implicit_tls);
  asio::awaitable<void> accept_loop(tcp::acceptor& a, bool implicit_tls);
  asio::awaitable<void> serve(tcp::socket sock, bool implicit_tls);
  void reject(tcp::socket& s);
  [[nodiscard]] bool stressed() const { return ever_full && std::chrono::steady_clock::now() - last_full < kStressWindow; }
  [[nodiscard]] std::chrono::steady_clock::time_point due(const Deadline& d) const {
    return d.start + (stressed() ? std::min<std::chrono::steady_clock::duration>(d.limit, kStressLimit) : d.limit);
  }
  // The door is full now: from here on (and for every wait under way) the short limits.
  void full() {
    const bool was = stressed();
    last_full = std::chrono::steady_clock::now();
    ever_full = true;
    if (was) return;
    log::warn("submission", {{"problem", "door full (" + std::to_string(cap) +
                                             " connections): every session's time limits are 10 s for a minute"}});
    for (auto* d : deadlines)
      if (d->armed()) d->arm(due(*d));
  }
};

void SubmissionServer::Impl::listen(const std::string& list, bool implicit_tls) {
  std::vector<ListenAddress> addrs;
  std::string err;
  if (!parse_listen_list(list, addrs, err)) throw std::runtime_error(err);
  for (const auto& a : addrs) {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(a.host, ec);
    if (ec) throw std::runtime_error("'" + a.host + "' is not an IP address");
    tcp::endpoint ep(addr, static_cast<std::uint16_t>(a.port));
    auto acc = std::make_unique<tcp::acceptor>(io);
    acc->open(ep.protocol());
    acc->set_option(tcp::acceptor::reuse_address(true));
    acc->bind(ep, ec);
    if (ec) throw std::runtime_error("cannot listen on " + a.host + ":" + std::to_string(a.port) + ": " + ec.message());
    acc->listen(asio::socket_base::max_listen_connections);
    acc->non_blocking(true);  // accept() in accept_loop's batch returns would_block, never waits
    asio::co_spawn(io, accept_loop(*acc, implicit_tls), asio::detached);
    log::info("submission_listen", {{"listen", a.host + ":" + std::to_string(a.port)},
                                    {"tls", implicit_tls ? "implicit" : (tls ? "starttls" : "none")}});
    acceptors.push_back(std::move(acc));
  }
}

void SubmissionServer::Impl::reject(tcp::socket& s) {
  full();
  metrics.submission_session("", "refused");
  static const std::string kBusy = "421 4.3.2 Too many connections; try again later\r\n";
  boost::system::error_code ec;
  s.non_blocking(true, ec);
  s.write_some(asio::buffer(kBusy), ec);
  s.close(ec);
}

asio::awaitable<void> SubmissionServer::Impl::accept_loop(tcp::acceptor& a, bool implicit_tls) {
  auto backoff = std::chrono::milliseconds(50);
  asio::steady_timer wait(io);
  while (true) {
    boost::system::error_code ec;
    tcp::socket s = co_await a.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || stopping) co_return;
    if (ec) {
      if (out_of_descriptors(ec)) log::warn("submission", {{"problem", "accept: " + ec.message()}});
      wait.expires_after(backoff);
      co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
      continue;
    }
    backoff = std::chrono::milliseconds(50);
    if (open >= cap) {
      reject(s);
      // The door is full: refuse the rest of the listen queue in this same turn, so a flood
      // of connections costs one pass of the io loop per batch, not one per connection, and
      // the queue drains before the kernel starts dropping handshakes.
      for (int i = 0; i < kRefuseBatch && !ec && open >= cap; ++i) {
        tcp::socket more = a.accept(ec);
        if (!ec) reject(more);
      }
      continue;
    }
    ++open;
    if (open >= cap) full();
    metrics.submission_connection_opened();
    asio::co_spawn(io, serve(std::move(s), implicit_tls), [this](const std::exception_ptr& e) {
      --open;
      metrics.submission_connection_closed();
      if (e) try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          log::error("submission", {{"problem", ex.what()}});
        }
    });
  }
}

asio::awaitable<void> SubmissionServer::Impl::serve(tcp::socket sock, bool implicit_tls) {
  boost::system::error_code ec;
  const auto remote = sock.remote_endpoint(ec);
  std::string ip = ec ? "unknown" : remote.address().to_string();
  if (!ec && remote.address().is_v6() && remote.address().to_v6().is_v4_mapped())
    ip = asio::ip::make_address_v4(asio::ip::v4_mapped, remote.address().to_v6()).to_string();
  const auto local = sock.local_endpoint(ec);
  const bool loopback = !ec && local.address().is_loopback();
  sockets.insert(&sock);
  struct Unregister {
    std::set<tcp::socket*>& s;
    tcp::socket* p;
    ~Unregister() { s.erase(p); }
  } unregister{sockets, &sock};

  std::optional<Principal> network;
  if (const auto* n = store.directory()->network_for(ip)) network = *n;
  std::optional<Principal> principal = network;  // an authenticated account replaces it
  std::string user;

  Deadline deadline(io.get_executor(), sock);
  deadlines.insert(&deadline);
  struct UnregisterDeadline {
    std::set<Deadline*>& s;
    Deadline* p;
    ~UnregisterDeadline() { s.erase(p); }
  } unregister_deadline{deadlines, &deadline};
  const bool& timed_out = deadline.flags->timed_out;
  // A limit of `limit` from `from` (now, unless a line already began earlier).
  auto arm = [&](std::chrono::steady_clock::duration limit,
                 std::chrono::steady_clock::time_point from = std::chrono::steady_clock::now()) {
    deadline.flags->timed_out = false;
    deadline.start = from;
    deadline.limit = limit;
    deadline.arm(due(deadline));
  };
  auto line_start = std::chrono::steady_clock::now();
  std::uint64_t lines_at_start = 0;
  std::unique_ptr<ssl_stream> tls_stream;
  if (implicit_tls) {
    tls_stream = std::make_unique<ssl_stream>(sock, *tls);
    arm(kHandshakeTimeout);
    co_await tls_stream->async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
    deadline.cancel();
    if (ec) {
      log::info("submission_session", {{"peer", ip}, {"end", "tls_failed"}, {"problem", ec.message()}});
      metrics.submission_session("", "refused");
      co_return;
    }
  }

  DialogueParams p;
  p.hostname = hostname;
  p.max_message_size = static_cast<std::size_t>(conf.submission_max_message_size);
  p.max_recipients = static_cast<std::size_t>(conf.submission_max_recipients);
  p.starttls_available = tls != nullptr;
  p.tls_active = implicit_tls;
  p.loopback = loopback;
  p.trusted = network.has_value();
  p.peer_ip = ip;
  Dialogue d(p);

  std::string reserved;  // principal holding an inflight slot for the current transaction
  auto release = [&] {
    if (reserved.empty()) return;
    if (--inflight[reserved] <= 0) inflight.erase(reserved);
    reserved.clear();
    store.transaction_closed();
  };
  int accepted = 0;
  std::string end = "quit";
  std::vector<char> buf(kReadBuffer);
  bool done = false;
  int refused_seen = 0;  // messages the dialogue refused (policy, size, lines, bare CR/LF), counted once each
  std::size_t held = 0;  // this session's share of data_bytes
  struct ReleaseHeld {
    std::size_t& total;
    std::size_t& mine;
    ~ReleaseHeld() { total -= mine; }
  } release_held{data_bytes, held};
  auto account_data = [&] {
    auto now = d.buffered();
    if (now > held && data_bytes + (now - held) > data_budget) {
      d.refuse_storage();
      now = d.buffered();
    }
    data_bytes = data_bytes - held + now;
    held = now;
  };
  while (!done) {
    account_data();
    for (; refused_seen < d.refused_messages(); ++refused_seen)
      metrics.submission_message(principal ? principal->site : "", "refused");
    if (stopping && d.next() == Dialogue::Action::read) d.shutdown();
    switch (d.next()) {
      case Dialogue::Action::write: {
        auto out = d.take_output();
        arm(kWriteTimeout);
        if (tls_stream) co_await asio::async_write(*tls_stream, asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec));
        else co_await asio::async_write(sock, asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec));
        deadline.cancel();
        if (ec) {
          end = timed_out ? "write_timeout" : "write_error";
          done = true;
        }
        break;
      }
      case Dialogue::Action::read: {
        // The limit runs from the line's first octet: dripping it does not extend it.
        if (!d.mid_line() || d.lines() != lines_at_start) {
          line_start = std::chrono::steady_clock::now();
          lines_at_start = d.lines();
        }
        arm(idle, line_start);
        std::size_t n = 0;
        if (tls_stream)
          n = co_await tls_stream->async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
        else n = co_await sock.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
        deadline.cancel();
        if (timed_out) {
          end = "timeout";
          d.on_timeout();
        } else if (ec == asio::error::operation_aborted && stopping) {
          end = "shutdown";
          d.shutdown();
        } else if (ec) {
          if (end == "quit") end = ec == asio::error::eof ? "eof" : "error";
          d.on_eof();
        } else {
          d.on_bytes(std::string_view(buf.data(), n));
          static_cast<void>(d.next());  // take in what was read, then count what the message now holds
          account_data();
        }
        break;
      }
      case Dialogue::Action::authenticate: {
        const auto now = Clock::now();
        if (throttle.locked(ip, now)) {
          metrics.submission_auth_failure();
          log::warn("submission_auth", {{"peer", ip}, {"user", d.user()}, {"result", "throttled"}});
          d.auth_done(AuthVerdict::throttled);
          break;
        }
        auto dir = store.directory();
        auto it = dir->accounts.find(d.user());
        const std::string hash = it == dir->accounts.end() ? dummy_hash : it->second.password_hash;
        auto w = std::make_shared<Waiter<bool>>(io.get_executor());
        asio::post(pool, [w, pw = d.password(), hash]() mutable {
          bool ok = accounts::verify_password(pw, hash);
          std::fill(pw.begin(), pw.end(), '\0');
          Waiter<bool>::deliver(w, ok);
        });
        bool ok = co_await w->wait() && it != dir->accounts.end();
        if (ok) {
          principal = it->second.principal;
          user = d.user();
          log::info("submission_auth", {{"peer", ip}, {"user", user}, {"site", principal->site}, {"result", "ok"}});
          d.auth_done(AuthVerdict::ok);
        } else {
          throttle.failure(ip, Clock::now());
          metrics.submission_auth_failure();
          log::warn("submission_auth", {{"peer", ip}, {"user", d.user()}, {"result", "failed"}});
          d.auth_done(AuthVerdict::bad);
        }
        break;
      }
      case Dialogue::Action::check_sender: {
        release();
        // The newest policy: an account or network changed since the session began counts now.
        auto dir = store.directory();
        std::optional<Principal> now_p;
        if (d.authenticated()) {
          if (auto it = dir->accounts.find(user); it != dir->accounts.end()) now_p = it->second.principal;
        } else if (const auto* n = dir->network_for(ip)) {
          now_p = *n;
        }
        if (!now_p) {
          d.sender_done(SenderVerdict::refused);
          break;
        }
        principal = now_p;
        if (!sender_allowed(principal->senders, d.mail_from())) {
          log::info("submission_refused", {{"peer", ip},
                                           {"user", user.empty() ? "-" : user},
                                           {"site", principal->site},
                                           {"from", d.mail_from()},
                                           {"reason", "sender not allowed"}});
          d.sender_done(SenderVerdict::refused);
          break;
        }
        if (principal->max_per_hour > 0) {
          auto w = std::make_shared<Waiter<std::optional<long long>>>(io.get_executor());
          store.count_last_hour(principal->name,
                                [w](std::optional<long long> n) { Waiter<std::optional<long long>>::deliver(w, n); });
          auto n = co_await w->wait();
          if (!n) {
            d.sender_done(SenderVerdict::temporary);
            break;
          }
          auto pending = inflight.count(principal->name) ? inflight[principal->name] : 0;
          if (*n + pending >= principal->max_per_hour) {
            log::info("submission_refused", {{"peer", ip},
                                             {"user", user.empty() ? "-" : user},
                                             {"site", principal->site},
                                             {"reason", "max_per_hour " + std::to_string(principal->max_per_hour)}});
            d.sender_done(SenderVerdict::rate_limited);
            break;
          }
        }
        reserved = principal->name;
        ++inflight[reserved];
        store.transaction_opened();
        d.sender_done(SenderVerdict::ok);
        break;
      }
      case Dialogue::Action::store: {
        StoreRequest r{principal->site, principal->name, d.mail_from(), d.recipients(), d.message()};
        const auto size = d.data_size();
        const auto rcpts = d.recipients().size();
        auto w = std::make_shared<Waiter<StoreOutcome>>(io.get_executor());
        store.store(std::move(r), [w](StoreOutcome o) { Waiter<StoreOutcome>::deliver(w, o); });
        const auto outcome = co_await w->wait();
        const auto& id = outcome.id;
        release();
        if (id) {
          ++accepted;
          metrics.submission_message(principal->site, "accepted");
          log::info("submission", {{"user", user.empty() ? "-" : user},
                                   {"site", principal->site},
                                   {"id", std::to_string(*id)},
                                   {"size", std::to_string(size)},
                                   {"rcpts", std::to_string(rcpts)},
                                   {"peer", ip},
                                   {"network", user.empty() && network ? network->name.substr(4) : ""}});
          d.stored(*id);
        } else {
          metrics.submission_message(principal->site, "failed");
          d.store_failed(outcome.in_doubt);
        }
        break;
      }
      case Dialogue::Action::start_tls: {
        tls_stream = std::make_unique<ssl_stream>(sock, *tls);
        arm(kHandshakeTimeout);
        co_await tls_stream->async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
        deadline.cancel();
        if (ec) {
          end = "tls_failed";
          done = true;
          break;
        }
        d.tls_started();
        break;
      }
      case Dialogue::Action::close: done = true; break;
    }
  }
  release();
  for (; refused_seen < d.refused_messages(); ++refused_seen)
    metrics.submission_message(principal ? principal->site : "", "refused");
  if (tls_stream && end != "tls_failed" && end != "error" && end != "write_error") {
    arm(std::chrono::seconds(5));
    co_await tls_stream->async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
    deadline.cancel();
  }
  sock.shutdown(tcp::socket::shutdown_both, ec);
  sock.close(ec);
  const std::string site = principal ? principal->site : "";
  metrics.submission_session(site, principal ? "accepted" : "unidentified");
  log::info("submission_session", {{"peer", ip},
                                   {"user", user.empty() ? "-" : user},
                                   {"site", site.empty() ? "-" : site},
                                   {"tls", d.tls_active() ? "yes" : "no"},
                                   {"messages", std::to_string(accepted)},
                                   {"refused", std::to_string(d.refused_messages())},
                                   {"end", end}});
}

SubmissionServer::SubmissionServer(const DaemonConf& conf, Metrics& metrics) : impl_(std::make_unique<Impl>(conf, metrics)) {}

SubmissionServer::~SubmissionServer() { stop(); }

void SubmissionServer::start() {
  auto& m = *impl_;
  const auto& c = m.conf;
  if (c.submission_tls_cert.empty() != c.submission_tls_key.empty())
    throw std::runtime_error("[submission] tls_cert and tls_key must be set together");
  if (!c.submission_tls_listen.empty() && c.submission_tls_cert.empty())
    throw std::runtime_error("[submission] tls_listen needs tls_cert and tls_key");
  if (!c.submission_tls_cert.empty()) {
    m.tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    m.tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                       asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
    boost::system::error_code ec;
    m.tls->use_certificate_chain_file(c.submission_tls_cert, ec);
    if (ec) throw std::runtime_error("[submission] tls_cert " + c.submission_tls_cert + ": " + ec.message());
    m.tls->use_private_key_file(c.submission_tls_key, asio::ssl::context::pem, ec);
    if (ec) throw std::runtime_error("[submission] tls_key " + c.submission_tls_key + ": " + ec.message());
  }
  m.cap = descriptor_cap(static_cast<std::size_t>(c.submission_max_connections));
  m.data_budget = std::max(kDataBudget, 2 * static_cast<std::size_t>(c.submission_max_message_size));
  m.dummy_hash = accounts::hash_password("sitemail: no such user");
  m.store.start();
  m.listen(c.submission_listen, false);
  m.listen(c.submission_tls_listen, true);
  m.thread = std::thread([&m] {
    yield_to_delivery();
    m.io.run();
  });
}

void SubmissionServer::stop() {
  auto& m = *impl_;
  if (m.stopped) return;
  m.stopped = true;
  if (m.thread.joinable()) {
    asio::post(m.io, [&m] {
      m.stopping = true;
      boost::system::error_code ec;
      for (auto& a : m.acceptors) a->close(ec);
      for (auto* s : m.sockets) s->cancel(ec);  // readers wake up and answer 421
    });
    // Sessions storing a message get their answer first; then everything ends.
    auto until = std::chrono::steady_clock::now() + kShutdownWait;
    while (std::chrono::steady_clock::now() < until) {
      // Shared: when the io thread is late, the handler may run after this turn of the loop.
      auto open = std::make_shared<std::promise<std::size_t>>();
      auto f = open->get_future();
      asio::post(m.io, [&m, open] { open->set_value(m.open); });
      if (f.wait_for(std::chrono::seconds(1)) != std::future_status::ready || f.get() == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    m.io.stop();
    m.thread.join();
  }
  m.pool.join();
  m.store.stop();
}

}  // namespace sitemail::submission
