// https_post.hpp — one HTTPS POST to an OAuth endpoint over the engine's own transport:
// the site's FirewallType proxy, TLS 1.2+ verified against SslCaFile or the system store
// (never the relay's SslAcceptServerCert pin), the response read with Boost.Beast's HTTP
// parser within named limits. Failures are authentication failures of the site.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "effective_settings.hpp"
#include "transport.hpp"

namespace sitemail::oauth {

inline constexpr std::size_t kMaxHeaderBytes = 16 * 1024;  // response status line + headers

struct HttpsUrl {
  std::string host;
  std::uint16_t port = 443;
  std::string target = "/";  // path and query
};
// Accepts only https://host[:port][/path]; error says why not.
[[nodiscard]] std::optional<HttpsUrl> parse_https_url(const std::string& url, std::string& error);

// The TLS context for a site's endpoints: verification on, CA from SslCaFile or the system store.
[[nodiscard]] std::shared_ptr<smtp::TlsSetup> make_endpoint_tls(const EffectiveSettings& s, const std::string& config_dir);

struct HttpsResponse {
  int status = 0;
  std::string body;
  std::optional<smtp::Failure> failure;  // could not get a complete response
};

// POSTs `form` (application/x-www-form-urlencoded) to `url`. Never logs the body.
[[nodiscard]] asio::awaitable<HttpsResponse> https_post(const asio::any_io_executor& ex, const EffectiveSettings& s,
                                                        const smtp::TlsSetup& tls, const std::string& url,
                                                        const std::string& form);

// application/x-www-form-urlencoded escaping of one value (RFC 6749 appendix B).
[[nodiscard]] std::string form_escape(std::string_view v);

}  // namespace sitemail::oauth
