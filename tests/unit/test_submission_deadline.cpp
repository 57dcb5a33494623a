// test_submission_deadline.cpp — a submission session's time limit (server/submission/deadline.hpp)
// when its timer and the read it guards finish at the same moment. Asio's reactor queues a
// socket's completion before the timers that expired in the same pass, so sleeping until both
// the data and the expiry are there, then running the loop, makes that moment every time.
#include <boost/test/unit_test.hpp>

#include <functional>
#include <thread>

#include "deadline.hpp"

using namespace sitemail;
using namespace sitemail::submission;
using namespace std::chrono_literals;

namespace {

// A connected pair of loopback TCP sockets (the listening port is the kernel's choice).
struct Pair {
  asio::io_context io;
  tcp::socket client{io}, server{io};
  Pair() {
    tcp::acceptor acc(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    client.connect(acc.local_endpoint());
    acc.accept(server);
  }
  // The client's octet and the deadline both become ready before the loop next runs.
  void both_ready() {
    asio::write(client, asio::buffer("x", 1));
    std::this_thread::sleep_for(100ms);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(submission_deadline)

BOOST_AUTO_TEST_CASE(a_silent_client_times_out_and_its_read_is_cancelled) {
  Pair p;
  Deadline d(p.io.get_executor(), p.server);
  char buf[16];
  boost::system::error_code got;
  d.arm(std::chrono::steady_clock::now() + 20ms);
  p.server.async_read_some(asio::buffer(buf), [&](boost::system::error_code ec, std::size_t) { got = ec; });
  p.io.run_for(5s);
  BOOST_TEST(got == asio::error::operation_aborted);
  BOOST_TEST(d.flags->timed_out);
  BOOST_TEST(!d.armed());
}

// The session's coroutine ends (its frame, with the Deadline, is freed) in the read's completion;
// the timer's completion, already queued, runs after. Under AddressSanitizer a completion that
// touched the Deadline is a heap-use-after-free; here it must leave the shared flags alone.
BOOST_AUTO_TEST_CASE(a_timer_completion_queued_beside_the_read_does_nothing_after_the_session_ended) {
  Pair p;
  auto d = std::make_unique<Deadline>(p.io.get_executor(), p.server);
  const auto flags = d->flags;
  char buf[16];
  bool read = false, timed_out = false;
  d->arm(std::chrono::steady_clock::now() + 20ms);
  p.server.async_read_some(asio::buffer(buf), [&](boost::system::error_code ec, std::size_t n) {
    read = !ec && n == 1;
    d->cancel();
    timed_out = d->timed_out();  // finished after its limit
    d.reset();
  });
  p.both_ready();
  p.io.run_for(2s);
  BOOST_TEST(read);
  BOOST_TEST(timed_out);
  BOOST_TEST(!flags->armed);
  BOOST_TEST(flags->sock == nullptr);
}

// A read that completes after its limit counts as a timeout, though the timer's completion has
// not run yet; and that completion, run later, does not cut the next wait.
BOOST_AUTO_TEST_CASE(a_read_completed_beside_the_expiry_times_out_and_the_expiry_does_not_cut_the_next_wait) {
  Pair p;
  Deadline d(p.io.get_executor(), p.server);
  char buf[16];
  bool first = false, first_timed_out = false, second_done = false;
  d.arm(std::chrono::steady_clock::now() + 20ms);
  p.server.async_read_some(asio::buffer(buf), [&](boost::system::error_code ec, std::size_t) {
    first = !ec;
    d.cancel();
    first_timed_out = d.timed_out();
    d.flags->timed_out = false;  // as the listener does for the next wait
    d.arm(std::chrono::steady_clock::now() + 60s);
    p.server.async_read_some(asio::buffer(buf), [&](boost::system::error_code, std::size_t) { second_done = true; });
  });
  p.both_ready();
  p.io.run_for(300ms);
  BOOST_TEST(first);
  BOOST_TEST(first_timed_out);
  BOOST_TEST(!d.timed_out());
  BOOST_TEST(d.armed());
  BOOST_TEST(!second_done);
}

// A client that floods: its octets are always there, so each read completes before the timer's
// completion is run. The line's limit (one time point for every read) must still end it.
BOOST_AUTO_TEST_CASE(a_client_whose_octets_are_always_there_still_reaches_the_limit) {
  Pair p;
  Deadline d(p.io.get_executor(), p.server);
  const std::string junk(65536, 'x');
  asio::write(p.client, asio::buffer(junk));
  const auto due = std::chrono::steady_clock::now() + 50ms;
  char buf[64];
  long reads = 0;
  bool ended = false;
  std::function<void()> next = [&] {
    d.arm(due);
    p.server.async_read_some(asio::buffer(buf), [&](boost::system::error_code ec, std::size_t n) {
      d.cancel();
      ++reads;
      if (ec || d.timed_out()) {
        ended = true;
        return;
      }
      asio::write(p.client, asio::buffer(buf, n));  // as much again: the socket never runs dry
      next();
    });
  };
  next();
  p.io.run_for(10s);  // only so that nothing hangs
  BOOST_TEST_MESSAGE("reads before the limit: " << reads);
  BOOST_TEST(ended);
  BOOST_TEST(d.timed_out());
}

BOOST_AUTO_TEST_SUITE_END()
