// body_stream.hpp — sending a message whose large content is not in memory (CONTRACT §8):
// the connection pulls each blob from a ContentSource in chunks, encodes it on the way out
// (base64 lines, or line ends made CRLF) and dot-stuffs it, so a 25 MB attachment costs a
// few hundred KiB per connection, never the whole message. The encoders are pure and
// keep their state across chunk boundaries.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "asio.hpp"
#include "message.hpp"

namespace sitemail::smtp {

// Octets of a blob as read, left where the reader received them (the daemon: in libpq's
// result) until the slice is dropped: a slice is never copied on its way to the encoder.
struct Slice {
  std::shared_ptr<const void> owner;  // keeps `bytes` alive
  std::string_view bytes;
};

// Where blob content comes from (the daemon reads outbox_attachment / outbox.raw_message
// in slices over its own database connection).
class ContentSource {
 public:
  virtual ~ContentSource() = default;
  // Up to `max` octets of the blob's column from absolute octet `offset`; nullopt with
  // `error` set when it cannot be read (the row is gone, the database is down).
  virtual asio::awaitable<std::optional<Slice>> read(const BlobRef& blob, std::uint64_t offset, std::size_t max,
                                                     std::string& error) = 0;
};

// Octets read per chunk: a multiple of 57, so base64 chunks are whole 76-column lines.
// 228 KiB: each slice is one query, and a query's fixed costs (a round trip, a wake-up of
// the backend and of a reader thread, the TOAST index descent) were most of large mail's
// CPU at 28.5 KiB. Larger slices only pay when the backend keeps their buffers in its heap
// (the reader's first query sees to it, content_reader.cpp). A connection sending large
// mail holds one slice and its base64 lines, about 540 KiB.
inline constexpr std::size_t kStreamChunk = 57 * 4096;  // 233,472 octets

// RFC 5321 §4.5.2 transparency over pieces of a message.
class DotStuffer {
 public:
  void feed(std::string_view in, std::string& out);
  // The caller appended whole lines that cannot start with '.' (base64) to the output itself.
  void appended_lines() { line_start_ = true; }
  // What must follow the content before the final ".\r\n": a CRLF when it did not end with one.
  [[nodiscard]] std::string_view tail() const { return line_start_ ? std::string_view() : std::string_view("\r\n"); }

 private:
  bool line_start_ = true;
};

// CR, LF and CRLF line ends made CRLF, across chunk boundaries.
class CrlfNormaliser {
 public:
  void feed(std::string_view in, std::string& out);
  void finish(std::string& out);  // a CR left pending at the very end

 private:
  bool pending_cr_ = false;
};

}  // namespace sitemail::smtp
