// door_store.cpp — see door_store.hpp.
#include "door_store.hpp"

#include <libpq-fe.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "log.hpp"
#include "pg.hpp"

namespace sitemail::submission {

namespace {

// A group of messages stored with one INSERT (see do_stores).
constexpr std::size_t kRowsPerInsert = 200;
constexpr std::size_t kBytesPerInsert = 64u << 20;

std::string join(const std::vector<std::string>& v) {
  std::string o;
  for (const auto& s : v) o += (o.empty() ? "" : ",") + s;
  return o;
}

Principal principal_of(const std::string& name, const std::string& site, const std::string& senders, const std::string& max) {
  Principal p;
  p.name = name;
  p.site = site;
  std::string err;
  if (auto s = parse_senders(senders, err)) p.senders = *s;
  else p.senders = {"!invalid@invalid"};  // a pattern the CLI would have refused: allow nothing rather than anything
  p.max_per_hour = std::stoi(max);
  return p;
}

}  // namespace

void yield_to_delivery() { static_cast<void>(setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), kDoorNice)); }

const Principal* Directory::network_for(const std::string& ip) const {
  const Principal* best = nullptr;
  int best_prefix = -1;
  for (const auto& [net, p] : networks)
    if (net.prefix > best_prefix && net.contains(ip)) {
      best = &p;
      best_prefix = net.prefix;
    }
  return best;
}

struct DoorStore::Conn {
  std::unique_ptr<PgConn> db;
};

DoorStore::DoorStore(std::string conninfo)
    : conninfo_(std::move(conninfo)), conn_(std::make_unique<Conn>()), dir_(std::make_shared<Directory>()) {}

DoorStore::~DoorStore() { stop(); }

void DoorStore::connect() {
  conn_->db = std::make_unique<PgConn>(conninfo_);
  conn_->db->exec("SET application_name = 'sitemaild submission'");
}

void DoorStore::start() {
  connect();
  reload();
  thread_ = std::thread([this] {
    yield_to_delivery();
    run();
  });
}

void DoorStore::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<const Directory> DoorStore::directory() const {
  std::lock_guard lock(mu_);
  return dir_;
}

void DoorStore::count_last_hour(std::string principal, std::function<void(std::optional<long long>)> done) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(Job{Job::count_job, std::move(principal), {}, std::move(done), nullptr});
  }
  cv_.notify_one();
}

void DoorStore::store(StoreRequest r, std::function<void(StoreOutcome)> done) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(Job{Job::store_job, {}, std::move(r), nullptr, std::move(done)});
  }
  cv_.notify_one();
}

void DoorStore::reload() {
  auto d = std::make_shared<Directory>();
  auto a = conn_->db->exec("SELECT username, nvtgc, password_hash, senders, max_per_hour FROM submission_account");
  for (int i = 0; i < a.rows(); ++i)
    d->accounts[a.get(i, 0)] = Account{principal_of("user:" + a.get(i, 0), a.get(i, 1), a.get(i, 3), a.get(i, 4)), a.get(i, 2)};
  auto n = conn_->db->exec("SELECT cidr::text, nvtgc, senders, max_per_hour FROM submission_network");
  for (int i = 0; i < n.rows(); ++i)
    if (auto c = Cidr::parse(n.get(i, 0)))
      d->networks.emplace_back(*c, principal_of("net:" + c->str(), n.get(i, 1), n.get(i, 2), n.get(i, 3)));
  // One line when something changed (never a hash): operators and tests see the change arrive.
  std::string fingerprint;
  for (int i = 0; i < a.rows(); ++i)
    for (int col = 0; col < 5; ++col) fingerprint += a.get(i, col) + '\x1f';
  for (int i = 0; i < n.rows(); ++i)
    for (int col = 0; col < 4; ++col) fingerprint += n.get(i, col) + '\x1f';
  auto digest = std::hash<std::string>{}(fingerprint);
  if (digest != fingerprint_ || !loaded_) {
    fingerprint_ = digest;
    loaded_ = true;
    log::info("submission_directory",
              {{"accounts", std::to_string(d->accounts.size())}, {"networks", std::to_string(d->networks.size())}});
  }
  std::lock_guard lock(mu_);
  dir_ = std::move(d);
}

void DoorStore::run() {
  auto next_reload = std::chrono::steady_clock::now() + kReloadInterval;
  bool db_ok = true;
  while (true) {
    std::vector<Job> batch;
    {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, next_reload, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty() && stopping_) return;
      // One count, or every store waiting now (group commit).
      if (!jobs_.empty() && jobs_.front().kind == Job::count_job) {
        batch.push_back(std::move(jobs_.front()));
        jobs_.pop_front();
      } else {
        auto take_stores = [&] {
          for (auto it = jobs_.begin(); it != jobs_.end();)
            if (it->kind == Job::store_job) {
              batch.push_back(std::move(*it));
              it = jobs_.erase(it);
            } else {
              ++it;
            }
        };
        take_stores();
        // Group commit: other sessions are about to store (see kGroupWait).
        if (!batch.empty() && static_cast<int>(batch.size()) < open_transactions_) {
          const auto until = std::chrono::steady_clock::now() + kGroupWait;
          while (!stopping_ && static_cast<int>(batch.size()) < open_transactions_ &&
                 cv_.wait_until(lock, until) == std::cv_status::no_timeout)
            take_stores();
          take_stores();
        }
      }
    }
    try {
      if (!db_ok) {
        connect();
        db_ok = true;
        log::info("submission_db", {{"state", "reconnected"}});
      }
      if (std::chrono::steady_clock::now() >= next_reload) {
        reload();
        next_reload = std::chrono::steady_clock::now() + kReloadInterval;
      }
      if (batch.empty()) continue;
      if (batch.front().kind == Job::count_job) {
        do_count(batch.front());
      } else {
        try {
          do_stores(batch);
        } catch (const PgError& e) {
          if (e.connection_lost() || batch.size() == 1) throw;
          // One bad message must not cost the others their acceptance: each alone.
          for (auto& j : batch) {
            std::vector<Job> one(1);
            std::swap(one.front(), j);  // j is left a Job without a callback
            try {
              do_stores(one);
            } catch (const std::exception& e1) {
              one.front().fail();
              auto* pe = dynamic_cast<const PgError*>(&e1);
              if (!pe || pe->connection_lost()) throw;
              log::warn("submission_db", {{"problem", e1.what()}});
            }
          }
        }
      }
    } catch (const std::exception& e) {
      if (db_ok) log::error("submission_db", {{"problem", e.what()}});
      db_ok = false;
      next_reload = std::chrono::steady_clock::now() + kReloadInterval;
      for (auto& j : batch) j.fail();
    }
  }
}

void DoorStore::do_count(Job& j) {
  auto r = conn_->db->exec("SELECT count(*) FROM outbox WHERE submitted_by = $1 AND created_at > now() - interval '1 hour'",
                           {j.principal});
  auto n = r.get_int(0, 0);
  auto done = std::move(j.done);
  done(n);
}

void DoorStore::do_stores(std::vector<Job>& batch) {
  PGconn* c = conn_->db->raw();
  std::vector<long long> ids;
  std::string lost;  // the error of a COMMIT whose connection was lost
  {
    PgTransaction tx(*conn_->db);
    // One INSERT per group of rows (a round trip each, not one per message): groups end at
    // kRowsPerInsert rows or kBytesPerInsert octets of messages (PostgreSQL takes no message
    // over 1 GB; a message larger than the limit goes alone).
    for (std::size_t first = 0; first < batch.size();) {
      std::size_t last = first, bytes = 0;
      while (last < batch.size() && last - first < kRowsPerInsert &&
             (last == first || bytes + batch[last].req.message.size() <= kBytesPerInsert))
        bytes += batch[last++].req.message.size();
      std::string sql = "INSERT INTO outbox (nvtgc, from_addr, to_addrs, raw_message, submitted_by) VALUES ";
      std::vector<std::string> rcpts;
      rcpts.reserve(last - first);  // never reallocated: `values` points into it
      std::vector<const char*> values;
      std::vector<int> lengths, formats;
      for (std::size_t i = first; i < last; ++i) {
        const auto& r = batch[i].req;
        const auto at = [&](int k) { return "$" + std::to_string(5 * (i - first) + static_cast<std::size_t>(k)); };
        sql += (i == first ? "(" : ",(") + at(1) + "," + at(2) + "," + at(3) + "," + at(4) + "::bytea," + at(5) + ")";
        rcpts.push_back(join(r.rcpts));
        values.insert(values.end(),
                      {r.site.c_str(), r.from.c_str(), rcpts.back().c_str(), r.message.data(), r.principal.c_str()});
        lengths.insert(lengths.end(), {0, 0, 0, static_cast<int>(r.message.size()), 0});
        formats.insert(formats.end(), {0, 0, 0, 1, 0});  // raw_message as binary: the bytes as received
      }
      sql += " RETURNING id";
      PgResult res(PQexecParams(c, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), lengths.data(),
                                formats.data(), 0));
      if (res.rows() != static_cast<int>(last - first))
        throw PgError(std::string("storing a submitted message: ") + PQerrorMessage(c));
      // Each row's id comes from the sequence as the rows are inserted, in the order of the
      // VALUES list: ascending ids are the messages in order.
      std::vector<long long> got;
      got.reserve(static_cast<std::size_t>(res.rows()));
      for (int i = 0; i < res.rows(); ++i) got.push_back(res.get_int(i, 0));
      std::sort(got.begin(), got.end());
      ids.insert(ids.end(), got.begin(), got.end());
      first = last;
    }
    try {
      tx.commit();  // any other failure: every requester of this batch is told nothing was stored
    } catch (const PgError& e) {
      if (!e.connection_lost()) throw;
      lost = e.what();
    }
  }  // tx ends here: its ROLLBACK (nothing, after a COMMIT) goes to the connection it began on
  if (!lost.empty()) {
    std::string list;
    for (auto id : ids) list += (list.empty() ? "" : ",") + std::to_string(id);
    const auto outcome = committed(ids);
    log::warn("submission_db", {{"problem", "connection lost during COMMIT: " + lost},
                                {"ids", list},
                                {"outcome", !outcome   ? "unknown: answered 451, a retry may duplicate these rows"
                                            : *outcome ? "committed: answered 250"
                                                       : "not committed: answered 451"}});
    if (!outcome || !*outcome) {
      for (auto& j : batch) j.fail(!outcome);
      if (!outcome) throw PgError("the database cannot be reached after a lost COMMIT");
      return;
    }
  }
  for (std::size_t i = 0; i < batch.size(); ++i) std::exchange(batch[i].stored, nullptr)(StoreOutcome{ids[i], false});
}

std::optional<bool> DoorStore::committed(const std::vector<long long>& ids) {
  std::string arr = "{";
  for (auto id : ids) arr += (arr.size() > 1 ? "," : "") + std::to_string(id);
  arr += "}";
  const auto until = std::chrono::steady_clock::now() + kInDoubtWait;
  while (true) {
    try {
      connect();
      // Row ids come from a sequence: no other transaction can hold these ids. A row answered
      // 250 is never deleted within seconds (delivery keeps it; only retention purges it).
      auto r = conn_->db->exec("SELECT count(*) FROM outbox WHERE id = ANY($1::bigint[])", {arr});
      return r.get_int(0, 0) > 0;
    } catch (const std::exception& e) {
      if (std::chrono::steady_clock::now() >= until) return std::nullopt;
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
      if (stopping_) return std::nullopt;
    }
  }
}

}  // namespace sitemail::submission
