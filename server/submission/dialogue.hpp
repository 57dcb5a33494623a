// dialogue.hpp — the server side of SMTP submission (CONTRACT §9) as a sans-io state machine:
// bytes in, replies and actions out, no sockets and no database (it mirrors the client's
// server/smtp/session.*). The driver (listener.cpp) reads when asked, writes take_output(),
// and answers the actions that need the outside world:
//   authenticate  -> auth_done(verdict)     (user()/password(); scrypt, off the io thread)
//   check_sender  -> sender_done(verdict)   (account/network policy: senders, max-per-hour)
//   store         -> stored(id) / store_failed()   (the row committed, or not)
//   start_tls     -> tls_started()          (after the handshake; the dialogue starts anew)
//   close         -> the connection ends (after the output was written)
// Commands are processed one at a time, so pipelined commands wait behind an action.
// Limits: command lines of 512 octets, text lines of 1000, max_message_size, max_recipients;
// the end of data is only CRLF.CRLF and a bare CR or LF anywhere in the data refuses it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace sitemail::submission {

struct DialogueParams {
  std::string hostname = "localhost";       // in the greeting, EHLO reply and Received:
  std::size_t max_message_size = 26214400;  // octets of DATA (before the Received: line)
  std::size_t max_recipients = 100;
  bool starttls_available = false;   // tls_cert/tls_key configured
  bool tls_active = false;           // implicit TLS (RFC 8314): encrypted from the start
  bool loopback = false;             // the local address is loopback: AUTH without TLS allowed
  bool trusted = false;              // the client is in a trusted network: MAIL without AUTH
  std::string peer_ip;               // for Received:
  std::function<std::string()> now;  // RFC 5322 date for Received:; empty = the real clock
};

enum class AuthVerdict { ok, bad, throttled, temporary };
enum class SenderVerdict { ok, refused, rate_limited, temporary };

class Dialogue {
 public:
  enum class Action { read, write, authenticate, check_sender, store, start_tls, close };
  static constexpr std::size_t kMaxCommandLine = 512;  // octets, CRLF included (RFC 5321 4.5.3.1.4)
  static constexpr std::size_t kMaxTextLine = 1000;    // octets, CRLF included (4.5.3.1.6)
  static constexpr int kMaxErrors = 20;                // bad commands before 421

  explicit Dialogue(DialogueParams p);

  [[nodiscard]] Action next();
  [[nodiscard]] std::string take_output();
  void on_bytes(std::string_view data);
  void on_eof();
  void on_timeout();  // the client was silent too long: 421 and close
  void shutdown();    // the daemon stops: 421 and close

  void auth_done(AuthVerdict v);
  void sender_done(SenderVerdict v);
  void stored(long long id);
  // in_doubt: the database connection was lost at COMMIT and could not be asked again, so the
  // message may have been queued (the reply says so; the client's retry may duplicate it).
  void store_failed(bool in_doubt = false);
  void tls_started();
  // The daemon's memory budget for messages being received ran out: this message is refused
  // at its end (452 4.3.1) and nothing more of it is kept.
  void refuse_storage();
  [[nodiscard]] std::size_t buffered() const { return message_.size(); }  // octets held for the current message
  // Part of a line (command or text) has arrived, its end not yet: the driver's time limit for
  // a line keeps running instead of starting anew with every byte.
  [[nodiscard]] bool mid_line() const { return !in_.empty() || discard_line_ || data_in_long_line_; }
  [[nodiscard]] std::uint64_t lines() const { return lines_; }  // complete lines taken in so far

  // What the actions need.
  [[nodiscard]] const std::string& user() const { return user_; }          // authenticate; afterwards the account
  [[nodiscard]] const std::string& password() const { return password_; }  // authenticate only (cleared after)
  [[nodiscard]] bool authenticated() const { return authenticated_; }
  [[nodiscard]] const std::string& mail_from() const { return mail_from_; }
  [[nodiscard]] const std::vector<std::string>& recipients() const { return rcpts_; }
  [[nodiscard]] const std::string& message() const { return message_; }  // store: Received: + the data
  [[nodiscard]] std::size_t data_size() const { return data_size_; }     // octets received in DATA
  [[nodiscard]] bool tls_active() const { return p_.tls_active; }
  [[nodiscard]] const char* state_name() const;
  [[nodiscard]] int refused_messages() const { return refused_messages_; }

 private:
  enum class State { command, auth_plain, auth_login_user, auth_login_pass, data, waiting, closing, closed };
  void reply(std::string_view line);
  bool process_one();  // false when no complete input to process
  void command(std::string_view line);
  void data_line(std::string_view line);  // one line of DATA, LF included (or a partial too-long one)
  void end_of_data();
  void reset_transaction();
  void bad_command(std::string_view line);
  void auth_plain_response(std::string_view b64);
  void ehlo(std::string_view arg, bool extended);
  void mail(std::string_view args);
  void rcpt(std::string_view args);
  [[nodiscard]] bool auth_offered() const { return p_.tls_active || p_.loopback; }
  [[nodiscard]] std::string received_header() const;

  DialogueParams p_;
  State state_ = State::command;
  Action pending_ = Action::read;  // the action answered by *_done()
  std::string in_, out_;
  bool discard_line_ = false;  // a command line over the limit: drop up to the next LF
  int errors_ = 0;
  std::string helo_;
  bool esmtp_ = false;
  bool authenticated_ = false;
  std::string user_, password_;
  // transaction
  bool have_mail_ = false;
  std::string mail_from_;
  std::vector<std::string> rcpts_;
  std::string message_;
  std::size_t data_size_ = 0;
  bool data_long_line_ = false, data_bare_ = false, data_too_big_ = false;
  bool data_in_long_line_ = false;  // inside a text line already over the limit (no LF seen)
  bool data_prev_crlf_ = true;
  bool data_no_storage_ = false;  // refuse_storage() was called for this message      // the last data line ended with CRLF (so
                                  // "." CRLF may end the data)
  int refused_messages_ = 0;
  std::uint64_t lines_ = 0;
};

}  // namespace sitemail::submission
