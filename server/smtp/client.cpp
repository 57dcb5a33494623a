// client.cpp — see client.hpp: the thin I/O layer that performs a Session's actions.
#include "client.hpp"

#include "codec.hpp"
#include "raw_message.hpp"

namespace sitemail::smtp {

namespace {
SessionParams with_transcript(SessionParams p, bool keep) {
  p.keep_transcript = keep;
  return p;
}
}  // namespace

Client::Client(const asio::any_io_executor& ex, std::shared_ptr<const EffectiveSettings> settings, std::shared_ptr<TlsSetup> tls,
               bool keep_transcript, std::shared_ptr<TokenSource> tokens)
    : settings_(std::move(settings)),
      tls_(std::move(tls)),
      transport_(std::make_shared<Transport>(ex, std::chrono::seconds(settings_->number(Setting::Timeout)))),
      session_(with_transcript(session_params(*settings_), keep_transcript)),
      ex_(ex),
      keep_transcript_(keep_transcript),
      tokens_(std::move(tokens)) {}

Client::~Client() { transport_->close(); }

void Client::progress(const std::string& what) {
  if (!progress_ || what == last_progress_) return;
  last_progress_ = what;
  progress_(what);
}

asio::awaitable<void> Client::drive() {
  char buf[16384];
  while (true) {
    switch (session_.next()) {
      case Session::Action::write: {
        boost::system::error_code ec;
        auto out = session_.take_output();
        co_await transport_->write_all(out, ec);
        if (ec)
          session_.abort(
              network_failure(Stage::message, std::string("write failed during ") + session_.state_name() + ": " +
                                                  (transport_->timed_out() ? transport_->timeout_text() : ec.message())));
        break;
      }
      case Session::Action::read: {
        const std::string state = session_.state_name();
        progress(state == "greeting" ? "connected to " + transport_->peer() + ", waiting for the greeting"
                                     : "waiting for the " + state + " reply");
        boost::system::error_code ec;
        std::size_t n = co_await transport_->read_some(buf, sizeof buf, ec);
        if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
            (ec == asio::error::connection_reset && !transport_->timed_out())) {
          session_.on_eof();  // the relay closed (or reset) the connection
        } else if (ec) {
          Stage st = std::string_view(session_.state_name()) == "greeting" ? Stage::greeting : Stage::message;
          session_.abort(network_failure(st, std::string("read failed during ") + session_.state_name() + ": " +
                                                 (transport_->timed_out() ? transport_->timeout_text() : ec.message())));
        } else {
          session_.on_bytes(std::string_view(buf, n));
        }
        break;
      }
      case Session::Action::stream_body: {
        const BuiltMessage* m = session_.current();
        std::optional<Failure> f;  // (no temporaries in a co_await expression: GCC 12)
        if (m) f = co_await stream_body(*m);
        else f = content_unreadable("no message");
        if (f) session_.abort(*f);
        else session_.on_body_streamed();
        break;
      }
      case Session::Action::start_tls: {
        progress("TLS handshake (STARTTLS)");
        auto f = co_await transport_->start_tls(*tls_, settings_->text(Setting::EMailSMTPServer));
        if (f) session_.abort(*f);
        else session_.on_tls_started();
        break;
      }
      default: co_return;
    }
  }
}

bool Client::wants_token() const {
  const auto m = static_cast<AuthMethod>(settings_->number(Setting::AuthMethod));
  if (m == AuthMethod::xoauth2 || m == AuthMethod::oauthbearer) return true;
  return m == AuthMethod::automatic && !settings_->text(Setting::SMTPUserID).empty();
}

asio::awaitable<std::optional<Failure>> Client::open() {
  if (!tokens_ || !wants_token()) co_return co_await open_once();
  auto params = with_transcript(session_params(*settings_), keep_transcript_);
  auto grant = co_await tokens_->get();
  if (grant.failure) co_return grant.failure;
  params.creds.oauth_token = grant.access_token;
  session_ = Session(params);
  auto f = co_await open_once();
  const bool bearer = session_.auth_mechanism() == "XOAUTH2" || session_.auth_mechanism() == "OAUTHBEARER";
  if (!f || f->kind != FailureKind::auth || f->stage != Stage::auth || !bearer) co_return f;
  // The relay refused the (cached) token: one fresh token, one new connection (CONTRACT §7).
  transport_->close();
  transport_ = std::make_shared<Transport>(ex_, std::chrono::seconds(settings_->number(Setting::Timeout)));
  auto earlier = session_.transcript();
  const std::string refused = std::move(params.creds.oauth_token);
  grant = co_await tokens_->refresh(refused);
  if (grant.failure) co_return grant.failure;
  params.creds.oauth_token = grant.access_token;
  session_ = Session(params);
  if (keep_transcript_) {
    earlier.push_back("-- the relay refused the token; retrying once with a fresh token");
    session_.prepend_transcript(std::move(earlier));
  }
  co_return co_await open_once();
}

asio::awaitable<std::optional<Failure>> Client::open_once() {
  if (settings_->tls != TlsMode::none) {
    if (!tls_) co_return config_failure("TLS is required but no TLS context was prepared");
    if (tls_->error) co_return *tls_->error;
  }
  progress(
      "connecting to " + settings_->text(Setting::EMailSMTPServer) + ":" + std::to_string(settings_->port) +
      (static_cast<FirewallType>(settings_->number(Setting::FirewallType)) == FirewallType::none ? "" : " through the proxy"));
  if (auto f = co_await transport_->connect(*settings_)) co_return f;
  auto leftover = transport_->take_leftover();
  if (settings_->tls == TlsMode::implicit) {
    if (!leftover.empty())
      co_return Failure{FailureKind::transient, Stage::tls, "the relay sent data before the TLS handshake", {}, 0};
    progress("TLS handshake (implicit TLS)");
    if (auto f = co_await transport_->start_tls(*tls_, settings_->text(Setting::EMailSMTPServer))) co_return f;
  }
  if (!leftover.empty()) session_.on_bytes(leftover);
  co_await drive();
  if (session_.next() == Session::Action::failed) co_return session_.failure();
  usable_ = true;
  co_return std::nullopt;
}

asio::awaitable<std::optional<Failure>> Client::write_stream(std::string& out) {
  if (out.empty()) co_return std::nullopt;
  boost::system::error_code ec;
  co_await transport_->write_all(out, ec);
  out.clear();
  if (!ec) co_return std::nullopt;
  std::string why = transport_->timed_out() ? transport_->timeout_text() : ec.message();
  co_return network_failure(Stage::data, "write failed during data: " + why);
}

asio::awaitable<std::optional<Failure>> Client::write_stream(std::string_view bytes) {
  boost::system::error_code ec;
  co_await transport_->write_all(bytes, ec);
  if (!ec) co_return std::nullopt;
  std::string why = transport_->timed_out() ? transport_->timeout_text() : ec.message();
  co_return network_failure(Stage::data, "write failed during data: " + why);
}

asio::awaitable<std::optional<Failure>> Client::stream_body(const BuiltMessage& m) {
  DotStuffer stuff;
  std::string out;
  std::unique_ptr<char[]> lines;  // a slice's base64 lines, written in place (never zeroed first)
  for (const auto& seg : m.stream) {
    if (seg.encoding == Segment::Encoding::literal) {
      stuff.feed(seg.bytes, out);
      continue;
    }
    if (!content_) co_return content_unreadable("no content source");
    CrlfNormaliser crlf;
    std::uint64_t done = 0;
    while (done < seg.blob.size) {
      std::string error;
      const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kStreamChunk, seg.blob.size - done));
      const std::uint64_t at = seg.blob.offset + done;
      std::optional<Slice> chunk = co_await content_->read(seg.blob, at, want, error);
      if (!chunk) co_return content_unreadable(error);
      const std::string_view bytes = chunk->bytes;
      if (bytes.size() != want)
        co_return content_unreadable("the content is " + std::to_string(at + bytes.size()) + " octets, not the " +
                                     std::to_string(seg.blob.offset + seg.blob.size) + " it had when claimed");
      done += bytes.size();
      if (seg.encoding == Segment::Encoding::base64) {
        // What came before (part headers) goes first; then the lines, straight from the
        // buffer. No '.' in base64: stuffing is only bookkeeping.
        std::optional<Failure> f = co_await write_stream(out);
        if (f) co_return f;
        if (!lines) lines = std::make_unique_for_overwrite<char[]>(codec::base64_lines_size(kStreamChunk));
        const char* end = codec::base64_lines_to(bytes, lines.get());
        stuff.appended_lines();
        f = co_await write_stream(std::string_view(lines.get(), static_cast<std::size_t>(end - lines.get())));
        if (f) co_return f;
        continue;
      }
      std::string normalised;
      crlf.feed(bytes, normalised);
      if (done == seg.blob.size) crlf.finish(normalised);
      stuff.feed(normalised, out);
      std::optional<Failure> f = co_await write_stream(out);
      if (f) co_return f;
    }
  }
  out += stuff.tail();
  std::optional<Failure> f = co_await write_stream(out);
  co_return f;
}

asio::awaitable<std::optional<Failure>> Client::fit_8bit(const BuiltMessage& m) {
  converted_.reset();
  if (m.body == BuiltMessage::Body::seven_bit || session_.capabilities().eightbitmime) co_return std::nullopt;
  auto refuse = [](const std::string& why) {
    return Failure{FailureKind::permanent, Stage::message, "8-bit content and the relay does not offer 8BITMIME: " + why, {}, 0};
  };
  if (!m.streamed()) {
    std::string error;
    auto seven = raw::downgrade_to_7bit(m.data, error);
    if (!seven) co_return refuse("it cannot be converted (" + error + ")");
    converted_ = m;
    converted_->data = std::move(*seven);
    converted_->body = BuiltMessage::Body::seven_bit;
    co_return std::nullopt;
  }
  // Too large to convert in memory: read it once to learn whether it has 8-bit octets.
  for (const auto& seg : m.stream) {
    if (seg.encoding != Segment::Encoding::crlf) continue;
    if (!content_) co_return content_unreadable("no content source");
    for (std::uint64_t done = 0; done < seg.blob.size;) {
      std::string error;
      const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kStreamChunk, seg.blob.size - done));
      const std::uint64_t at = seg.blob.offset + done;
      std::optional<Slice> chunk = co_await content_->read(seg.blob, at, want, error);
      if (!chunk || chunk->bytes.empty()) co_return content_unreadable(chunk ? "the content is shorter than claimed" : error);
      if (raw::has_8bit(chunk->bytes))
        co_return refuse("a message of " + std::to_string(m.octets()) + " bytes is too large to be converted");
      done += chunk->bytes.size();
    }
  }
  converted_ = m;
  converted_->body = BuiltMessage::Body::seven_bit;
  co_return std::nullopt;
}

asio::awaitable<MessageResult> Client::send(const BuiltMessage& m, const BuiltMessage* next) {
  if (session_.prefetched(m)) {
    converted_.reset();  // its envelope is on the wire: it was fit to send when offered
  } else {
    std::optional<Failure> f = co_await fit_8bit(m);
    if (f) {
      MessageResult r;  // nothing of it was sent; the connection goes on
      r.failure = *f;
      co_return r;
    }
  }
  const BuiltMessage& out = converted_ ? *converted_ : m;
  if (next) session_.prefetch(*next);
  session_.send(out);
  co_await drive();
  if (session_.next() == Session::Action::failed) {
    usable_ = false;
    MessageResult r = session_.message_result();
    r.failure = session_.failure();
    co_return r;
  }
  co_return session_.message_result();
}

void Client::set_deadline(std::chrono::seconds d) {
  if (d.count() == 0) transport_->set_deadline(std::nullopt);
  else transport_->set_deadline(std::chrono::steady_clock::now() + d);
}

asio::awaitable<void> Client::close() {
  transport_->set_deadline(std::chrono::steady_clock::now() + kCloseLimit);
  if (usable_) {
    usable_ = false;
    session_.quit();
    co_await drive();
  }
  co_await transport_->shutdown(kCloseLimit);
}

}  // namespace sitemail::smtp
