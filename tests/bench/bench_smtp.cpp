// bench_smtp.cpp — engine throughput: N messages of 1 KiB sent from one process over C
// reused connections (C coroutines on one thread) to a relay, e.g. a loopback smtp-sink.
// Prints messages per second; deploy/bench.sh runs `smtp-source -d -s C` against the same
// sink in the same run for the reference figure.
//   bench_smtp PORT N C
#include <chrono>
#include <cstdio>
#include <ctime>

#include "client.hpp"
#include "mail_settings_file.hpp"
#include "resolver.hpp"

using namespace sitemail;

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: bench_smtp PORT N CONNECTIONS\n");
    return 2;
  }
  const int port = std::atoi(argv[1]), n = std::atoi(argv[2]), c = std::atoi(argv[3]);
  auto db = layer_from_db_rows("db:ILL", {{"EMailSMTPServer", "127.0.0.1"},
                                          {"EMailSMTPPort", std::to_string(port)},
                                          {"EMailFromAddress", "bench@lib.example"},
                                          {"Helo", "bench.example"}});
  ResolveEnv env;
  env.host_fqdn = "bench.example";
  auto site = resolve_site("BENCH", SiteLayers{&db, nullptr, nullptr, nullptr}, env);
  auto settings = site.settings;
  smtp::OutboxMessage m;
  m.nvtgc = "BENCH";
  m.to = "sink@dest.example";
  m.subject = "bench";
  m.body_text = std::string(780, 'x');  // about 1 KiB with the headers
  for (std::size_t i = 76; i < m.body_text.size(); i += 77) m.body_text[i] = '\n';
  auto built = smtp::build_message(m, *settings, std::time(nullptr));
  std::printf("message size %zu bytes\n", built.message->data.size());
  auto tls = smtp::make_tls_setup(*settings, "");
  asio::io_context io(1);
  int sent = 0, failed = 0, next = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int k = 0; k < c; ++k)
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          smtp::Client client(io.get_executor(), settings, tls);
          if (auto f = co_await client.open()) {
            std::fprintf(stderr, "open failed: %s\n", f->describe().c_str());
            co_return;
          }
          while (next < n && client.usable()) {
            ++next;
            auto r = co_await client.send(*built.message);
            r.failure ? ++failed : ++sent;
          }
          co_await client.close();
        },
        asio::detached);
  io.run();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("sitemail engine: %d sent, %d failed in %.2f s over %d connections: %.0f msg/s\n", sent, failed, secs, c,
              sent / secs);
  return failed ? 1 : 0;
}
