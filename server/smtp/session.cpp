// session.cpp — see session.hpp. Each reply is matched to the command that caused it
// through `expect_`, which is what makes PIPELINING (several commands in flight) simple.
#include "session.hpp"

#include <utility>

#include "codec.hpp"
#include "text_util.hpp"

namespace sitemail::smtp {

SessionParams session_params(const EffectiveSettings& s) {
  SessionParams p;
  p.helo = s.helo;
  p.allow_extensions = s.flag(Setting::AllowExtensions);
  p.tls = s.tls;
  p.tls_active = s.tls == TlsMode::implicit;
  p.auth = static_cast<AuthMethod>(s.number(Setting::AuthMethod));
  p.creds = Credentials{s.text(Setting::SMTPUserID), s.text(Setting::SMTPPassword), s.text(Setting::OAuthToken), s.helo};
  return p;
}

Session::Session(SessionParams p) : p_(std::move(p)) {
  expect_.push_back({Expect::greeting, 0});
  tls_unanswered_ = p_.tls_active;  // implicit TLS: nothing heard over it yet
}

const char* Session::state_name() const {
  switch (state_) {
    case State::greeting: return "greeting";
    case State::ehlo: return "ehlo";
    case State::helo: return "helo";
    case State::starttls: return "starttls";
    case State::tls_handshake: return "tls-handshake";
    case State::auth: return "auth";
    case State::ready: return "ready";
    case State::transaction: return "transaction";
    case State::body: return "data";
    case State::message_done: return "message-done";
    case State::quit: return "quit";
    case State::closed: return "closed";
    case State::failed: return "failed";
  }
  return "?";
}

Session::Action Session::next() {
  if (!out_.empty()) return Action::write;
  if (streaming_ && state_ == State::body) return Action::stream_body;
  switch (state_) {
    case State::failed: return Action::failed;
    case State::closed: return Action::closed;
    case State::ready: return Action::ready;
    case State::tls_handshake: return Action::start_tls;
    case State::message_done: state_ = State::ready; return Action::message_done;
    default: return Action::read;
  }
}

std::string Session::take_output() { return std::exchange(out_, {}); }

void Session::command(const std::string& line, Expect e, const std::string& shown) {
  out_ += line + "\r\n";
  expect_.push_back({e, 0});
  if (p_.keep_transcript) transcript_.push_back("C: " + (shown.empty() ? line : shown));
}

void Session::fail(Failure f) {
  if (state_ == State::failed) return;
  streaming_ = false;
  next_ = nullptr;
  failure_ = std::move(f);
  state_ = State::failed;
  out_.clear();
  if (p_.keep_transcript) transcript_.push_back("-- " + failure_->describe());
}

void Session::on_eof() {
  if (state_ == State::quit || state_ == State::closed) {
    state_ = State::closed;
    return;
  }
  if (tls_unanswered_) return fail(closed_after_tls_handshake(state_name()));
  fail(network_failure(stage_now(), std::string("the relay closed the connection during ") + state_name()));
}

Stage Session::stage_now() const {
  return state_ == State::greeting      ? Stage::greeting
         : state_ == State::auth        ? Stage::auth
         : state_ == State::transaction ? Stage::mail
         : state_ == State::body        ? Stage::data
                                        : Stage::helo;
}

void Session::on_bytes(std::string_view data) {
  parser_.feed(data);
  // Stop at the end of a message: replies after it belong to the next message (its
  // envelope went out early, see prefetch()) and wait until send() makes it current.
  while (state_ != State::failed && state_ != State::message_done) {
    auto r = parser_.next();
    if (r) tls_unanswered_ = false;
    if (!r) {
      if (!parser_.error().empty()) {
        // The stage where it happened: a relay that talks SMTP and then floods us is not
        // "not an SMTP server", and a flood of 334 lines is an AUTH failure (kind auth).
        const Stage st = stage_now();
        Failure f = network_failure(
            st, (st == Stage::greeting ? "not an SMTP server: " : std::string("bad reply during ") + state_name() + ": ") +
                    parser_.error());
        if (st == Stage::auth) f.kind = FailureKind::auth;
        fail(std::move(f));
      }
      return;
    }
    if (p_.keep_transcript) {  // every line of a multi-line reply (EHLO lists STARTTLS and AUTH further down)
      if (r->lines.empty()) transcript_.push_back("S: " + std::to_string(r->code));
      for (std::size_t i = 0; i < r->lines.size(); ++i)
        transcript_.push_back("S: " + std::to_string(r->code) + (i + 1 < r->lines.size() ? "-" : " ") +
                              sanitise(r->lines[i], 200));
    }
    handle(*r);
  }
}

void Session::after_hello() {
  const bool want_tls = p_.tls == TlsMode::starttls_required || p_.tls == TlsMode::opportunistic;
  if (want_tls && !p_.tls_active) {
    if (caps_.starttls) {
      state_ = State::starttls;
      command("STARTTLS", Expect::starttls);
      return;
    }
    if (p_.tls == TlsMode::starttls_required) {
      fail(Failure{FailureKind::transient,
                   Stage::starttls,
                   tried_ehlo_ && caps_.esmtp ? "TLS is required but the relay does not offer STARTTLS"
                                              : "TLS is required but the relay does not speak ESMTP (no STARTTLS)",
                   {},
                   0});
      return;
    }
  }
  begin_auth();
}

void Session::begin_auth() {
  auto choice = choose_mechanism(p_.auth, caps_.auth, p_.tls_active, p_.creds);
  if (!choice.error.empty()) {
    fail(Failure{FailureKind::auth, Stage::auth, choice.error, {}, 0});
    return;
  }
  if (!choice.mechanism) {
    state_ = State::ready;
    return;
  }
  sasl_ = std::move(choice.mechanism);
  auth_name_ = sasl_->name();
  state_ = State::auth;
  command(sasl_->initial(), Expect::auth, sasl_->redacted_initial());
}

bool Session::envelope_ok(const BuiltMessage& m) const {
  // (a message with 8-bit content for a relay without 8BITMIME is converted first: never prefetched)
  return !(caps_.size && m.octets() > caps_.size) && !(m.needs_smtputf8 && !caps_.smtputf8) &&
         !(m.body != BuiltMessage::Body::seven_bit && !caps_.eightbitmime);
}

void Session::write_envelope(const BuiltMessage& m, bool reset) {
  if (reset) command("RSET", Expect::rset);
  std::string mail = "MAIL FROM:<" + m.envelope_from + ">";
  if (caps_.size) mail += " SIZE=" + std::to_string(m.octets());
  if (m.body != BuiltMessage::Body::seven_bit && caps_.eightbitmime) mail += " BODY=8BITMIME";  // RFC 6152
  if (m.needs_smtputf8) mail += " SMTPUTF8";
  command(mail, Expect::mail);
  if (caps_.pipelining) {
    // One group: MAIL, every RCPT, and DATA last (RFC 2920 §3.1), so a message costs two
    // round trips: the envelope with DATA, then the content (one, when the next message's
    // envelope rides with this one's content: see prefetch()).
    for (std::size_t i = 0; i < m.recipients.size(); ++i) {
      command("RCPT TO:<" + m.recipients[i] + ">", Expect::rcpt);
      expect_.back().second = i;
    }
    command("DATA", Expect::data);
  }
}

void Session::send(const BuiltMessage& m) {
  msg_ = &m;
  result_ = MessageResult{};
  mail_ok_ = false;
  if (prefetched_ == &m) {  // its envelope went out with the last message's content
    prefetched_ = nullptr;
    state_ = State::transaction;
    on_bytes({});  // its replies may be here already
    return;
  }
  if (prefetched_) {  // another message's envelope is on the wire: this one cannot go out
    fail(Failure{FailureKind::transient,
                 Stage::mail,
                 "internal error: a message was sent while another one's envelope was pending",
                 {},
                 0});
    return;
  }
  if (caps_.size && m.octets() > caps_.size) {
    result_.failure = too_large_for_relay(m.octets(), caps_.size);
    state_ = State::message_done;
    return;
  }
  if (m.needs_smtputf8 && !caps_.smtputf8) {
    result_.failure = Failure{
        FailureKind::permanent, Stage::mail, "an address or header is not ASCII and the relay does not offer SMTPUTF8", {}, 0};
    state_ = State::message_done;
    return;
  }
  state_ = State::transaction;
  // RSET only when the last transaction was left open on the relay (a refused DATA, or
  // every recipient refused): after the reply to the end of the message, or to a refused
  // MAIL, the relay has nothing open (RFC 5321 §4.1.1.4), so nothing needs resetting.
  write_envelope(m, open_transaction_);
}

void Session::quit() {
  if (prefetched_) {  // a message's envelope is on the wire: leaving without its content is the safe end
    fail(Failure{FailureKind::transient, Stage::mail, "closed with the next message's envelope pending", {}, 0});
    return;
  }
  state_ = State::quit;
  command("QUIT", Expect::quit);
}

void Session::on_body_streamed() {
  if (!streaming_ || state_ != State::body) return;
  streaming_ = false;
  out_ += ".\r\n";
  end_content();
}

void Session::end_content() {
  expect_.push_back({Expect::body, 0});
  if (p_.keep_transcript) {
    transcript_.push_back("C: <message, " + std::to_string(msg_->octets()) + " bytes>");
    transcript_.push_back("C: .");
  }
  // The next message's envelope in the same write: content may open a command group
  // (RFC 2920 §3.1), and after the reply to its end the relay holds no transaction.
  if (next_ && caps_.pipelining && envelope_ok(*next_)) {
    write_envelope(*next_, false);
    prefetched_ = next_;
  }
  next_ = nullptr;
}

void Session::finish_message() {
  ++messages_;
  state_ = State::message_done;
  next_ = nullptr;  // offered for this message's content, which did not go out
}

void Session::handle(const Reply& r) {
  if (expect_.empty()) {
    fail(network_failure(Stage::greeting, "the relay sent an unexpected reply: " + r.summary()));
    return;
  }
  auto [what, index] = expect_.front();
  expect_.pop_front();
  switch (what) {
    case Expect::greeting:
      if (r.code != 220) return fail(from_reply(Stage::greeting, r, "the relay refused the connection"));
      if (p_.allow_extensions) {
        tried_ehlo_ = true;
        state_ = State::ehlo;
        command("EHLO " + p_.helo, Expect::ehlo);
      } else {
        state_ = State::helo;
        command("HELO " + p_.helo, Expect::helo);
      }
      return;
    case Expect::ehlo:
      if (r.code == 250) {
        caps_ = Capabilities{};
        caps_.esmtp = true;
        for (std::size_t i = 1; i < r.lines.size(); ++i) {
          auto words = split(trim(r.lines[i]), ' ');
          if (words.empty()) continue;
          auto kw = to_lower(words[0]);
          if (kw == "starttls") caps_.starttls = true;
          else if (kw == "pipelining") caps_.pipelining = true;
          else if (kw == "8bitmime") caps_.eightbitmime = true;
          else if (kw == "smtputf8") caps_.smtputf8 = true;
          else if (kw == "size" && words.size() > 1) caps_.size = std::strtoull(words[1].c_str(), nullptr, 10);
          else if (kw == "auth" || kw == "auth=login")
            for (std::size_t w = 1; w < words.size(); ++w) {
              std::string m = words[w];
              for (auto& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
              if (!m.empty()) caps_.auth.insert(m);
            }
        }
        return after_hello();
      }
      if (r.code == 421 || r.transient()) return fail(from_reply(Stage::helo, r, "EHLO refused"));
      // 5xx: the server does not do ESMTP; fall back to HELO (RFC 5321 §3.2)
      state_ = State::helo;
      command("HELO " + p_.helo, Expect::helo);
      return;
    case Expect::helo:
      if (r.code != 250) return fail(from_reply(Stage::helo, r, "HELO refused"));
      caps_ = Capabilities{};
      return after_hello();
    case Expect::starttls:
      if (r.code == 220) {
        if (parser_.buffered() > 0)
          return fail(Failure{FailureKind::transient,
                              Stage::starttls,
                              "the relay sent data after its 220 reply to STARTTLS (possible command injection); aborted",
                              {},
                              0});
        state_ = State::tls_handshake;
        return;
      }
      if (p_.tls == TlsMode::opportunistic) return begin_auth();
      return fail(from_reply(Stage::starttls, r, "STARTTLS refused"));
    case Expect::auth:
      if (r.code == 235) {
        state_ = State::ready;
        return;
      }
      if (r.code == 334 && sasl_) return auth_step(r);
      return fail(from_reply(Stage::auth, r, "SMTP login failed. Check server login or password."));
    case Expect::rset:
      if (r.code != 250) return fail(from_reply(Stage::mail, r, "RSET refused"));
      open_transaction_ = false;
      return;
    case Expect::mail:
      mail_ok_ = r.code == 250;
      if (mail_ok_) open_transaction_ = true;
      if (!mail_ok_) result_.failure = from_reply(Stage::mail, r, "the relay refused the sender");
      if (r.code == 421) return fail(*result_.failure);
      if (!caps_.pipelining) {
        if (!mail_ok_) return finish_message();
        command("RCPT TO:<" + msg_->recipients[0] + ">", Expect::rcpt);
        expect_.back().second = 0;
      }
      return;
    case Expect::rcpt: {
      RecipientResult rr{msg_->recipients[index], r.code == 250 || r.code == 251, r.summary(), r.code};
      result_.recipients.push_back(rr);
      if (r.code == 421) return fail(from_reply(Stage::rcpt, r));
      const bool last = index + 1 == msg_->recipients.size();
      if (!caps_.pipelining && !last) {
        command("RCPT TO:<" + msg_->recipients[index + 1] + ">", Expect::rcpt);
        expect_.back().second = index + 1;
        return;
      }
      if (!last) return;
      bool any = false;
      for (const auto& x : result_.recipients) any = any || x.accepted;
      if (mail_ok_ && !any) {
        // All refused: permanent only when every refusal was permanent.
        bool all_perm = true;
        for (const auto& x : result_.recipients) all_perm = all_perm && x.code >= 500;
        Failure f = from_reply(Stage::rcpt, r, "the relay refused every recipient");
        f.kind = all_perm ? FailureKind::permanent : FailureKind::transient;
        result_.failure = f;
      }
      if (caps_.pipelining) return;  // DATA went with the envelope: its reply comes next
      if (result_.failure) return finish_message();
      state_ = State::transaction;
      command("DATA", Expect::data);
      return;
    }
    case Expect::data:
      if (result_.failure) {
        // A pipelined DATA after a refused MAIL or every recipient refused. A relay that
        // accepts it anyway gets an empty message (a lone dot, RFC 2920 §3.1) whose reply
        // is not a delivery; the refusal already decided this message.
        if (r.code == 421) return fail(from_reply(Stage::data, r, "the relay closed the transaction"));
        if (r.code != 354) return finish_message();
        state_ = State::body;
        out_ += ".\r\n";
        expect_.push_back({Expect::discard, 0});
        if (p_.keep_transcript) transcript_.push_back("C: .");
        return;
      }
      if (r.code != 354) {
        result_.failure = from_reply(Stage::data, r, "the relay refused DATA");
        if (r.code == 421) return fail(*result_.failure);
        return finish_message();
      }
      state_ = State::body;
      if (msg_->streamed()) {  // the driver writes the content, then on_body_streamed()
        streaming_ = true;
        return;
      }
      out_ += dot_stuff(msg_->data);
      end_content();
      return;
    case Expect::body:
      open_transaction_ = false;
      if (r.code == 250) result_.reply = r.summary();
      else result_.failure = from_reply(Stage::data, r, "the relay refused the message");
      if (r.code == 421) return fail(*result_.failure);
      return finish_message();
    case Expect::discard:
      open_transaction_ = false;
      if (r.code == 421) return fail(from_reply(Stage::data, r, "the relay closed the transaction"));
      return finish_message();
    case Expect::quit: state_ = State::closed; return;
  }
}

// One 334 challenge: bounded, decoded, answered. A mechanism may reject what the relay sent
// (or, defensively, throw): either way it is an AUTH failure of this attempt, never more.
void Session::auth_step(const Reply& r) {
  std::string challenge;
  if (r.lines.size() > 1)
    return fail(
        Failure{FailureKind::auth, Stage::auth,
                "the relay sent an AUTH challenge of " + std::to_string(r.lines.size()) + " lines (a 334 challenge is one line)",
                r.summary(), r.code});
  if (!r.lines.empty()) {
    if (r.lines.front().size() > kMaxAuthChallengeBytes)
      return fail(Failure{FailureKind::auth,
                          Stage::auth,
                          "the relay's AUTH challenge is " + std::to_string(r.lines.front().size()) +
                              " bytes, more than the limit of " + std::to_string(kMaxAuthChallengeBytes),
                          {},
                          r.code});
    auto decoded = codec::unbase64(trim(r.lines.front()));
    if (!decoded)
      return fail(Failure{FailureKind::auth, Stage::auth, "the relay sent a malformed AUTH challenge", r.summary(), r.code});
    challenge = std::move(*decoded);
  }
  std::optional<std::string> answer;
  std::string why;
  try {
    answer = sasl_->step(challenge);
    if (!answer) why = sasl_->step_error();
  } catch (const std::exception& e) {
    answer.reset();
    why = std::string("internal error: ") + e.what();
  }
  if (!answer)
    return fail(Failure{FailureKind::auth,
                        Stage::auth,
                        "AUTH " + auth_name_ + " could not continue" + (why.empty() ? std::string() : ": " + why),
                        {},
                        r.code});
  command(codec::base64(*answer), Expect::auth, "<credentials redacted>");
}

void Session::on_tls_started() {
  p_.tls_active = true;
  tls_unanswered_ = true;
  caps_ = Capabilities{};
  state_ = State::ehlo;
  tried_ehlo_ = true;
  command("EHLO " + p_.helo, Expect::ehlo);  // RFC 3207: forget what was learned before TLS
}

}  // namespace sitemail::smtp
