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
  // `threads` connections are opened on first use and reopened after an error. Four: each
  // PostgreSQL backend reading TOAST slices is CPU-bound (about 60-100 MB/s of content
  // each on the benchmark's machine), and two were the limit for large mail (issue 15).
  ContentReader(std::string conninfo, int threads = 4);
  ~ContentReader() override;
  asio::awaitable<std::optional<std::string>> read(const smtp::BlobRef& blob, std::uint64_t offset, std::size_t max,
                                                   std::string& error) override;

 private:
  struct Worker;
  std::shared_ptr<Worker> w_;
};

}  // namespace sitemail
