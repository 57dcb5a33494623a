// bench_resolve.cpp — cold-start resolution benchmark: N sites, each with its own
// <site>.config file and DB keys, plus SMTP.config; discover and resolve all of them and
// report wall time and peak RSS. Side by side, in the same run, a reference: reading the
// same files into memory without parsing (the I/O floor).
//   bench_resolve generate DIR N   — write the config dir
//   bench_resolve resolve DIR N    — resolve as sitemaild does (run in a fresh process: cold start)
//   bench_resolve explain DIR N    — the same, every explanation kept (as `sitemailctl show`)
//   bench_resolve readonly DIR     — the reference
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "site_table.hpp"

using namespace sitemail;
namespace fs = std::filesystem;

namespace {

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

std::string site_code(int i) {
  char b[16];
  std::snprintf(b, sizeof b, "S%05d", i);
  return b;
}

int generate(const fs::path& dir, int n) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "SMTP.config")
      << "<?xml version=\"1.0\"?>\n<MailSettings>\n<Timeout>30</Timeout>\n"
         "<FullyQualifiedDomainName>mail.example.org</FullyQualifiedDomainName>\n</MailSettings>\n";
  for (int i = 0; i < n; ++i) {
    std::ofstream f(dir / (site_code(i) + ".config"));
    f << "<?xml version=\"1.0\"?>\n<MailSettings xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n"
      << "<EMailSMTPServer>relay" << i % 100 << ".example.org</EMailSMTPServer>\n"
      << "<EMailSMTPPort>" << (i % 3 == 0 ? "465-ssl" : "587") << "</EMailSMTPPort>\n"
      << "<EMailSecure>Yes</EMailSecure>\n<SslStartMode>sslAutomatic</SslStartMode>\n"
      << "<SMTPUserID>user" << i << "</SMTPUserID>\n<SMTPPassword>pw" << i << "</SMTPPassword>\n"
      << "<EMailFromName>Site " << i << "</EMailFromName>\n<OtherHeaders>X-Site: " << site_code(i) << "</OtherHeaders>\n"
      << "<FirewallType>" << (i % 10 == 0 ? "fwSOCKS5" : "fwNone") << "</FirewallType>\n<FirewallHost>127.0.0.1</FirewallHost>\n"
      << "<Timeout>" << 30 + i % 60 << "</Timeout>\n</MailSettings>\n";
  }
  std::cout << "generated " << n << " site files in " << dir << "\n";
  return 0;
}

// As sitemaild resolves (no explanations: ResolveEnv::explain = false), unless `explain`
// (as `sitemailctl show` does, every overridden value and note kept).
int resolve(const fs::path& dir, int n, bool explain) {
  auto t0 = std::chrono::steady_clock::now();
  DbSnapshot db;
  db.keys_by_site["ILL"] = {{"EMailSMTPServer", "relay.example.org"}, {"EMailFromAddress", "ill@example.org"}};
  for (int i = 0; i < n; ++i) db.keys_by_site[site_code(i)] = {{"EMailFromAddress", "s" + std::to_string(i) + "@example.org"}};
  ResolveEnv env;
  env.config_dir = dir.string();
  env.host_fqdn = "host.example.org";
  env.explain = explain;
  auto table = load_site_table(db, env);
  auto t1 = std::chrono::steady_clock::now();
  std::size_t valid = 0;
  for (const auto& [code, s] : table->sites) valid += s->valid;
  double ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
  std::printf("sitemail resolve%s: %zu sites (%zu valid) in %.1f ms, peak RSS %.1f MiB\n", explain ? " with explanations" : "",
              table->sites.size(), valid, ms, peak_rss_mib());
  return valid == table->sites.size() ? 0 : 1;
}

int readonly(const fs::path& dir) {
  auto t0 = std::chrono::steady_clock::now();
  std::size_t bytes = 0, files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::ifstream in(e.path(), std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    bytes += ss.str().size();
    ++files;
  }
  auto t1 = std::chrono::steady_clock::now();
  std::printf("reference read-only: %zu files (%zu KiB) in %.1f ms, peak RSS %.1f MiB\n", files, bytes / 1024,
              std::chrono::duration<double, std::milli>(t1 - t0).count(), peak_rss_mib());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 4 && std::string(argv[1]) == "generate") return generate(argv[2], std::stoi(argv[3]));
  if (argc >= 4 && std::string(argv[1]) == "resolve") return resolve(argv[2], std::stoi(argv[3]), false);
  if (argc >= 4 && std::string(argv[1]) == "explain") return resolve(argv[2], std::stoi(argv[3]), true);
  if (argc >= 3 && std::string(argv[1]) == "readonly") return readonly(argv[2]);
  std::cerr << "usage: bench_resolve generate|resolve|explain DIR N | readonly DIR\n";
  return 2;
}
