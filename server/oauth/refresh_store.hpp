// refresh_store.hpp — where rotated refresh tokens live (CONTRACT §7 rotation): the
// `oauth_refresh_tokens` table (sql/006), keyed by a hash of the configured grant, so every
// instance uses the newest token until the admin changes the configured value. Two ways in:
// a blocking connection (sitemailctl) and a dedicated connection on its own thread (sitemaild:
// the io thread never waits for the database).
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "asio.hpp"

namespace sitemail {
class PgConn;
}

namespace sitemail::oauth {

// SHA-256 (hex) of token URL, client id and configured refresh token: the row's key.
[[nodiscard]] std::string grant_key(const std::string& token_url, const std::string& client_id,
                                    const std::string& configured_refresh_token);

class RefreshStore {
 public:
  virtual ~RefreshStore() = default;
  // The newest refresh token of the grant `key`, when one was rotated since it was configured.
  virtual asio::awaitable<std::optional<std::string>> load(const std::string& key) = 0;
  virtual asio::awaitable<void> save(const std::string& key, const std::string& site, const std::string& token) = 0;
};

// Blocking, on a connection the caller owns (sitemailctl). A missing table (schema not yet
// migrated to 006) reads as "nothing stored"; a failed save is a warning on stderr.
class PgRefreshStore : public RefreshStore {
 public:
  explicit PgRefreshStore(PgConn& db) : db_(db) {}
  asio::awaitable<std::optional<std::string>> load(const std::string& key) override;
  asio::awaitable<void> save(const std::string& key, const std::string& site, const std::string& token) override;

 private:
  PgConn& db_;
};

// sitemaild: its own connection, used only from its own thread; results come back to the
// caller's executor. Remembers the newest token in memory too, so a database outage never
// makes it fall back to an already-rotated (now invalid) token. Errors go to `report`
// (never with the token).
class ThreadedPgRefreshStore : public RefreshStore {
 public:
  ThreadedPgRefreshStore(std::string conninfo, std::function<void(const std::string&)> report);
  ~ThreadedPgRefreshStore() override;
  asio::awaitable<std::optional<std::string>> load(const std::string& key) override;
  asio::awaitable<void> save(const std::string& key, const std::string& site, const std::string& token) override;

 private:
  struct Worker;
  std::shared_ptr<Worker> w_;
  std::map<std::string, std::string> memory_;  // io thread only
};

}  // namespace sitemail::oauth
