// refresh_store.cpp — see refresh_store.hpp.
#include "refresh_store.hpp"

#include <openssl/evp.h>

#include <iostream>

#include "codec.hpp"
#include "pg.hpp"

namespace sitemail::oauth {

namespace {

constexpr const char* kLoadSql = "SELECT refresh_token FROM oauth_refresh_tokens WHERE configured_sha256 = $1";
constexpr const char* kSaveSql =
    "INSERT INTO oauth_refresh_tokens (configured_sha256, nvtgc, refresh_token) VALUES ($1, $2, $3) "
    "ON CONFLICT (configured_sha256) DO UPDATE SET nvtgc = EXCLUDED.nvtgc, refresh_token = EXCLUDED.refresh_token, "
    "updated_at = now()";

std::optional<std::string> load_sync(PgConn& db, const std::string& key) {
  if (!db.table_exists("oauth_refresh_tokens")) return std::nullopt;
  auto r = db.exec(kLoadSql, {key});
  if (r.rows() == 0) return std::nullopt;
  return r.get(0, 0);
}

void save_sync(PgConn& db, const std::string& key, const std::string& site, const std::string& token) {
  db.exec(kSaveSql, {key, site, token});
}

}  // namespace

std::string grant_key(const std::string& token_url, const std::string& client_id, const std::string& configured) {
  const std::string in = token_url + '\n' + client_id + '\n' + configured;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_Digest(in.data(), in.size(), md, &n, EVP_sha256(), nullptr);
  return codec::hex(std::string_view(reinterpret_cast<char*>(md), n));
}

asio::awaitable<std::optional<std::string>> PgRefreshStore::load(const std::string& key) { co_return load_sync(db_, key); }

asio::awaitable<void> PgRefreshStore::save(const std::string& key, const std::string& site, const std::string& token) {
  try {
    save_sync(db_, key, site, token);
  } catch (const std::exception& e) {  // the access token is still good; say why the next grant may fail
    std::cerr << "sitemailctl: warning: cannot store the rotated refresh token of site " << site << " (" << e.what()
              << "); run `sitemailctl db migrate`, then `sitemailctl oauth login --site " << site
              << "` if the next grant fails\n";
  }
  co_return;
}

struct ThreadedPgRefreshStore::Worker {
  std::string conninfo;
  std::function<void(const std::string&)> report;
  asio::thread_pool pool{1};
  std::unique_ptr<PgConn> db;  // pool thread only
  PgConn& conn() {
    if (!db) db = std::make_unique<PgConn>(conninfo);
    return *db;
  }
};

ThreadedPgRefreshStore::ThreadedPgRefreshStore(std::string conninfo, std::function<void(const std::string&)> report)
    : w_(std::make_shared<Worker>()) {
  w_->conninfo = std::move(conninfo);
  w_->report = std::move(report);
}

ThreadedPgRefreshStore::~ThreadedPgRefreshStore() {
  w_->pool.join();
  w_->db.reset();
}

// Runs `work` on the store's thread and resumes the caller on `home` with the result; no
// coroutine ever runs on the store's thread. Not a coroutine itself; callers keep every
// non-trivial temporary out of their co_await expressions (GCC 12 destroys such
// temporaries twice).
template <typename R, typename Work>
asio::awaitable<R> on_store_thread(asio::thread_pool& pool, asio::any_io_executor home, Work work) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(R)>(
      [&pool, home, work = std::move(work)](auto handler) mutable {
        asio::post(pool, [home, work = std::move(work), handler = std::move(handler)]() mutable {
          R result = work();
          asio::post(home, [handler = std::move(handler), result = std::move(result)]() mutable { handler(std::move(result)); });
        });
      },
      asio::use_awaitable);
}

asio::awaitable<std::optional<std::string>> ThreadedPgRefreshStore::load(const std::string& key) {
  auto w = w_;
  auto home = co_await asio::this_coro::executor;
  auto work = [w, key]() -> std::optional<std::string> {
    try {
      return load_sync(w->conn(), key);
    } catch (const std::exception& e) {
      w->db.reset();  // reconnect next time
      w->report(std::string("cannot read the rotated refresh token: ") + e.what());
      return std::nullopt;
    }
  };
  auto op = on_store_thread<std::optional<std::string>>(w->pool, home, std::move(work));
  std::optional<std::string> found = co_await std::move(op);
  if (found) memory_[key] = *found;
  else if (auto it = memory_.find(key); it != memory_.end()) found = it->second;
  co_return found;
}

asio::awaitable<void> ThreadedPgRefreshStore::save(const std::string& key, const std::string& site, const std::string& token) {
  memory_[key] = token;
  auto w = w_;
  auto home = co_await asio::this_coro::executor;
  auto work = [w, key, site, token]() -> bool {
    try {
      save_sync(w->conn(), key, site, token);
      return true;
    } catch (const std::exception& e) {
      w->db.reset();
      w->report("cannot store the rotated refresh token of site " + site + ": " + e.what());
      return false;
    }
  };
  auto op = on_store_thread<bool>(w->pool, home, std::move(work));
  co_await std::move(op);
}

}  // namespace sitemail::oauth
