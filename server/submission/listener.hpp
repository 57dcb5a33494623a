// listener.hpp — the SMTP submission door in sitemaild (CONTRACT §9): a thin Boost.Asio
// layer driving one sans-io Dialogue per connection. It runs apart from delivery: its own
// io_context and thread, its own database thread and connection (DoorStore), and a small
// pool for scrypt password checks, so a flood, a client dripping one byte a second or
// 10,000 connections cost delivery nothing. Bounds: [submission] max_connections open at
// once (and half the descriptor limit; beyond it 421 at once), 16 KiB read buffers, 5 minutes
// for a line from its first octet or of silence (421), and the dialogue's own line, size and
// recipient limits. While the door is full, every time limit is 10 seconds (a minute after
// the last time it was full), so clients dripping or flooding a line, or never reading, give
// their places up to clients that talk.
#pragma once
#include <memory>

#include "daemon_conf.hpp"

namespace sitemail {
class Metrics;
}

namespace sitemail::submission {

class SubmissionServer {
 public:
  SubmissionServer(const DaemonConf& conf, Metrics& metrics);
  ~SubmissionServer();
  SubmissionServer(const SubmissionServer&) = delete;
  SubmissionServer& operator=(const SubmissionServer&) = delete;

  // Loads the certificate, binds every listener, connects to the database and starts the
  // threads; throws std::runtime_error saying what failed.
  void start();
  // Stops accepting, ends every session with 421 (a message being stored is answered first),
  // then joins the threads. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sitemail::submission
