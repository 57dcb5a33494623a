// door_store.hpp — the submission door's own database thread and connection (never the
// delivery engine's): it keeps a snapshot of the accounts and trusted networks (re-read every
// kReloadInterval, so changes reach a running daemon within seconds without a reload),
// counts a principal's messages of the last hour, and stores accepted messages as outbox rows
// with group commit: every store request waiting when a transaction starts goes into it, and
// each requester learns its row id only after COMMIT (or nothing, when it failed).
// Results come back through callbacks that the caller posts to its own executor.
#pragma once
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "policy.hpp"

namespace sitemail::submission {

struct Principal {
  std::string name;  // "user:app1" / "net:192.0.2.0/24": what outbox.submitted_by holds
  std::string site;
  std::vector<std::string> senders;  // empty = any
  int max_per_hour = 0;              // 0 = no limit
};

struct Account {
  Principal principal;
  std::string password_hash;
};

struct Directory {
  std::map<std::string, Account> accounts;  // by user name
  std::vector<std::pair<Cidr, Principal>> networks;
  // The most specific trusted network holding `ip`, or null.
  [[nodiscard]] const Principal* network_for(const std::string& ip) const;
};

struct StoreRequest {
  std::string site, principal, from;
  std::vector<std::string> rcpts;
  std::string message;
};

class DoorStore {
 public:
  static constexpr auto kReloadInterval = std::chrono::seconds(2);
  explicit DoorStore(std::string conninfo);
  ~DoorStore();
  DoorStore(const DoorStore&) = delete;
  DoorStore& operator=(const DoorStore&) = delete;

  // Connects and loads the directory once (throws PgError/runtime_error), then runs the thread.
  void start();
  void stop();  // finishes what is queued, then the thread ends
  [[nodiscard]] std::shared_ptr<const Directory> directory() const;

  // Messages `principal` stored in the last hour; nullopt when the database failed.
  void count_last_hour(std::string principal, std::function<void(std::optional<long long>)> done);
  // The committed row id, or nullopt when nothing was stored.
  void store(StoreRequest r, std::function<void(std::optional<long long>)> done);

 private:
  struct Job {
    enum Kind { count_job, store_job } kind = count_job;
    std::string principal;
    StoreRequest req;
    std::function<void(std::optional<long long>)> done;
  };
  void run();
  void reload();
  void connect();
  void do_count(Job& j);
  void do_stores(std::vector<Job>& batch);

  std::string conninfo_;
  struct Conn;
  std::unique_ptr<Conn> conn_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::shared_ptr<const Directory> dir_;
  std::size_t fingerprint_ = 0;  // of the last directory read (DB thread only)
  bool loaded_ = false;
  std::thread thread_;
};

}  // namespace sitemail::submission
