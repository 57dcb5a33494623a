// test_scheduler.cpp — the SlotScheduler (server/daemon/scheduler.hpp): global limit,
// per-site share, FIFO line of waiting sites, least-recently-used idle eviction, no
// lingering while others wait, round robin by yielding after kYieldAfter messages.
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
  BOOST_TEST(!s.may_linger());          // sites wait: no connection sits idle on a slot
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
  BOOST_TEST(s.may_linger());
}

BOOST_AUTO_TEST_CASE(idle_connections_of_other_sites_are_evicted_least_recently_used_first) {
  SlotScheduler s(3, 100);
  auto t0 = Clock::now();
  auto a = *s.acquire("A", 3);
  auto b = *s.acquire("B", 3);
  auto c = *s.acquire("C", 3);
  s.idle("A", a, t0 + std::chrono::seconds(2));
  s.idle("B", b, t0 + std::chrono::seconds(1));  // idle longest
  BOOST_TEST(!s.evict().has_value());           // nobody waits: nothing to evict
  BOOST_TEST(!s.acquire("D", 3).has_value());
  auto v = s.evict();
  BOOST_REQUIRE(v.has_value());
  BOOST_TEST(*v == b);
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
  BOOST_TEST(!s.should_yield("A", SlotScheduler::kYieldAfter));  // nobody waits
  BOOST_TEST(!s.acquire("B", 1).has_value());
  BOOST_TEST(!s.should_yield("A", SlotScheduler::kYieldAfter - 1));
  BOOST_TEST(s.should_yield("A", SlotScheduler::kYieldAfter));
  s.release("A", a);
  BOOST_TEST(s.total() == 0);
}

BOOST_AUTO_TEST_CASE(a_site_wanting_a_second_connection_does_not_take_others_slots) {
  SlotScheduler s(2, 100);
  auto a = *s.acquire("A", 2);
  auto b = *s.acquire("B", 2);
  BOOST_TEST(!s.acquire("A", 2).has_value());  // A waits for a second connection
  BOOST_TEST(s.waiting("A"));
  BOOST_TEST(s.starved() == 0);
  BOOST_TEST(s.may_linger());  // B's connection may keep its session for more of B's mail
  s.idle("B", b, Clock::now());
  BOOST_TEST(!s.evict().has_value());
  BOOST_TEST(!s.should_yield("B", SlotScheduler::kYieldAfter));
  BOOST_TEST(!s.acquire("C", 2).has_value());  // C has nothing: starved
  BOOST_TEST(s.starved() == 1);
  BOOST_TEST(!s.may_linger());
  auto v = s.evict();
  BOOST_REQUIRE(v.has_value());
  BOOST_TEST(*v == b);
  (void)a;
}

BOOST_AUTO_TEST_SUITE_END()
