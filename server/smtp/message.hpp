// message.hpp — building the RFC 5322 message and SMTP envelope for one outbox row with
// its site's settings: headers (RFC 2047 for non-ASCII), text/HTML bodies
// (multipart/alternative, quoted-printable), attachments (multipart/mixed, inline parts in
// multipart/related, base64), raw messages (message_raw.cpp), CRLF-only lines of at most
// 998 octets, and rejection of control characters in addresses and header values. A
// message whose large content is not in memory is built as a list of segments that the
// connection reads and encodes while it sends (body_stream.hpp).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "effective_settings.hpp"
#include "outcome.hpp"

namespace sitemail::smtp {

// One attachment row (outbox_attachment, CONTRACT §8).
struct Attachment {
  long long id = 0;
  std::string filename, content_type, disposition, content_id;
  std::uint64_t size = 0;              // octets of `content`
  std::optional<std::string> content;  // loaded with the row when small; else read while sending
};

// One outbox row, as the application wrote it.
struct OutboxMessage {
  long long id = 0;
  std::string nvtgc;
  std::string to, cc, bcc;  // comma-separated; "addr" or "Name <addr>"
  std::string from_addr, from_name, reply_to, subject, body_text, body_html;
  std::string headers;                  // extra "Name: value" lines
  std::vector<Attachment> attachments;  // in id order
  bool has_raw = false;                 // raw_message is set (CONTRACT §8)
  std::string raw_head;                 // raw_message, or its first octets when it is large
  std::uint64_t raw_size = 0;
  [[nodiscard]] bool raw_complete() const { return raw_head.size() == raw_size; }
};

// A row of the twelve message columns (no attachments, no raw message).
[[nodiscard]] OutboxMessage outbox_row(long long id, std::string nvtgc, std::string to, std::string cc, std::string bcc,
                                       std::string from_addr, std::string from_name, std::string reply_to, std::string subject,
                                       std::string body_text, std::string body_html, std::string headers);

// Content read while the message is sent (a large attachment or raw message).
struct BlobRef {
  enum class Table { attachment, raw } table = Table::attachment;
  long long id = 0;          // outbox_attachment.id, or outbox.id for raw_message
  std::uint64_t offset = 0;  // first octet to send
  std::uint64_t size = 0;    // octets from there
};

// A piece of a streamed message: literal bytes (CRLF lines as they go out), or a blob
// encoded on the way out (base64 in 76-column lines, or line ends made CRLF).
struct Segment {
  enum class Encoding { literal, base64, crlf } encoding = Encoding::literal;
  std::string bytes;  // literal only
  BlobRef blob;       // base64 / crlf
};

struct BuiltMessage {
  std::string envelope_from;
  std::vector<std::string> recipients;  // to + cc + bcc, deduplicated, envelope form
  std::string data;                     // the message: CRLF lines, not dot-stuffed (empty when streamed)
  std::string message_id;               // "<...>"
  bool needs_smtputf8 = false;          // an address or (raw) header text is not ASCII
  std::vector<Segment> stream;          // when not empty, the message is these, read while sending
  std::uint64_t stream_size = 0;        // octets of the streamed message (estimate for a raw body)
  enum class Body { seven_bit, eight_bit, unknown } body = Body::seven_bit;  // 8-bit octets in the content?
  [[nodiscard]] bool streamed() const { return !stream.empty(); }
  // Octets as sent, before dot-stuffing: what SIZE declares and MaxMessageSize limits.
  [[nodiscard]] std::uint64_t octets() const { return streamed() ? stream_size : data.size(); }
};

// A message already built (tests, `sitemailctl test --send-to`): CRLF lines in memory.
[[nodiscard]] inline BuiltMessage make_built(std::string from, std::vector<std::string> rcpts, std::string data,
                                             std::string message_id) {
  BuiltMessage m;
  m.envelope_from = std::move(from);
  m.recipients = std::move(rcpts);
  m.data = std::move(data);
  m.message_id = std::move(message_id);
  return m;
}

struct BuildResult {
  std::optional<BuiltMessage> message;
  std::optional<Failure> failure;  // permanent (bad message) or config (site cannot send)
};

// `now` is seconds since the epoch (for the Date header); tests pass a fixed value.
[[nodiscard]] BuildResult build_message(const OutboxMessage& m, const EffectiveSettings& s, long long now);
// The raw_message part of build_message() (message_raw.cpp).
[[nodiscard]] BuildResult build_raw_message(const OutboxMessage& m, const EffectiveSettings& s, long long now);

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
