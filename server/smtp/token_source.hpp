// token_source.hpp — how the engine gets OAuth 2.0 access tokens without knowing where
// they come from (server/oauth/ implements it with a per-site cache and a token endpoint;
// the engine never touches the database). Tokens are secrets: never logged or shown.
// Coroutine parameters are references throughout: GCC 12 mishandles by-value class
// parameters and other non-trivial temporaries inside a co_await expression.
#pragma once
#include <chrono>
#include <optional>
#include <string>

#include "asio.hpp"
#include "outcome.hpp"

namespace sitemail::smtp {

struct TokenGrant {
  std::string access_token;  // empty when failure is set
  std::chrono::system_clock::time_point expires_at{};
  std::optional<Failure> failure;  // FailureKind::auth, Stage::auth, "token endpoint: ..."
};

class TokenSource {
 public:
  virtual ~TokenSource() = default;
  // A valid access token: the cached one, or a new one from the endpoint.
  virtual asio::awaitable<TokenGrant> get() = 0;
  // The relay refused `refused`: forget it (unless already replaced) and obtain a fresh one.
  virtual asio::awaitable<TokenGrant> refresh(const std::string& refused) = 0;
};

}  // namespace sitemail::smtp
