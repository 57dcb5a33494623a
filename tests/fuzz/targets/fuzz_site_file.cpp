// fuzz_site_file.cpp — libFuzzer target: a site's <NVTGC>.config (the MailSettings XML a
// tenant may write), parsed and resolved like the daemon does. Every problem must be a
// diagnostic naming the file; nothing may crash or exhaust memory.
#include <cstddef>
#include <cstdint>
#include <string>

#include "mail_settings_file.hpp"
#include "resolver.hpp"

using namespace sitemail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto layer = parse_mail_settings(text, "F.config");
  for (const auto& d : layer.diagnostics)
    if (!d.where.starts_with("F.config") || d.message.empty()) __builtin_trap();
  ResolveEnv env;
  env.host_fqdn = "h.example";
  auto r = resolve_site("F", SiteLayers{nullptr, nullptr, nullptr, &layer}, env);
  (void)r;
  return 0;
}
