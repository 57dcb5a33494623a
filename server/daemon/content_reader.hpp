// content_reader.hpp — where sitemaild reads large message content while it sends it
// (CONTRACT §8): slices of outbox_attachment.content and outbox.raw_message over a few
// database connections of its own, on their own threads, so the io thread never waits for
// the database and a connection holds one slice at a time, never a whole 25 MB message.
#pragma once
#include <memory>
#include <string>

#include "body_stream.hpp"

namespace sitemail {

class ContentReader : public smtp::ContentSource {
 public:
  // `threads` connections are opened on first use and reopened after an error.
  explicit ContentReader(std::string conninfo, int threads = default_threads());
  // One connection per two cores, 1 to 4. A backend serves 228 KiB slices at 250-300 MB/s
  // of one core; each more backend costs its own page faults on the shared buffers and a
  // share of the CPU the relays' connections need (issue 15 benchmark, docs/attachments.md).
  static int default_threads();
  ~ContentReader() override;
  asio::awaitable<std::optional<smtp::Slice>> read(const smtp::BlobRef& blob, std::uint64_t offset, std::size_t max,
                                                   std::string& error) override;

 private:
  struct Worker;
  std::shared_ptr<Worker> w_;
};

}  // namespace sitemail
