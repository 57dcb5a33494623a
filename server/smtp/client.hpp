// client.hpp — one SMTP connection for one site, driven with C++20 coroutines: open()
// connects (via the proxy), reads the greeting, says EHLO, starts TLS, authenticates;
// send() delivers one message (several per connection); close() says QUIT. With a token
// source (OAuth 2.0), open() gets the access token first and, when the relay refuses it,
// gets one fresh token and connects once more before the failure counts.
#pragma once
#include <functional>
#include <memory>

#include "body_stream.hpp"
#include "session.hpp"
#include "token_source.hpp"
#include "transport.hpp"

namespace sitemail::smtp {

class Client {
 public:
  Client(const asio::any_io_executor& ex, std::shared_ptr<const EffectiveSettings> settings, std::shared_ptr<TlsSetup> tls,
         bool keep_transcript = false, std::shared_ptr<TokenSource> tokens = nullptr);
  ~Client();

  asio::awaitable<std::optional<Failure>> open();
  // A connection-level failure appears as result.failure and makes the client unusable.
  // `next` (optional): the message to send after this one; when the relay pipelines, its
  // envelope goes out with this one's content (session().prefetched(*next) says whether it
  // did, and then it must be the next send()). It must stay alive until then.
  asio::awaitable<MessageResult> send(const BuiltMessage& m, const BuiltMessage* next = nullptr);
  // Says QUIT when the session is usable, ends TLS with close_notify, closes; never
  // takes longer than kCloseLimit.
  asio::awaitable<void> close();
  // Bounds what follows (open(), or one send()) as a whole; 0 = no overall deadline.
  void set_deadline(std::chrono::seconds d);
  static constexpr std::chrono::seconds kCloseLimit{5};

  [[nodiscard]] bool usable() const { return usable_; }
  [[nodiscard]] const Session& session() const { return session_; }
  [[nodiscard]] std::string peer() const { return transport_->peer(); }
  // Where streamed content (BuiltMessage::streamed()) is read from; without one such a
  // message fails (transient) before anything of it is sent.
  void set_content_source(std::shared_ptr<ContentSource> src) { content_ = std::move(src); }
  // `sitemailctl test`: called with "connecting to host:port", "waiting for the greeting", ...
  void on_progress(std::function<void(const std::string&)> f) { progress_ = std::move(f); }

 private:
  asio::awaitable<void> drive();  // performs actions until ready / message_done / closed / failed
  // Action::stream_body: reads, encodes, dot-stuffs and writes the current message's segments.
  asio::awaitable<std::optional<Failure>> stream_body(const BuiltMessage& m);
  asio::awaitable<std::optional<Failure>> write_stream(std::string& out);  // writes and empties `out`
  asio::awaitable<std::optional<Failure>> write_stream(std::string_view bytes);
  // 8-bit content for a relay without 8BITMIME (RFC 6152): converted (in memory), or a
  // permanent failure saying why; nullopt = send `m` as it is.
  asio::awaitable<std::optional<Failure>> fit_8bit(const BuiltMessage& m);
  std::optional<BuiltMessage> converted_;  // the 7-bit copy being sent
  asio::awaitable<std::optional<Failure>> open_once();
  [[nodiscard]] bool wants_token() const;

  std::shared_ptr<const EffectiveSettings> settings_;
  std::shared_ptr<TlsSetup> tls_;
  std::shared_ptr<Transport> transport_;
  Session session_;
  bool usable_ = false;
  std::function<void(const std::string&)> progress_;
  std::string last_progress_;
  void progress(const std::string& what);
  asio::any_io_executor ex_;
  bool keep_transcript_ = false;
  std::shared_ptr<TokenSource> tokens_;
  std::shared_ptr<ContentSource> content_;
};

}  // namespace sitemail::smtp
