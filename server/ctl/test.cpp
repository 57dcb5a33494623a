// test.cpp — `sitemailctl test --site S [--send-to ADDR] [--transcript]`: connect,
// EHLO, TLS and AUTH exactly as delivery would (same settings, same engine), optionally
// send a test message, QUIT, and print one verdict line (CONTRACT §5; the words come from
// server/smtp/outcome.cpp). Progress lines go to stderr while it waits; --timeout
// replaces the site's Timeout; --transcript prints every line of every reply.
#include <iostream>

#include "commands.hpp"
#include "site_source.hpp"
#include "site_test.hpp"

namespace sitemail {

int cmd_test(CtlArgs& a) {
  const std::string code = a.opt("site");
  if (code.empty()) throw UsageError("test needs --site S");
  auto site = load_ctl_site(a, code)->find_or_resolve(code);
  admin::SiteTestOptions opt;
  if (site->valid && a.flag("timeout")) {  // --timeout SECONDS: the site's settings with another Timeout
    const std::string t = a.opt("timeout");
    if (t.empty() || t.size() > 6 || t.find_first_not_of("0123456789") != std::string::npos)
      throw UsageError("--timeout needs a whole number of seconds (0 = none)");
    opt.timeout = std::stoll(t);
  }
  opt.send_to = a.opt("send-to");
  // Progress on stderr, so a relay that never answers is not a silent wait.
  opt.progress = [](const std::string& what) { std::cerr << "sitemailctl: test: " << what << " ...\n"; };
  const auto result = admin::run_site_test(a.conf, *site, opt);
  if (a.flag("transcript"))
    for (const auto& line : result.transcript) std::cout << line << "\n";
  std::cout << result.verdict << "\n";
  return result.ok() ? kExitOk : kExitFailed;
}

}  // namespace sitemail
