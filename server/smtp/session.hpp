// session.hpp — the SMTP client dialogue as a sans-io state machine: bytes in, actions
// out, no sockets. A thin Asio driver (client.cpp) performs the actions. Covers greeting,
// EHLO/HELO fallback, STARTTLS (with the empty-buffer check), AUTH, MAIL/RCPT with
// PIPELINING (MAIL, RCPT and DATA in one group, and the next message's envelope after a
// message's content), DATA, RSET only after a transaction left open, and QUIT.
#pragma once
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "effective_settings.hpp"
#include "message.hpp"
#include "outcome.hpp"
#include "reply.hpp"
#include "sasl.hpp"

namespace sitemail::smtp {

struct SessionParams {
  std::string helo;
  bool allow_extensions = true;
  TlsMode tls = TlsMode::none;
  bool tls_active = false;  // implicit TLS: already encrypted when the dialogue starts
  AuthMethod auth = AuthMethod::automatic;
  Credentials creds;
  bool keep_transcript = false;  // `sitemailctl test --transcript` and tests; off for the daemon
};

[[nodiscard]] SessionParams session_params(const EffectiveSettings& s);

struct Capabilities {
  bool esmtp = false, starttls = false, pipelining = false, eightbitmime = false, smtputf8 = false;
  std::size_t size = 0;  // 0 = no limit announced
  std::set<std::string> auth;
};

struct RecipientResult {
  std::string address;
  bool accepted = false;
  std::string reply;  // sanitised
  int code = 0;
};

struct MessageResult {
  std::vector<RecipientResult> recipients;
  std::optional<Failure> failure;  // whole-message failure (MAIL, DATA, or all recipients)
  std::string reply;               // final reply to DATA when accepted
  [[nodiscard]] bool delivered() const { return !failure.has_value(); }
};

class Session {
 public:
  // stream_body: the message's content is not in memory (BuiltMessage::streamed()); the
  // driver writes it (encoded, dot-stuffed, with a final CRLF) and calls on_body_streamed().
  enum class Action { read, write, start_tls, ready, message_done, closed, failed, stream_body };

  explicit Session(SessionParams p);

  // What the driver must do next.
  [[nodiscard]] Action next();
  [[nodiscard]] std::string take_output();  // bytes for Action::write
  void on_bytes(std::string_view data);     // after a read
  void on_tls_started();                    // after the TLS handshake of STARTTLS
  void on_eof();                            // the peer closed the connection
  void on_body_streamed();                  // after Action::stream_body: the content is on the wire
  [[nodiscard]] const BuiltMessage* current() const { return msg_; }
  void abort(Failure f) { fail(std::move(f)); }  // the driver saw a network/TLS error

  // In state `ready`: send one message (RSET first when the last one was left open).
  void send(const BuiltMessage& m);
  // Offers the message to send after the current one (call before send()): when the relay
  // pipelines, its envelope goes out in the same write as the current message's content,
  // so a message costs one round trip. `next` must stay alive until it is sent.
  void prefetch(const BuiltMessage& next) { next_ = &next; }
  // The envelope of this message is already on the wire: it must be the next send().
  [[nodiscard]] bool prefetched(const BuiltMessage& m) const { return prefetched_ == &m; }
  void quit();

  [[nodiscard]] const Capabilities& capabilities() const { return caps_; }
  [[nodiscard]] const Failure& failure() const { return *failure_; }
  [[nodiscard]] const MessageResult& message_result() const { return result_; }
  [[nodiscard]] bool tls_active() const { return p_.tls_active; }
  [[nodiscard]] const std::string& auth_mechanism() const { return auth_name_; }
  [[nodiscard]] const std::vector<std::string>& transcript() const { return transcript_; }
  // Lines of an earlier connection attempt shown before this one's (token retry).
  void prepend_transcript(std::vector<std::string> lines) { transcript_.insert(transcript_.begin(), lines.begin(), lines.end()); }
  [[nodiscard]] const char* state_name() const;
  [[nodiscard]] int messages_sent() const { return messages_; }

 private:
  enum class State {
    greeting,
    ehlo,
    helo,
    starttls,
    tls_handshake,
    auth,
    ready,
    transaction,
    body,
    message_done,
    quit,
    closed,
    failed
  };
  enum class Expect { greeting, ehlo, helo, starttls, auth, rset, mail, rcpt, data, body, discard, quit };

  void command(const std::string& line, Expect e, const std::string& shown = {});
  void handle(const Reply& r);
  void after_hello();
  void begin_auth();
  void auth_step(const Reply& r);
  [[nodiscard]] Stage stage_now() const;
  void fail(Failure f);
  void finish_message();
  void end_content();                                           // after the content: the final dot and the next envelope
  [[nodiscard]] bool envelope_ok(const BuiltMessage& m) const;  // SIZE and SMTPUTF8 allow it
  void write_envelope(const BuiltMessage& m, bool reset);

  SessionParams p_;
  State state_ = State::greeting;
  ReplyParser parser_;
  std::string out_;
  std::deque<std::pair<Expect, std::size_t>> expect_;  // replies we wait for, in order
  Capabilities caps_;
  std::optional<Failure> failure_;
  std::unique_ptr<SaslMechanism> sasl_;
  std::string auth_name_;
  std::vector<std::string> transcript_;
  // current transaction
  const BuiltMessage* msg_ = nullptr;
  const BuiltMessage* next_ = nullptr;        // offered by prefetch() for the current content
  const BuiltMessage* prefetched_ = nullptr;  // its envelope went out; the next send()
  MessageResult result_;
  bool mail_ok_ = false;
  bool open_transaction_ = false;  // the relay holds an unfinished transaction: RSET before the next
  int messages_ = 0;
  bool tried_ehlo_ = false;
  bool tls_unanswered_ = false;  // TLS is up but the relay has not answered over it yet
  bool streaming_ = false;       // Action::stream_body until on_body_streamed()
};

}  // namespace sitemail::smtp
