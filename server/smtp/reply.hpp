// reply.hpp — SMTP replies (RFC 5321 §4.2): multi-line parsing from a byte stream,
// enhanced status codes (RFC 3463), and sanitising remote text before it is stored.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sitemail::smtp {

struct Reply {
  int code = 0;
  std::string enhanced;            // "5.7.8" when the server sent one
  std::vector<std::string> lines;  // text after "NNN-" / "NNN ", one per line

  [[nodiscard]] bool positive() const { return code >= 200 && code < 400; }
  [[nodiscard]] bool transient() const { return code >= 400 && code < 500; }
  [[nodiscard]] bool permanent() const { return code >= 500; }
  // "550 5.1.1 no such user" — first line, sanitised, for logs and the outbox row.
  [[nodiscard]] std::string summary() const;
};

// Bounds of what a relay may send us in one reply. RFC 5321 §4.5.3.1.5 allows 512 octets per
// reply line, RFC 4954 §4 12288 for the lines of an AUTH exchange (334 challenges); real EHLO
// replies have a dozen lines. Beyond these the relay is not speaking SMTP (or is hostile):
// the attempt fails with an error naming the limit.
constexpr std::size_t kMaxReplyLineBytes = 12288;  // one line, CRLF included
constexpr std::size_t kMaxReplyLines = 512;        // lines of one multi-line reply
constexpr std::size_t kMaxReplyBytes = 64 * 1024;  // all lines of one reply together

// Accumulates bytes; yields complete replies in order. A malformed line, or a reply beyond
// the bounds above, is an error: next() then returns nullopt and error() is set (for good).
// Memory stays bounded: consumed bytes are dropped at every feed(), an unfinished line may
// not exceed kMaxReplyLineBytes and a reply not kMaxReplyBytes.
class ReplyParser {
 public:
  void feed(std::string_view bytes);
  [[nodiscard]] std::optional<Reply> next();
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] std::size_t buffered() const { return buf_.size() - pos_; }
  void clear() { buf_.clear(), pos_ = 0; }

 private:
  std::string buf_;
  std::size_t pos_ = 0;
  std::string error_;
  Reply partial_;
  std::size_t partial_bytes_ = 0;
};

// Printable ASCII only, at most `max` characters: remote text is never trusted.
[[nodiscard]] std::string sanitise(std::string_view remote, std::size_t max = 300);

}  // namespace sitemail::smtp
