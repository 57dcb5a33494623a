// test_retry_policy.cpp — the daemon's outcome policy: what a row becomes after each kind
// of failure, the backoff curve with its jitter bounds, and giving up.
#include <boost/test/unit_test.hpp>

#include "retry_policy.hpp"

using namespace sitemail;
using smtp::Failure;
using smtp::FailureKind;
using smtp::Stage;

BOOST_AUTO_TEST_SUITE(retry_policy)

BOOST_AUTO_TEST_CASE(backoff_doubles_up_to_the_ceiling_with_bounded_jitter) {
  DaemonConf c;  // 60 s doubling up to 3600 s
  const std::pair<int, long long> mid[] = {{1, 60}, {2, 120}, {3, 240}, {6, 1920}, {7, 3600}, {20, 3600}};
  for (auto [attempt, want] : mid) BOOST_TEST(backoff_seconds(attempt, c, 0.5) == want, "attempt " << attempt);
  BOOST_TEST(backoff_seconds(1, c, 0.0) == 48);  // -20 %
  BOOST_TEST(backoff_seconds(1, c, 1.0) == 72);  // +20 %
}

BOOST_AUTO_TEST_CASE(each_failure_kind_maps_to_its_row_state) {
  DaemonConf c;
  struct Case {
    const char* name;
    std::optional<Failure> f;
    RowStatus status;
    bool refund;
    long long retry;
  };
  const Case cases[] = {
      {"sent", std::nullopt, RowStatus::sent, false, 0},
      {"4xx", Failure{FailureKind::transient, Stage::rcpt, "x", "451 later", 451}, RowStatus::queued, false, 60},
      {"5xx", Failure{FailureKind::permanent, Stage::rcpt, "x", "550 no", 550}, RowStatus::failed, false, 0},
      {"535", Failure{FailureKind::auth, Stage::auth, "x", "535 bad", 535}, RowStatus::queued, false, 900},
      {"config", Failure{FailureKind::config, Stage::config, "x", {}, 0}, RowStatus::queued, true, 60},
  };
  for (const auto& k : cases) {
    BOOST_TEST_CONTEXT(k.name) {
      auto u = decide(k.f, 1, std::chrono::seconds(0), c, 0.5);
      BOOST_TEST(row_status_name(u.status) == row_status_name(k.status));
      BOOST_TEST(u.refund_attempt == k.refund);
      BOOST_TEST(u.retry_in_seconds == k.retry);
      if (k.f) BOOST_TEST(u.last_error.find(k.f->detail) != std::string::npos);
    }
  }
  auto held = decide(Failure{FailureKind::config, Stage::config, "bad file", {}, 0}, 1, std::chrono::seconds(0), c, 0.5);
  BOOST_TEST(held.last_error.find("held: ") == 0u);
}

BOOST_AUTO_TEST_CASE(gives_up_after_give_up_seconds) {
  DaemonConf c;  // 2 days
  Failure f{FailureKind::transient, Stage::connect, "refused", {}, 0};
  BOOST_TEST((decide(f, 10, std::chrono::seconds(172800 - 4000), c, 0.5).status == RowStatus::queued));
  auto u = decide(f, 40, std::chrono::seconds(172800 - 60), c, 0.5);
  BOOST_TEST((u.status == RowStatus::failed));
  BOOST_TEST(u.last_error.find("gave up after 40 attempts") == 0u);
  // a held (config) row never gives up: fixing the configuration must deliver it
  BOOST_TEST((decide(Failure{FailureKind::config, Stage::config, "x", {}, 0}, 1, std::chrono::seconds(999999), c, 0.5).status ==
              RowStatus::queued));
}

BOOST_AUTO_TEST_SUITE_END()
