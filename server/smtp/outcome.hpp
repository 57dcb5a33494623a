// outcome.hpp — THE place that decides what a delivery error means. Every failure has a
// kind (what the daemon does), a stage (where it happened), our own words, and the
// remote reply kept apart and sanitised. The `sitemailctl test` verdicts come from here.
#pragma once
#include <cstdint>
#include <string>

#include "reply.hpp"

namespace sitemail::smtp {

enum class FailureKind {
  transient,  // retry later with backoff: network, timeout, TLS setup, 4xx
  permanent,  // give up on the message (or the recipient): 5xx
  auth,       // 535 and friends: defer the message and back the whole site off
  config,     // the site's configuration cannot work: hold, do not spend attempts
};

enum class Stage { config, connect, proxy, tls, greeting, helo, starttls, auth, mail, rcpt, data, message, quit };

struct Failure {
  FailureKind kind = FailureKind::transient;
  Stage stage = Stage::connect;
  std::string detail;  // our words
  std::string remote;  // the relay's or proxy's reply, sanitised; empty when none
  int code = 0;        // SMTP reply code when there is one

  // "rcpt: 550 5.1.1 no such user" / "connect: connection refused"
  [[nodiscard]] std::string describe() const;
};

[[nodiscard]] const char* stage_name(Stage s);
[[nodiscard]] const char* kind_name(FailureKind k);

// A negative reply at `stage` -> failure. 4xx transient, 5xx permanent, auth-stage 535/534/530/538
// and 5xx to AUTH are `auth`; 421 anywhere is transient (the server is closing).
[[nodiscard]] Failure from_reply(Stage stage, const Reply& r, std::string detail = {});
[[nodiscard]] Failure network_failure(Stage stage, std::string detail);
[[nodiscard]] Failure config_failure(std::string detail);
// A message larger than the relay's SIZE limit (RFC 1870): permanent, the message's alone,
// never sent (CONTRACT §8, 5.3.4, both sizes in bytes).
[[nodiscard]] Failure too_large_for_relay(std::uint64_t size, std::uint64_t limit);
// The content of a streamed message could not be read while sending (the database went
// away, the row was deleted): the connection is dropped before the final dot, so the
// relay never delivers a part; transient.
[[nodiscard]] Failure content_unreadable(const std::string& why);
// The relay closed the connection after the TLS handshake, before answering anything over
// it (`state` is what we were waiting for): it rejected the TLS session, which is what
// relays that demand a client certificate do. A TLS failure, not a generic one.
[[nodiscard]] Failure closed_after_tls_handshake(const std::string& state);

// CONTRACT §5 verdict word for a failure.
[[nodiscard]] const char* verdict_word(const Failure& f);
// The whole verdict line of `sitemailctl test` for a failure: the word, the seed's words
// for it ("SMTP login failed. Check server login or password."), then the description.
// AUTH that was not attempted (it would have sent a password in clear, or nothing the
// relay offers fits) says so instead of blaming the password.
[[nodiscard]] std::string verdict_line(const Failure& f);
// true when AUTH failed without a password having been sent.
[[nodiscard]] bool auth_not_attempted(const Failure& f);

}  // namespace sitemail::smtp
