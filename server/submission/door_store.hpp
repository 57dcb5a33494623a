// door_store.hpp — the submission door's own database thread and connection (never the
// delivery engine's): it keeps a snapshot of the accounts and trusted networks (re-read every
// kReloadInterval, so changes reach a running daemon within seconds without a reload),
// counts a principal's messages of the last hour, and stores accepted messages as outbox rows
// with group commit: every store request waiting when a transaction starts goes into it (one
// INSERT per group), after a wait of up to kGroupWait for sessions about to store, and
// each requester learns its row id only after COMMIT (or nothing, when it failed). When the
// connection is lost during COMMIT, the outcome is learned before anyone is answered: the
// rows' ids came from INSERT ... RETURNING, so after reconnecting, whether those ids exist
// says whether the transaction committed (250) or not (451); only when the database cannot
// be reached again within kInDoubtWait is the outcome unknown (451, logged with the ids).
// Results come back through callbacks that the caller posts to its own executor.
#pragma once
#include <atomic>
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
#include <utility>
#include <vector>

#include "policy.hpp"

namespace sitemail::submission {

// The door's threads run at a lower priority than delivery (nice kDoorNice; on Linux the
// nice value is per thread): when the CPUs are busy, mail already queued goes out first and
// the door takes new mail with the rest; on an idle machine the door runs at full speed.
// Called first thing by each of the door's threads.
inline constexpr int kDoorNice = 10;
void yield_to_delivery();

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

// What became of a stored message.
struct StoreOutcome {
  std::optional<long long> id;  // the committed row; nullopt: not stored
  bool in_doubt = false;        // nullopt because the outcome of COMMIT could not be learned
};

struct StoreRequest {
  std::string site, principal, from;
  std::vector<std::string> rcpts;
  std::string message;
};

class DoorStore {
 public:
  static constexpr auto kReloadInterval = std::chrono::seconds(2);
  // How long the outcome of a COMMIT whose connection was lost is sought (reconnecting).
  static constexpr auto kInDoubtWait = std::chrono::seconds(30);
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
  // The committed row id, or nullopt when nothing was stored (or, in_doubt, perhaps stored).
  void store(StoreRequest r, std::function<void(StoreOutcome)> done);
  // Sessions between an accepted MAIL FROM and their message's store request (or its end):
  // while more of them are open than requests wait, a transaction waits up to kGroupWait for
  // theirs, so concurrent sessions share one COMMIT (one WAL flush) instead of one each.
  static constexpr auto kGroupWait = std::chrono::microseconds(1500);
  void transaction_opened() { ++open_transactions_; }
  void transaction_closed() { --open_transactions_; }

 private:
  struct Job {
    enum Kind { count_job, store_job } kind = count_job;
    std::string principal;
    StoreRequest req;
    std::function<void(std::optional<long long>)> done;  // count_job
    std::function<void(StoreOutcome)> stored;            // store_job
    void fail(bool in_doubt = false) {
      if (done) std::exchange(done, nullptr)(std::nullopt);
      if (stored) std::exchange(stored, nullptr)(StoreOutcome{std::nullopt, in_doubt});
    }
  };
  void run();
  void reload();
  void connect();
  void do_count(Job& j);
  void do_stores(std::vector<Job>& batch);
  // After a connection lost during COMMIT: reconnects (for up to kInDoubtWait) and says whether
  // the rows `ids` exist; nullopt when the database could not be asked.
  std::optional<bool> committed(const std::vector<long long>& ids);

  std::string conninfo_;
  struct Conn;
  std::unique_ptr<Conn> conn_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  std::atomic<int> open_transactions_{0};
  bool stopping_ = false;
  std::shared_ptr<const Directory> dir_;
  std::size_t fingerprint_ = 0;  // of the last directory read (DB thread only)
  bool loaded_ = false;
  std::thread thread_;
};

}  // namespace sitemail::submission
