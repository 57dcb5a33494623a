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

// Accumulates bytes; yields complete replies in order. A malformed line is an error
// (the server is not speaking SMTP): parse() then returns nullopt and error() is set.
class ReplyParser {
 public:
  void feed(std::string_view bytes) { buf_.append(bytes); }
  [[nodiscard]] std::optional<Reply> next();
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] std::size_t buffered() const { return buf_.size() - pos_; }
  void clear() { buf_.clear(), pos_ = 0; }

 private:
  std::string buf_;
  std::size_t pos_ = 0;
  std::string error_;
  Reply partial_;
};

// Printable ASCII only, at most `max` characters: remote text is never trusted.
[[nodiscard]] std::string sanitise(std::string_view remote, std::size_t max = 300);

}  // namespace sitemail::smtp
