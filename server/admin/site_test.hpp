// site_test.hpp — `Test connection` / `Send test email` (CONTRACT §5), shared by
// `sitemailctl test` and the web console: connect, EHLO, TLS and AUTH exactly as delivery
// would (same settings, same engine), optionally send a test message, QUIT; the result is
// one verdict line (words from server/smtp/outcome.cpp) and the transcript (credentials
// redacted by the session).
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "effective_settings.hpp"

namespace sitemail::admin {

struct SiteTestResult {
  std::string verdict;                  // "OK ...", "CONNECT_FAILED ...", ...
  std::vector<std::string> transcript;  // the SMTP dialogue, credentials redacted
  [[nodiscard]] bool ok() const { return verdict.starts_with("OK "); }
};

struct SiteTestOptions {
  std::string send_to;                               // non-empty: also send a test message there
  std::optional<long long> timeout;                  // seconds per network operation instead of the site's Timeout
  std::function<void(const std::string&)> progress;  // "connecting to ..." while it waits
  std::string sent_by = "`sitemailctl test`";        // named in the test message's body
};

// Runs the test on a private io_context in the calling thread (blocks until done).
[[nodiscard]] SiteTestResult run_site_test(const DaemonConf& conf, const ResolvedSite& site, const SiteTestOptions& opt);

}  // namespace sitemail::admin
