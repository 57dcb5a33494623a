// deadline.hpp — one submission session's time limit (a line, a write, a TLS handshake), kept
// by the listener (listener.cpp) and cut short for every session while the door is full.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>

#include "asio.hpp"

namespace sitemail::submission {

// One session's time limit: it runs from `start` (a line's first octet, a write, a handshake),
// not from the last octet, so a line dripped a byte at a time still ends at the limit. While
// the door is full the limit shrinks to kStressLimit, also for a wait already under way.
//
// The timer's completion may already be queued when the operation it guards finishes (both
// ready in one pass of the io loop). Then it runs after the session went on: its coroutine
// frame, which holds the Deadline, may be gone, or the next wait armed. So the completion
// holds the flags it sets by a shared pointer and acts only for the wait still armed (`gen`),
// and cancel() itself decides: an operation that finished at or after its limit timed out.
// (A client whose octets are always there, a flood, gets its read completed before the timer's
// every time; without that rule its line would never end.)
struct Deadline {
  struct Flags {
    explicit Flags(tcp::socket& s) : sock(&s) {}
    tcp::socket* sock;  // null once the Deadline is gone
    std::uint64_t gen = 0;
    bool armed = false;
    bool timed_out = false;
  };
  Deadline(const asio::any_io_executor& ex, tcp::socket& s) : timer(ex), flags(std::make_shared<Flags>(s)) {}
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;
  ~Deadline() {
    ++flags->gen;
    flags->sock = nullptr;
  }
  asio::steady_timer timer;
  std::shared_ptr<Flags> flags;
  std::chrono::steady_clock::time_point start{};
  std::chrono::steady_clock::duration limit{};
  [[nodiscard]] bool armed() const { return flags->armed; }
  [[nodiscard]] bool timed_out() const { return flags->timed_out; }
  void arm(std::chrono::steady_clock::time_point at) {
    const auto gen = ++flags->gen;  // a completion of an earlier wait, even one already queued, does nothing
    flags->armed = true;
    timer.expires_at(at);
    timer.async_wait([f = flags, gen](const boost::system::error_code& e) {
      if (e || f->gen != gen || !f->sock) return;
      f->armed = false;  // spent: the door becoming full does not set it again
      f->timed_out = true;
      boost::system::error_code ignored;
      f->sock->cancel(ignored);
    });
  }
  // Ends the wait; timed_out() tells whether the limit was reached first.
  void cancel() {
    if (flags->armed && timer.expiry() <= std::chrono::steady_clock::now()) flags->timed_out = true;
    ++flags->gen;
    flags->armed = false;
    timer.cancel();
  }
};

}  // namespace sitemail::submission
