// token_cache.cpp — see token_cache.hpp. Everything runs on one executor (the daemon's io
// thread, or sitemailctl's io_context), so the cache needs no locks.
#include "token_cache.hpp"

namespace sitemail::oauth {

SiteTokenSource::SiteTokenSource(asio::any_io_executor ex, std::shared_ptr<const EffectiveSettings> settings,
                                 std::string config_dir, std::shared_ptr<RefreshStore> store, TokenObserver observer)
    : ex_(std::move(ex)),
      settings_(std::move(settings)),
      config_dir_(std::move(config_dir)),
      store_(std::move(store)),
      observer_(std::move(observer)) {}

asio::awaitable<smtp::TokenGrant> SiteTokenSource::get() {
  if (!cached_.access_token.empty() && std::chrono::system_clock::now() < renew_at_) co_return cached_;
  co_return co_await obtain();
}

asio::awaitable<smtp::TokenGrant> SiteTokenSource::refresh(const std::string& refused) {
  // Another connection may already have replaced the refused token: use the new one.
  if (!cached_.access_token.empty() && cached_.access_token != refused && std::chrono::system_clock::now() < renew_at_)
    co_return cached_;
  cached_ = {};
  co_return co_await obtain();
}

asio::awaitable<smtp::TokenGrant> SiteTokenSource::obtain() {
  auto self = shared_from_this();  // waiters keep the source alive across a reload
  if (in_flight_) {
    auto t = std::make_shared<asio::steady_timer>(ex_, asio::steady_timer::time_point::max());
    waiters_.push_back(t);
    boost::system::error_code ec;
    co_await t->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return last_;
  }
  in_flight_ = true;
  smtp::TokenGrant g;
  try {
    g = co_await request();
  } catch (const std::exception& e) {
    g.failure = smtp::Failure{smtp::FailureKind::auth, smtp::Stage::auth, std::string("token endpoint: ") + e.what(), {}, 0};
  }
  in_flight_ = false;
  if (observer_) {
    const auto& s = *settings_;
    if (g.failure) {
      observer_(s.site, "failed", g.failure->detail);
    } else {
      const auto left = std::chrono::duration_cast<std::chrono::seconds>(g.expires_at - std::chrono::system_clock::now());
      observer_(s.site, "obtained",
                std::string("grant=") + (oauth_plan(s).refresh_grant ? "refresh_token" : "client_credentials") +
                    " expires_in=" + std::to_string(left.count()) + (rotated_ ? " refresh_token=rotated" : ""));
    }
  }
  last_ = g;
  if (!g.failure) cached_ = g;
  for (auto& t : std::exchange(waiters_, {})) t->cancel();
  co_return g;
}

asio::awaitable<smtp::TokenGrant> SiteTokenSource::request() {
  const auto& s = *settings_;
  const auto plan = oauth_plan(s);
  if (!tls_) tls_ = make_endpoint_tls(s, config_dir_);
  ++requests_;
  std::string key, refresh_token;
  std::vector<std::pair<std::string, std::string>> extra;
  if (plan.refresh_grant) {
    key = grant_key(plan.token_url, s.text(Setting::OAuthClientId), s.text(Setting::OAuthRefreshToken));
    std::optional<std::string> stored;
    if (store_) stored = co_await store_->load(key);
    refresh_token = stored.value_or(s.text(Setting::OAuthRefreshToken));
    extra.emplace_back("refresh_token", refresh_token);
  }
  const std::string grant_type = plan.refresh_grant ? "refresh_token" : "client_credentials";
  std::string form = grant_form(s, plan, grant_type, extra);
  auto r = co_await post_grant(ex_, s, *tls_, plan.token_url, form);
  if (r.failure && plan.refresh_grant && store_ && r.response.error == "invalid_grant") {
    // Another instance may have rotated the token since we read it: try the newest once.
    std::optional<std::string> newest = co_await store_->load(key);
    if (newest && *newest != refresh_token) {
      refresh_token = *newest;
      extra = {{"refresh_token", refresh_token}};
      form = grant_form(s, plan, grant_type, extra);
      ++requests_;
      r = co_await post_grant(ex_, s, *tls_, plan.token_url, form);
    }
  }
  smtp::TokenGrant g;
  if (r.failure) {
    g.failure = std::move(r.failure);
    co_return g;
  }
  rotated_ = plan.refresh_grant && !r.response.refresh_token.empty() && r.response.refresh_token != refresh_token;
  if (rotated_ && store_) co_await store_->save(key, s.site, r.response.refresh_token);
  const auto now = std::chrono::system_clock::now();
  const std::chrono::seconds life = r.response.expires_in > 0 ? std::chrono::seconds(r.response.expires_in) : kDefaultLifetime;
  g.access_token = std::move(r.response.access_token);
  g.expires_at = now + life;
  renew_at_ = now + life - std::min(kRenewMargin, life / 4);
  co_return g;
}

std::shared_ptr<SiteTokenSource> TokenSources::for_site(const std::string& site,
                                                        const std::shared_ptr<const EffectiveSettings>& settings) {
  if (!settings || !oauth_plan(*settings).enabled) return nullptr;
  auto& slot = sites_[site];
  if (!slot || slot->settings() != settings) {
    if (slot) retired_requests_ += slot->requests();
    slot = std::make_shared<SiteTokenSource>(ex_, settings, config_dir_, store_, observer_);
  }
  return slot;
}

long TokenSources::requests() const {
  long n = retired_requests_;
  for (const auto& [site, src] : sites_) n += src->requests();
  return n;
}

}  // namespace sitemail::oauth
