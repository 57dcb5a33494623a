// test_scheduler.cpp — the SlotScheduler (server/daemon/scheduler.hpp): global limit,
// per-site share, FIFO line of waiting sites, least-recently-used idle eviction and round
// robin by yielding after kYieldAfter messages, both only as many as starved sites need.
#include <boost/test/unit_test.hpp>

#include "scheduler.hpp"

using namespace sitemail;
using Clock = SlotScheduler::Clock;

BOOST_AUTO_TEST_SUITE(scheduler)

BOOST_AUTO_TEST_CASE(a_site_never_takes_more_than_its_share_of_the_pool) {
  SlotScheduler s(64, 50);
  BOOST_TEST(s.site_cap(100) == 32);  // MaxConnections 100 above the pool: half the pool
  BOOST_TEST(s.site_cap(2) == 2);
  SlotScheduler tiny(1, 50);
  BOOST_TEST(tiny.site_cap(5) == 1);  // at least one
}

BOOST_AUTO_TEST_CASE(the_global_limit_holds_and_a_refused_site_waits_in_line) {
  SlotScheduler s(2, 100);
  auto a1 = s.acquire("A", 2);
  auto b1 = s.acquire("B", 2);
  BOOST_TEST(a1.has_value());
  BOOST_TEST(b1.has_value());
  BOOST_TEST(!s.acquire("C", 2).has_value());
  BOOST_TEST(!s.acquire("D", 2).has_value());
  BOOST_TEST(s.total() == 2);
  BOOST_TEST(s.waiting("C"));
  BOOST_TEST(s.line().front() == "C");  // first come, first served
  BOOST_TEST(s.starved() == 2);
  s.release("A", *a1);
  BOOST_TEST(s.acquire("C", 2).has_value());
  s.satisfied("C");
  BOOST_TEST(s.line().size() == 1u);
  BOOST_TEST(s.line().front() == "D");
}

BOOST_AUTO_TEST_CASE(a_site_at_its_own_cap_does_not_queue_for_the_pool) {
  SlotScheduler s(10, 100);
  BOOST_TEST(s.acquire("A", 1).has_value());
  BOOST_TEST(!s.acquire("A", 1).has_value());
  BOOST_TEST(!s.waiting("A"));
  BOOST_TEST(s.starved() == 0);
}

BOOST_AUTO_TEST_CASE(idle_connections_of_other_sites_are_evicted_least_recently_used_first) {
  SlotScheduler s(3, 100);
  auto t0 = Clock::now();
  auto a = *s.acquire("A", 3);
  auto b = *s.acquire("B", 3);
  auto c = *s.acquire("C", 3);
  s.idle("A", a, t0 + std::chrono::seconds(2));
  s.idle("B", b, t0 + std::chrono::seconds(1));  // idle longest
  BOOST_TEST(!s.evict().has_value());            // nobody waits: nothing to evict
  BOOST_TEST(!s.acquire("D", 3).has_value());
  auto v = s.evict();
  BOOST_REQUIRE(v.has_value());
  BOOST_TEST(v->id == b);
  BOOST_TEST(v->site == "B");
  BOOST_TEST(!s.evict().has_value());  // one slot on its way back covers the one waiting site
  s.release("B", b);
  BOOST_TEST(s.acquire("D", 3).has_value());
  s.satisfied("D");
  s.busy("A", a);
  BOOST_TEST(!s.evict().has_value());
  (void)c;
}

BOOST_AUTO_TEST_CASE(a_busy_connection_yields_to_a_waiting_site_after_enough_messages) {
  SlotScheduler s(1, 100);
  auto a = *s.acquire("A", 1);
  BOOST_TEST(!s.yield("A", a, SlotScheduler::kYieldAfter));  // nobody waits
  BOOST_TEST(!s.acquire("B", 1).has_value());
  BOOST_TEST(!s.yield("A", a, SlotScheduler::kYieldAfter - 1));
  BOOST_TEST(s.yield("A", a, SlotScheduler::kYieldAfter));
  s.release("A", a);
  BOOST_TEST(s.total() == 0);
}

BOOST_AUTO_TEST_CASE(only_as_many_slots_as_starved_sites_need_are_handed_over) {
  // The shape of a big drain: every slot busy, one site starved. One connection yields or
  // one idle connection closes; the others keep their sessions (no reconnect churn).
  SlotScheduler s(3, 100);
  auto t0 = Clock::now();
  auto a = *s.acquire("A", 1);
  auto b = *s.acquire("B", 1);
  auto c = *s.acquire("C", 1);
  BOOST_TEST(!s.acquire("D", 1).has_value());
  BOOST_TEST(s.starved() == 1);
  BOOST_TEST(s.yield("A", a, SlotScheduler::kYieldAfter));
  BOOST_TEST(!s.yield("B", b, SlotScheduler::kYieldAfter));  // A's slot covers D already
  s.idle("C", c, t0);
  BOOST_TEST(!s.evict().has_value());  // and C may stay idle, waiting for more of C's mail
  s.release("A", a);
  BOOST_TEST(s.acquire("D", 1).has_value());
  s.satisfied("D");
  BOOST_TEST(s.starved() == 0);
  BOOST_TEST(!s.evict().has_value());
  // two more starved sites: the idle one goes first, then one busy connection yields
  BOOST_TEST(!s.acquire("E", 1).has_value());
  BOOST_TEST(!s.acquire("F", 1).has_value());
  BOOST_TEST(s.starved() == 2);
  auto v = s.evict();
  BOOST_REQUIRE(v.has_value());
  BOOST_TEST(v->id == c);
  BOOST_TEST(s.yield("B", b, SlotScheduler::kYieldAfter));
  BOOST_TEST(!s.evict().has_value());
}

BOOST_AUTO_TEST_CASE(extra_connections_go_before_any_sites_only_one) {
  // Free slots early in a drain went to sites that opened a second connection; sites whose
  // mail came later have none. The extra connections hand their slots over first.
  SlotScheduler s(4, 100);
  auto t0 = Clock::now();
  auto a1 = *s.acquire("A", 2);
  auto a2 = *s.acquire("A", 2);
  auto b1 = *s.acquire("B", 2);
  auto b2 = *s.acquire("B", 2);
  BOOST_TEST(!s.acquire("C", 2).has_value());
  BOOST_TEST(!s.acquire("D", 2).has_value());
  BOOST_TEST(!s.acquire("E", 2).has_value());
  BOOST_TEST(s.starved() == 3);
  s.idle("A", a1, t0);
  s.idle("B", b1, t0 + std::chrono::seconds(1));
  BOOST_TEST(s.yield("A", a2, 1));  // a busy extra connection yields after one message
  auto v = s.evict();               // idle extras next, least recently used first
  BOOST_REQUIRE(v.has_value());
  BOOST_TEST(v->id == a1);
  auto w = s.evict();
  BOOST_REQUIRE(w.has_value());
  BOOST_TEST(w->id == b1);
  BOOST_TEST(!s.evict().has_value());  // three slots on their way back, three starved
  BOOST_TEST(!s.yield("B", b2, 1));    // enough slots are on their way back
  s.release("A", a1);
  s.release("A", a2);
  s.release("B", b1);
  BOOST_TEST(s.total() == 1);
  BOOST_TEST(s.open("B") == 1);
}

BOOST_AUTO_TEST_CASE(a_site_wanting_a_second_connection_does_not_take_others_slots) {
  SlotScheduler s(2, 100);
  auto a = *s.acquire("A", 2);
  auto b = *s.acquire("B", 2);
  BOOST_TEST(!s.acquire("A", 2).has_value());  // A waits for a second connection
  BOOST_TEST(s.waiting("A"));
  BOOST_TEST(s.starved() == 0);
  s.idle("B", b, Clock::now());  // B's connection may keep its session for more of B's mail
  BOOST_TEST(!s.evict().has_value());
  BOOST_TEST(!s.yield("A", a, SlotScheduler::kYieldAfter));
  BOOST_TEST(!s.acquire("C", 2).has_value());  // C has nothing: starved
  BOOST_TEST(s.starved() == 1);
  auto v = s.evict();
  BOOST_REQUIRE(v.has_value());
  BOOST_TEST(v->id == b);
}

BOOST_AUTO_TEST_SUITE_END()
