// dialogue.cpp — see dialogue.hpp. Replies follow RFC 5321 with RFC 3463 enhanced codes; the
// refusals are exactly those of CONTRACT §9.
#include "dialogue.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <utility>

#include "codec.hpp"

namespace sitemail::submission {

namespace {

constexpr std::size_t kMaxOutputBeforeWrite = 64 * 1024;  // a pipelining flood is answered in bounded slices
constexpr std::size_t kMaxPath = 256;                     // RFC 5321 4.5.3.1.3

std::string upper(std::string_view s) {
  std::string o(s);
  std::transform(o.begin(), o.end(), o.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return o;
}

bool iprefix(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && upper(s.substr(0, prefix.size())) == prefix;
}

std::string_view ltrim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

std::string real_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

// "<addr> PARAMS" -> addr and the parameter text; false on a malformed path.
bool parse_path(std::string_view args, std::string& addr, std::string_view& params) {
  args = ltrim(args);
  if (args.empty() || args.front() != '<') return false;
  auto close = args.find('>');
  if (close == std::string_view::npos) return false;
  auto a = args.substr(1, close - 1);
  if (a.size() > kMaxPath) return false;
  if (!a.empty() && a.front() == '@') {  // obsolete source route: keep only the mailbox
    auto colon = a.find(':');
    if (colon == std::string_view::npos) return false;
    a = a.substr(colon + 1);
  }
  for (unsigned char c : a)
    if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == ',') return false;
  if (!a.empty()) {
    auto at = a.rfind('@');
    if (at == std::string_view::npos || at == 0 || at + 1 == a.size()) return false;
  }
  addr = std::string(a);
  params = ltrim(args.substr(close + 1));
  return true;
}

std::string sanitize_helo(std::string_view s) {
  std::string o;
  for (unsigned char c : s.substr(0, 255))
    o += (c > ' ' && c < 0x7f && c != '(' && c != ')' && c != ';') ? static_cast<char>(c) : '_';
  return o;
}

void wipe(std::string& s) {
  std::fill(s.begin(), s.end(), '\0');
  s.clear();
}

}  // namespace

Dialogue::Dialogue(DialogueParams p) : p_(std::move(p)) { reply("220 " + p_.hostname + " ESMTP sitemail submission"); }

const char* Dialogue::state_name() const {
  switch (state_) {
    case State::command: return "command";
    case State::auth_plain: return "auth_plain";
    case State::auth_login_user: return "auth_login_user";
    case State::auth_login_pass: return "auth_login_pass";
    case State::data: return "data";
    case State::waiting: return "waiting";
    case State::closing: return "closing";
    case State::closed: return "closed";
  }
  return "?";
}

void Dialogue::reply(std::string_view line) {
  out_ += line;
  out_ += "\r\n";
}

std::string Dialogue::take_output() { return std::exchange(out_, {}); }

void Dialogue::on_bytes(std::string_view data) {
  if (state_ == State::closed || state_ == State::closing) return;
  in_.append(data);
}

void Dialogue::on_eof() {
  state_ = State::closed;
  wipe(password_);
}

void Dialogue::on_timeout() {
  if (state_ == State::closed) return;
  reply("421 4.4.2 " + p_.hostname + " Error: timeout exceeded, closing connection");
  state_ = State::closing;
}

void Dialogue::shutdown() {
  if (state_ == State::closed) return;
  reply("421 4.3.2 " + p_.hostname + " Service shutting down, closing connection");
  state_ = State::closing;
}

Dialogue::Action Dialogue::next() {
  while (true) {
    if (state_ == State::closed) return Action::close;
    if (!out_.empty() && (state_ == State::closing || state_ == State::waiting || out_.size() > kMaxOutputBeforeWrite))
      return Action::write;
    if (state_ == State::closing) {
      state_ = State::closed;
      return Action::close;
    }
    if (state_ == State::waiting) return pending_;
    if (!process_one()) break;
  }
  return out_.empty() ? Action::read : Action::write;
}

bool Dialogue::process_one() {
  auto lf = in_.find('\n');
  if (state_ == State::data) {
    if (lf == std::string::npos) {
      if (in_.size() > kMaxTextLine) {  // a text line already too long: keep nothing of it
        data_long_line_ = true;
        data_in_long_line_ = true;
        in_ = in_.back() == '\r' ? "\r" : "";  // a CR may be the first half of the line's CRLF
      }
      return false;
    }
    std::string line = in_.substr(0, lf + 1);
    in_.erase(0, lf + 1);
    ++lines_;
    data_line(line);
    return true;
  }
  if (lf == std::string::npos) {
    if (in_.size() > kMaxCommandLine) {
      in_.clear();
      if (!discard_line_) bad_command("500 5.5.2 Line too long");
      discard_line_ = true;
    }
    return false;
  }
  std::string line = in_.substr(0, lf + 1);
  in_.erase(0, lf + 1);
  ++lines_;
  if (discard_line_) {
    discard_line_ = false;
    return true;
  }
  if (line.size() > kMaxCommandLine) {
    bad_command("500 5.5.2 Line too long");
    return true;
  }
  line.pop_back();
  if (!line.empty() && line.back() == '\r') line.pop_back();
  switch (state_) {
    case State::command: command(line); break;
    case State::auth_plain:
      state_ = State::command;
      if (line == "*") reply("501 5.7.0 Authentication cancelled");
      else auth_plain_response(line);
      break;
    case State::auth_login_user: {
      state_ = State::command;
      if (line == "*") {
        reply("501 5.7.0 Authentication cancelled");
        break;
      }
      auto u = codec::unbase64(line);
      if (!u) {
        reply("501 5.5.2 Cannot decode response");
        break;
      }
      user_ = *u;
      reply("334 UGFzc3dvcmQ6");
      state_ = State::auth_login_pass;
      break;
    }
    case State::auth_login_pass: {
      state_ = State::command;
      if (line == "*") {
        reply("501 5.7.0 Authentication cancelled");
        break;
      }
      auto pw = codec::unbase64(line);
      wipe(line);
      if (!pw) {
        reply("501 5.5.2 Cannot decode response");
        break;
      }
      password_ = std::move(*pw);
      state_ = State::waiting;
      pending_ = Action::authenticate;
      break;
    }
    default: break;
  }
  return true;
}

void Dialogue::bad_command(std::string_view line) {
  reply(line);
  if (++errors_ >= kMaxErrors) {
    reply("421 4.7.0 " + p_.hostname + " Error: too many errors, closing connection");
    state_ = State::closing;
  }
}

void Dialogue::reset_transaction() {
  have_mail_ = false;
  mail_from_.clear();
  rcpts_.clear();
  message_.clear();
  message_.shrink_to_fit();
  data_size_ = 0;
}

void Dialogue::command(std::string_view line) {
  auto sp = line.find(' ');
  std::string verb = upper(line.substr(0, sp));
  std::string_view args = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
  if (verb == "EHLO" || verb == "HELO") {
    if (ltrim(args).empty()) return bad_command("501 5.5.4 Syntax: " + verb + " hostname");
    return ehlo(ltrim(args), verb == "EHLO");
  }
  if (verb == "NOOP") return reply("250 2.0.0 Ok");
  if (verb == "RSET") {
    reset_transaction();
    return reply("250 2.0.0 Ok");
  }
  if (verb == "QUIT") {
    reply("221 2.0.0 Bye");
    state_ = State::closing;
    return;
  }
  if (verb == "VRFY") return reply("252 2.5.0 Cannot VRFY user");
  if (verb == "HELP") return reply("214 2.0.0 See RFC 5321");
  if (verb == "STARTTLS") {
    if (!p_.starttls_available || p_.tls_active) return bad_command("502 5.5.1 STARTTLS not available");
    if (!args.empty()) return bad_command("501 5.5.4 Syntax: STARTTLS");
    reply("220 2.0.0 Ready to start TLS");
    in_.clear();  // nothing sent before the handshake may count as sent under TLS
    state_ = State::waiting;
    pending_ = Action::start_tls;
    return;
  }
  if (verb == "AUTH") {
    if (!esmtp_) return bad_command("503 5.5.1 Send EHLO first");
    if (!auth_offered()) return bad_command("538 5.7.11 Encryption required for requested authentication mechanism");
    if (authenticated_) return bad_command("503 5.5.1 Already authenticated");
    if (have_mail_) return bad_command("503 5.5.1 AUTH not allowed during a mail transaction");
    auto rest = ltrim(args);
    auto s2 = rest.find(' ');
    std::string mech = upper(rest.substr(0, s2));
    std::string_view initial = s2 == std::string_view::npos ? std::string_view() : ltrim(rest.substr(s2 + 1));
    if (mech == "PLAIN") {
      if (initial.empty()) {
        reply("334 ");
        state_ = State::auth_plain;
      } else {
        auth_plain_response(initial == "=" ? std::string_view() : initial);
      }
      return;
    }
    if (mech == "LOGIN") {
      if (initial.empty()) {
        reply("334 VXNlcm5hbWU6");
        state_ = State::auth_login_user;
        return;
      }
      auto u = codec::unbase64(initial);
      if (!u) return bad_command("501 5.5.2 Cannot decode response");
      user_ = *u;
      reply("334 UGFzc3dvcmQ6");
      state_ = State::auth_login_pass;
      return;
    }
    return bad_command("504 5.5.4 Unrecognized authentication mechanism");
  }
  if (verb == "MAIL") return mail(args);
  if (verb == "RCPT") return rcpt(args);
  if (verb == "DATA") {
    if (!args.empty()) return bad_command("501 5.5.4 Syntax: DATA");
    if (!have_mail_) return bad_command("503 5.5.1 Error: need MAIL command");
    if (rcpts_.empty()) return bad_command("554 5.5.1 Error: no valid recipients");
    reply("354 End data with <CR><LF>.<CR><LF>");
    state_ = State::data;
    message_.clear();
    data_size_ = 0;
    data_long_line_ = data_bare_ = data_too_big_ = data_in_long_line_ = false;
    data_prev_crlf_ = true;  // the DATA command's own CRLF
    data_no_storage_ = false;
    return;
  }
  if (verb == "BDAT") return bad_command("502 5.5.1 BDAT not supported");
  bad_command("500 5.5.1 Error: command not recognized");
}

void Dialogue::ehlo(std::string_view arg, bool extended) {
  reset_transaction();
  helo_ = sanitize_helo(arg.substr(0, arg.find(' ')));
  esmtp_ = extended;
  if (!extended) return reply("250 " + p_.hostname);
  reply("250-" + p_.hostname);
  reply("250-PIPELINING");
  reply("250-SIZE " + std::to_string(p_.max_message_size));
  reply("250-8BITMIME");
  reply("250-SMTPUTF8");
  if (p_.starttls_available && !p_.tls_active) reply("250-STARTTLS");
  if (auth_offered()) reply("250-AUTH PLAIN LOGIN");
  reply("250 ENHANCEDSTATUSCODES");
}

void Dialogue::auth_plain_response(std::string_view b64) {
  auto decoded = codec::unbase64(b64);
  if (!decoded) return bad_command("501 5.5.2 Cannot decode response");
  auto& d = *decoded;
  auto z1 = d.find('\0');
  auto z2 = z1 == std::string::npos ? std::string::npos : d.find('\0', z1 + 1);
  if (z2 == std::string::npos || d.find('\0', z2 + 1) != std::string::npos) {
    wipe(d);
    return bad_command("501 5.5.2 Malformed AUTH PLAIN response");
  }
  std::string authz = d.substr(0, z1), authc = d.substr(z1 + 1, z2 - z1 - 1);
  password_ = d.substr(z2 + 1);
  wipe(d);
  if (!authz.empty() && authz != authc) {
    wipe(password_);
    return bad_command("535 5.7.8 Authentication credentials invalid");
  }
  user_ = authc;
  state_ = State::waiting;
  pending_ = Action::authenticate;
}

void Dialogue::auth_done(AuthVerdict v) {
  if (state_ != State::waiting || pending_ != Action::authenticate) return;
  wipe(password_);
  state_ = State::command;
  switch (v) {
    case AuthVerdict::ok: authenticated_ = true; return reply("235 2.7.0 Authentication successful");
    case AuthVerdict::bad: user_.clear(); return bad_command("535 5.7.8 Authentication credentials invalid");
    case AuthVerdict::throttled:
      user_.clear();
      return bad_command("454 4.7.0 Too many authentication failures from your address; try again later");
    case AuthVerdict::temporary: user_.clear(); return reply("454 4.7.0 Temporary authentication failure");
  }
}

void Dialogue::mail(std::string_view args) {
  if (helo_.empty()) return bad_command("503 5.5.1 Error: send HELO/EHLO first");
  if (have_mail_) return bad_command("503 5.5.1 Error: nested MAIL command");
  if (!authenticated_ && !p_.trusted) return bad_command("530 5.7.0 Authentication required");
  if (!iprefix(args, "FROM:")) return bad_command("501 5.5.4 Syntax: MAIL FROM:<address>");
  std::string addr;
  std::string_view params;
  if (!parse_path(args.substr(5), addr, params)) return bad_command("501 5.1.7 Bad sender address syntax");
  while (!params.empty()) {
    auto sp = params.find(' ');
    auto p = params.substr(0, sp);
    params = sp == std::string_view::npos ? std::string_view() : ltrim(params.substr(sp + 1));
    if (!esmtp_) return bad_command("555 5.5.4 Parameters need EHLO");
    std::string key = upper(p.substr(0, p.find('=')));
    std::string_view value = p.find('=') == std::string_view::npos ? std::string_view() : p.substr(p.find('=') + 1);
    if (key == "SIZE") {
      if (value.empty() || value.size() > 19 ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return bad_command("501 5.5.4 Bad SIZE parameter");
      if (std::stoull(std::string(value)) > p_.max_message_size)
        return reply("552 5.3.4 Message size exceeds fixed maximum message size");
    } else if (key == "BODY") {
      auto v = upper(value);
      if (v != "7BIT" && v != "8BITMIME") return bad_command("501 5.5.4 Bad BODY parameter");
    } else if (key == "SMTPUTF8" && value.empty()) {
    } else if (key == "AUTH") {
    } else {
      return bad_command("555 5.5.4 Unsupported MAIL parameter");
    }
  }
  mail_from_ = addr;
  state_ = State::waiting;
  pending_ = Action::check_sender;
}

void Dialogue::sender_done(SenderVerdict v) {
  if (state_ != State::waiting || pending_ != Action::check_sender) return;
  state_ = State::command;
  switch (v) {
    case SenderVerdict::ok: have_mail_ = true; return reply("250 2.1.0 Ok");
    case SenderVerdict::refused:
      mail_from_.clear();
      ++refused_messages_;
      return reply("550 5.7.1 Sender address not allowed for this account");
    case SenderVerdict::rate_limited:
      mail_from_.clear();
      ++refused_messages_;
      return reply("450 4.7.1 Message rate limit exceeded; try again later");
    case SenderVerdict::temporary: mail_from_.clear(); return reply("451 4.3.0 Temporary failure; try again later");
  }
}

void Dialogue::rcpt(std::string_view args) {
  if (!have_mail_) return bad_command("503 5.5.1 Error: need MAIL command");
  if (!iprefix(args, "TO:")) return bad_command("501 5.5.4 Syntax: RCPT TO:<address>");
  std::string addr;
  std::string_view params;
  if (!parse_path(args.substr(3), addr, params) || addr.empty()) return bad_command("501 5.1.3 Bad recipient address syntax");
  if (!params.empty()) return bad_command("555 5.5.4 Unsupported RCPT parameter");
  if (rcpts_.size() >= p_.max_recipients) return reply("452 4.5.3 Error: too many recipients");
  rcpts_.push_back(std::move(addr));
  reply("250 2.1.5 Ok");
}

void Dialogue::data_line(std::string_view line) {
  if (data_in_long_line_) {  // the end of a line already refused as too long
    data_in_long_line_ = false;
    data_prev_crlf_ = line.size() >= 2 && line[line.size() - 2] == '\r';
    return;
  }
  const bool crlf = line.size() >= 2 && line[line.size() - 2] == '\r';
  auto body = line.substr(0, line.size() - (crlf ? 2 : 1));
  // Only CRLF "." CRLF ends the data: the line before must have ended with CRLF too.
  if (crlf && body == "." && data_prev_crlf_) return end_of_data();
  const bool bare = !crlf || body.find('\r') != std::string_view::npos;
  data_prev_crlf_ = !bare;
  if (bare) data_bare_ = true;
  if (line.size() > kMaxTextLine) data_long_line_ = true;
  if (!body.empty() && body.front() == '.') body.remove_prefix(1);
  data_size_ += body.size() + 2;
  if (data_size_ > p_.max_message_size) {
    data_too_big_ = true;
    message_.clear();
    message_.shrink_to_fit();
  }
  if (!data_too_big_ && !data_bare_ && !data_long_line_ && !data_no_storage_) {
    message_.append(body);
    message_.append("\r\n");
  }
}

void Dialogue::end_of_data() {
  state_ = State::command;
  if (data_bare_ || data_too_big_ || data_long_line_ || data_no_storage_) {
    ++refused_messages_;
    if (data_bare_) reply("550 5.6.0 Bare CR or LF in message; lines must end with CRLF");
    else if (data_too_big_) reply("552 5.3.4 Message size exceeds fixed maximum message size");
    else if (data_long_line_) reply("552 5.3.4 Message line longer than 1000 octets");
    else reply("452 4.3.1 Insufficient system storage; try again later");
    reset_transaction();
    return;
  }
  message_.insert(0, received_header());
  state_ = State::waiting;
  pending_ = Action::store;
}

std::string Dialogue::received_header() const {
  std::string proto = esmtp_ ? "ESMTP" : "SMTP";
  if (p_.tls_active) proto += "S";
  if (authenticated_) proto += "A";
  if (proto == "SMTPS" || proto == "SMTPA" || proto == "SMTPSA") proto = "E" + proto;  // RFC 3848 names exist for ESMTP only
  return "Received: from " + helo_ + " ([" + p_.peer_ip + "])\r\n\tby " + p_.hostname + " (sitemail) with " + proto + "; " +
         (p_.now ? p_.now() : real_now()) + "\r\n";
}

void Dialogue::stored(long long id) {
  if (state_ != State::waiting || pending_ != Action::store) return;
  state_ = State::command;
  reset_transaction();
  reply("250 2.0.0 Ok: queued as " + std::to_string(id));
}

void Dialogue::store_failed(bool in_doubt) {
  if (state_ != State::waiting || pending_ != Action::store) return;
  state_ = State::command;
  reset_transaction();
  if (in_doubt) reply("451 4.3.0 Error: database connection lost; the message may have been queued; try again later");
  else reply("451 4.3.0 Error: message not queued; try again later");
}

void Dialogue::refuse_storage() {
  if (state_ != State::data) return;
  data_no_storage_ = true;
  message_.clear();
  message_.shrink_to_fit();
}

void Dialogue::tls_started() {
  if (state_ != State::waiting || pending_ != Action::start_tls) return;
  p_.tls_active = true;
  state_ = State::command;
  in_.clear();
  helo_.clear();
  esmtp_ = false;
  authenticated_ = false;
  user_.clear();
  reset_transaction();
}

}  // namespace sitemail::submission
