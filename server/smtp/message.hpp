// message.hpp — building the RFC 5322 message and SMTP envelope for one outbox row with
// its site's settings: headers (RFC 2047 for non-ASCII), text/HTML bodies
// (multipart/alternative, quoted-printable), CRLF-only lines of at most 998 octets, and
// rejection of control characters in addresses and header values.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "effective_settings.hpp"
#include "outcome.hpp"

namespace sitemail::smtp {

// One outbox row, as the application wrote it.
struct OutboxMessage {
  long long id = 0;
  std::string nvtgc;
  std::string to, cc, bcc;  // comma-separated; "addr" or "Name <addr>"
  std::string from_addr, from_name, reply_to, subject, body_text, body_html;
  std::string headers;      // extra "Name: value" lines
};

struct BuiltMessage {
  std::string envelope_from;
  std::vector<std::string> recipients;  // to + cc + bcc, deduplicated, envelope form
  std::string data;                     // the message: CRLF lines, not dot-stuffed
  std::string message_id;               // "<...>"
  bool needs_smtputf8 = false;          // an address is not ASCII
};

struct BuildResult {
  std::optional<BuiltMessage> message;
  std::optional<Failure> failure;  // permanent (bad message) or config (site cannot send)
};

// `now` is seconds since the epoch (for the Date header); tests pass a fixed value.
[[nodiscard]] BuildResult build_message(const OutboxMessage& m, const EffectiveSettings& s, long long now);

// Normalises every line end (CR, LF, CRLF) to CRLF.
[[nodiscard]] std::string to_crlf(std::string_view text);
// RFC 5321 §4.5.2 transparency: a leading '.' on a line is doubled; ends with CRLF.CRLF.
[[nodiscard]] std::string dot_stuff(std::string_view crlf_message);

// One address from a list: "a@b" or "Name <a@b>"; error text when invalid.
struct Address {
  std::string display, mailbox;
};
[[nodiscard]] std::optional<Address> parse_address(std::string_view text, std::string& error);

}  // namespace sitemail::smtp
