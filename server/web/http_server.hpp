// http_server.hpp — the web console's listener in sitemaild ([web] listen, CONTRACT §10):
// HTTP/1.1 on Boost.Beast, HTTPS when [web] tls_cert/tls_key are set. Its own network
// thread, and a small pool of worker threads for the blocking work of a request (database,
// scrypt, SMTP tests), so a slow request never holds up the others or the deliveries.
// Bounded like /metrics: connections, request size, a deadline for every read and write.
#pragma once
#include <memory>
#include <string>

#include "cli_common.hpp"

namespace sitemail::web {

class WebServer {
 public:
  // Binds at once; throws std::runtime_error naming the problem (bad address, TLS files).
  explicit WebServer(const DaemonConf& conf);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;
  void stop();  // closes the listener and every connection, joins the threads

  struct Impl;  // http_server.cpp

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sitemail::web
