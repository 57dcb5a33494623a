// raw_message.hpp — a complete RFC 5322 message built by the application (outbox.raw_message,
// CONTRACT §8): its header block scanned and rewritten (CRLF, lines over 998 octets folded,
// Bcc removed, Date/Message-ID/OtherHeaders added when missing), the envelope recipients
// taken from its To/Cc/Bcc when the row names none, and — for a relay without 8BITMIME —
// 8-bit MIME parts re-encoded. Pure functions over bytes: no I/O.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sitemail::smtp::raw {

// The header block may not be longer than this (a message whose first blank line comes
// later has no usable header block).
inline constexpr std::size_t kMaxHeaderBlock = 65536;

struct HeaderField {
  std::string name;      // as written
  std::string lines;     // the whole field, CRLF line ends, folded lines included, ends CRLF
  std::size_t line = 0;  // 1-based line of the message where it starts
};

struct Scan {
  std::vector<HeaderField> fields;
  std::size_t body_offset = 0;  // octets of the original bytes before the body
  bool eight_bit_headers = false;
  std::string error;  // what is wrong and where; empty when usable
};

// Scans the header block at the start of `head` (the message, or its first octets when
// `complete` is false). Errors: no header field on the first line, a line that is not a
// field, no end of the header block within kMaxHeaderBlock, a line over 998 octets that
// cannot be folded (no white space to fold at).
[[nodiscard]] Scan scan_headers(std::string_view head, bool complete);

// The value of the first field named `name` (case-insensitive), unfolded; nullopt when absent.
[[nodiscard]] std::optional<std::string> field_value(const Scan& s, std::string_view name);
[[nodiscard]] bool has_field(const Scan& s, std::string_view name);

// Mailboxes of an address-list header value (RFC 5322 §3.4: display names, quoted
// strings, comments, groups). Sets `error` and returns what it could when one is bad.
[[nodiscard]] std::vector<std::string> mailboxes(std::string_view value, std::string& error);

// Re-encodes the 8-bit parts of a whole message (CRLF lines) in quoted-printable (text)
// or base64 (anything else), walking multipart bodies; nullopt with `error` when it
// cannot (8-bit header text, a malformed multipart).
[[nodiscard]] std::optional<std::string> downgrade_to_7bit(std::string_view message, std::string& error);

[[nodiscard]] bool has_8bit(std::string_view bytes);

}  // namespace sitemail::smtp::raw
