// token_cache.hpp — the per-site token source handed to the engine (smtp::TokenSource):
// one access token cached per site and shared by all of the site's connections, renewed
// shortly before it expires, at most one request in flight per site (concurrent callers
// wait for it: no stampede), one fresh token after a relay refuses a cached one, and
// refresh-token rotation kept through a RefreshStore. TokenSources maps sites to sources.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "refresh_store.hpp"
#include "token_client.hpp"
#include "token_source.hpp"

namespace sitemail::oauth {

// Renew this long before expiry (at most a quarter of the token's lifetime).
inline constexpr std::chrono::seconds kRenewMargin{60};
// Lifetime assumed when the endpoint does not send expires_in.
inline constexpr std::chrono::seconds kDefaultLifetime{300};

// Told about every grant: (site, "obtained" | "failed", detail without any secret), e.g.
// detail "grant=refresh_token expires_in=3600 refresh_token=rotated" or the endpoint's error.
using TokenObserver = std::function<void(const std::string& site, const std::string& what, const std::string& detail)>;

class SiteTokenSource : public smtp::TokenSource, public std::enable_shared_from_this<SiteTokenSource> {
 public:
  SiteTokenSource(asio::any_io_executor ex, std::shared_ptr<const EffectiveSettings> settings, std::string config_dir,
                  std::shared_ptr<RefreshStore> store, TokenObserver observer = {});
  asio::awaitable<smtp::TokenGrant> get() override;
  asio::awaitable<smtp::TokenGrant> refresh(const std::string& refused) override;

  [[nodiscard]] long requests() const { return requests_; }  // token endpoint requests made
  [[nodiscard]] const std::shared_ptr<const EffectiveSettings>& settings() const { return settings_; }
  [[nodiscard]] bool rotated() const { return rotated_; }  // the last grant returned a new refresh token

 private:
  asio::awaitable<smtp::TokenGrant> obtain();   // single flight
  asio::awaitable<smtp::TokenGrant> request();  // one grant at the endpoint

  asio::any_io_executor ex_;
  std::shared_ptr<const EffectiveSettings> settings_;
  std::string config_dir_;
  std::shared_ptr<RefreshStore> store_;
  TokenObserver observer_;
  std::shared_ptr<smtp::TlsSetup> tls_;
  smtp::TokenGrant cached_;
  std::chrono::system_clock::time_point renew_at_{};
  bool in_flight_ = false;
  smtp::TokenGrant last_;  // result of the last request, read by the callers that waited for it
  std::vector<std::shared_ptr<asio::steady_timer>> waiters_;
  long requests_ = 0;
  bool rotated_ = false;
};

// Sites -> token sources (io thread). A site's source lives as long as its configuration;
// a reload that changes the settings starts a new cache.
class TokenSources {
 public:
  TokenSources(asio::any_io_executor ex, std::string config_dir, std::shared_ptr<RefreshStore> store, TokenObserver observer = {})
      : ex_(std::move(ex)), config_dir_(std::move(config_dir)), store_(std::move(store)), observer_(std::move(observer)) {}
  // nullptr when the site uses no token endpoint.
  [[nodiscard]] std::shared_ptr<SiteTokenSource> for_site(const std::string& site,
                                                          const std::shared_ptr<const EffectiveSettings>& settings);
  [[nodiscard]] long requests() const;  // over every site, for metrics and the benchmark

 private:
  asio::any_io_executor ex_;
  std::string config_dir_;
  std::shared_ptr<RefreshStore> store_;
  TokenObserver observer_;
  std::map<std::string, std::shared_ptr<SiteTokenSource>> sites_;
  long retired_requests_ = 0;
};

}  // namespace sitemail::oauth
