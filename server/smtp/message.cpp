// message.cpp — see message.hpp.
#include "message.hpp"

#include <openssl/rand.h>

#include <ctime>
#include <set>
#include <utility>

#include "codec.hpp"
#include "message_detail.hpp"
#include "mime.hpp"
#include "text_util.hpp"

namespace sitemail::smtp {

namespace detail {

Failure bad_message(std::string why) { return Failure{FailureKind::permanent, Stage::message, std::move(why), {}, 0}; }

std::string rfc5322_date(long long now) {
  std::time_t t = static_cast<std::time_t>(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

bool header_safe(std::string_view v) { return !has_control_chars(v, "\t"); }

std::string utf8_prefix(std::string_view s, std::size_t chars) {
  std::size_t i = 0, n = 0;
  while (i < s.size() && n < chars) {
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
    ++n;
  }
  return std::string(s.substr(0, i));
}

std::string display_name(std::string_view name) {
  if (name.empty()) return {};
  if (!codec::is_ascii(name)) return codec::encode_header_text(name);
  bool plain = true;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == ' ' || c == '!' || c == '#' || c == '$' || c == '%' || c == '&' ||
          c == '\'' || c == '*' || c == '+' || c == '-' || c == '/' || c == '=' || c == '?' || c == '^' || c == '_' || c == '`' ||
          c == '{' || c == '|' || c == '}' || c == '~'))
      plain = false;
  if (plain) return std::string(name);
  std::string q = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  return q + "\"";
}

std::string format_address(const Address& a) {
  if (a.display.empty()) return a.mailbox;
  return display_name(a.display) + " <" + a.mailbox + ">";
}

bool parse_list(std::string_view list, std::vector<Address>& out, std::string& error) {
  if (trim(list).empty()) return true;
  for (const auto& part : split(list, ',')) {
    if (trim(part).empty()) continue;
    auto a = parse_address(part, error);
    if (!a) return false;
    out.push_back(*a);
  }
  return true;
}

std::string body_part(std::string_view body, const char* subtype) {
  const std::string crlf = to_crlf(body);
  bool seven_bit = codec::is_ascii(crlf);
  std::size_t line = 0;
  for (char c : crlf) {
    line = c == '\n' ? 0 : line + 1;
    if (line > 998) seven_bit = false;
  }
  std::string h = std::string("Content-Type: text/") + subtype + "; charset=utf-8\r\n";
  if (seven_bit)
    return h + "Content-Transfer-Encoding: 7bit\r\n\r\n" + crlf + (crlf.ends_with("\r\n") || crlf.empty() ? "" : "\r\n");
  auto qp = codec::quoted_printable(body);
  return h + "Content-Transfer-Encoding: quoted-printable\r\n\r\n" + qp + (qp.ends_with("\r\n") ? "" : "\r\n");
}

std::string random_boundary() {
  unsigned char r[12];
  RAND_bytes(r, sizeof r);
  return "=_sitemail_" + codec::hex(std::string_view(reinterpret_cast<char*>(r), sizeof r));
}

// "Name: value" lines from OtherHeaders or the row's headers column, validated.
bool extra_headers(std::string_view text, std::string& out, std::string& error, const char* what) {
  for (auto& line : split(to_crlf(text), '\n')) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty()) continue;
    if (has_control_chars(line, "\t")) {
      error = std::string(what) + " contains control characters";
      return false;
    }
    bool continuation = line.front() == ' ' || line.front() == '\t';
    auto colon = line.find(':');
    if (!continuation && (colon == std::string::npos || colon == 0)) {
      error = std::string(what) + ": '" + line.substr(0, 60) + "' is not a 'Name: value' header line";
      return false;
    }
    if (line.size() > 998) {
      error = std::string(what) + ": a header line is longer than 998 octets";
      return false;
    }
    out += line + "\r\n";
  }
  return true;
}

std::string message_id_for(const OutboxMessage& m, const std::string& from_mailbox) {
  std::string domain = from_mailbox.substr(from_mailbox.rfind('@') + 1);
  std::string site;
  for (char c : m.nvtgc) site += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
  return "<sitemail." + std::to_string(m.id) + "." + to_lower(site) + "@" + domain + ">";
}

Failure too_large_for_site(std::uint64_t size, long long max) {
  return bad_message("5.3.4 the message is " + std::to_string(size) + " bytes, more than the site's MaxMessageSize of " +
                     std::to_string(max) + " bytes");
}

BuildResult within_max_size(BuiltMessage out, const EffectiveSettings& s) {
  BuildResult r;
  if (auto max = s.number(Setting::MaxMessageSize); max > 0 && out.octets() > static_cast<std::uint64_t>(max))
    r.failure = too_large_for_site(out.octets(), max);
  else r.message = std::move(out);
  return r;
}

}  // namespace detail

using namespace detail;

namespace {

// Appends literal text, or (for content not in memory) a segment that is read and encoded
// while the message is sent.
struct Assembler {
  std::string text;
  std::vector<Segment> segs;
  std::uint64_t streamed_octets = 0;
  void add(std::string_view t) { text += t; }
  void add_attachment(const Attachment& a) {
    if (a.content) {
      codec::append_base64_lines(*a.content, text);
      return;
    }
    if (!text.empty()) segs.push_back(Segment{Segment::Encoding::literal, std::exchange(text, {}), {}});
    segs.push_back(Segment{Segment::Encoding::base64, {}, BlobRef{BlobRef::Table::attachment, a.id, 0, a.size}});
    streamed_octets += codec::base64_lines_size(a.size);
  }
  void finish(BuiltMessage& out) {
    if (segs.empty()) {
      out.data = std::move(text);
      return;
    }
    std::uint64_t size = streamed_octets + text.size();
    for (const auto& sg : segs)
      if (sg.encoding == Segment::Encoding::literal) size += sg.bytes.size();
    if (!text.empty()) segs.push_back(Segment{Segment::Encoding::literal, std::move(text), {}});
    out.stream = std::move(segs);
    out.stream_size = size;
  }
};

// The text and/or HTML body as one entity (headers + body); the caller adds the CRLF of the next delimiter.
std::string body_entity(const OutboxMessage& m) {
  if (!m.body_text.empty() && !m.body_html.empty()) {
    const auto b = random_boundary();
    return "Content-Type: multipart/alternative; boundary=\"" + b + "\"\r\n\r\n--" + b + "\r\n" +
           body_part(m.body_text, "plain") + "\r\n--" + b + "\r\n" + body_part(m.body_html, "html") + "\r\n--" + b + "--";
  }
  return !m.body_html.empty() ? body_part(m.body_html, "html") : body_part(m.body_text, "plain");
}

bool is_inline(const Attachment& a) { return to_lower(trim(a.disposition)) == "inline"; }

// multipart/mixed: the bodies (with their inline images in multipart/related), then each
// attachment. `headers` are the message's own, MIME-Version included.
void assemble_with_attachments(const OutboxMessage& m, Assembler& as) {
  const auto mixed = random_boundary();
  as.add("Content-Type: multipart/mixed; boundary=\"" + mixed +
         "\"\r\n\r\nThis is a multi-part message in MIME format.\r\n\r\n--" + mixed + "\r\n");
  std::vector<const Attachment*> related, others;
  for (const auto& a : m.attachments)
    (is_inline(a) && !mime::clean_content_id(a.content_id).empty() && !m.body_html.empty() ? related : others).push_back(&a);
  if (related.empty()) {
    as.add(body_entity(m));
  } else {
    const auto rel = random_boundary();
    as.add("Content-Type: multipart/related; boundary=\"" + rel + "\"\r\n\r\n--" + rel + "\r\n" + body_entity(m) + "\r\n");
    for (const auto* a : related) {
      as.add("--" + rel + "\r\n" + mime::attachment_headers(a->filename, a->content_type, true, a->content_id));
      as.add_attachment(*a);
    }
    as.add("--" + rel + "--");
  }
  as.add("\r\n");
  for (const auto* a : others) {
    as.add("--" + mixed + "\r\n" + mime::attachment_headers(a->filename, a->content_type, is_inline(*a), a->content_id));
    as.add_attachment(*a);  // ends with CRLF: the delimiter's own
  }
  as.add("--" + mixed + "--\r\n");
}

}  // namespace

OutboxMessage outbox_row(long long id, std::string nvtgc, std::string to, std::string cc, std::string bcc, std::string from_addr,
                         std::string from_name, std::string reply_to, std::string subject, std::string body_text,
                         std::string body_html, std::string headers) {
  OutboxMessage m;
  m.id = id;
  m.nvtgc = std::move(nvtgc);
  m.to = std::move(to);
  m.cc = std::move(cc);
  m.bcc = std::move(bcc);
  m.from_addr = std::move(from_addr);
  m.from_name = std::move(from_name);
  m.reply_to = std::move(reply_to);
  m.subject = std::move(subject);
  m.body_text = std::move(body_text);
  m.body_html = std::move(body_html);
  m.headers = std::move(headers);
  return m;
}

std::string to_crlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 40);
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string dot_stuff(std::string_view m) {
  std::string out;
  out.reserve(m.size() + 16);
  bool line_start = true;
  for (char c : m) {
    if (line_start && c == '.') out += '.';
    out += c;
    line_start = c == '\n';
  }
  if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
  out += ".\r\n";
  return out;
}

std::optional<Address> parse_address(std::string_view text, std::string& error) {
  auto t = trim(text);
  Address a;
  if (has_control_chars(t, "")) {
    error = "address contains control characters";
    return std::nullopt;
  }
  if (auto lt = t.rfind('<'); lt != std::string_view::npos) {
    auto gt = t.find('>', lt);
    if (gt == std::string_view::npos || !trim(t.substr(gt + 1)).empty()) {
      error = "address '" + std::string(t.substr(0, 80)) + "' has unbalanced <>";
      return std::nullopt;
    }
    a.display = std::string(trim(t.substr(0, lt)));
    if (a.display.size() >= 2 && a.display.front() == '"' && a.display.back() == '"')
      a.display = a.display.substr(1, a.display.size() - 2);
    t = trim(t.substr(lt + 1, gt - lt - 1));
  }
  auto at = t.rfind('@');
  bool ok = at != std::string_view::npos && at > 0 && at + 1 < t.size() && t.size() <= 254;
  for (unsigned char c : t)
    if (c <= 0x20 || c == '<' || c == '>' || c == ',' || c == '"' || c == '(' || c == ')' || c == '\\' || c == ';') ok = false;
  if (!ok) {
    error = "'" + std::string(t.substr(0, 80)) + "' is not a mail address";
    return std::nullopt;
  }
  a.mailbox = std::string(t);
  return a;
}

BuildResult build_message(const OutboxMessage& m, const EffectiveSettings& s, long long now) {
  if (m.has_raw) return build_raw_message(m, s, now);
  BuildResult r;
  std::string error;
  std::vector<Address> to, cc, bcc, reply_to;
  if (!parse_list(m.to, to, error) || !parse_list(m.cc, cc, error) || !parse_list(m.bcc, bcc, error) ||
      !parse_list(m.reply_to, reply_to, error)) {
    r.failure = bad_message(error);
    return r;
  }
  if (to.empty() && !s.text(Setting::EMailNoAccountAddress).empty())
    to.push_back(Address{{}, s.text(Setting::EMailNoAccountAddress)});
  if (to.empty() && cc.empty() && bcc.empty()) {
    r.failure = bad_message("the message has no recipient and EMailNoAccountAddress is empty");
    return r;
  }
  Address from{m.from_name.empty() ? s.text(Setting::EMailFromName) : m.from_name, {}};
  std::string from_text = m.from_addr.empty() ? s.text(Setting::EMailFromAddress) : m.from_addr;
  if (from_text.empty()) {
    r.failure = config_failure("no sender: the message has no from address and EMailFromAddress is empty");
    return r;
  }
  auto parsed_from = parse_address(from_text, error);
  if (!parsed_from) {
    r.failure = bad_message("from: " + error);
    return r;
  }
  from.mailbox = parsed_from->mailbox;
  if (!parsed_from->display.empty() && m.from_name.empty()) from.display = parsed_from->display;
  std::string subject = m.subject;
  if (!header_safe(subject) || !header_safe(from.display)) {
    r.failure = bad_message("the subject or sender name contains control characters (CR, LF, ...)");
    return r;
  }
  if (auto max = s.number(Setting::MaxSubjectLength); max > 0) subject = utf8_prefix(subject, static_cast<std::size_t>(max));

  BuiltMessage out;
  out.envelope_from = from.mailbox;
  std::set<std::string> seen;
  for (const auto* list : {&to, &cc, &bcc})
    for (const auto& a : *list)
      if (seen.insert(to_lower(a.mailbox)).second) out.recipients.push_back(a.mailbox);
  out.needs_smtputf8 = !codec::is_ascii(out.envelope_from);
  for (const auto& rc : out.recipients) out.needs_smtputf8 = out.needs_smtputf8 || !codec::is_ascii(rc);
  out.message_id = message_id_for(m, from.mailbox);

  std::string headers;
  const auto& other = s.get(Setting::OtherHeaders);
  const bool replace = other.number == 1;
  if (!replace) {
    auto join = [](const std::vector<Address>& v) {
      std::string o;
      for (const auto& a : v) o += (o.empty() ? "" : ",\r\n ") + format_address(a);
      return o;
    };
    headers += "Date: " + rfc5322_date(now) + "\r\n";
    headers += "From: " + format_address(from) + "\r\n";
    if (!to.empty()) headers += "To: " + join(to) + "\r\n";
    if (!cc.empty()) headers += "Cc: " + join(cc) + "\r\n";
    if (!reply_to.empty()) headers += "Reply-To: " + join(reply_to) + "\r\n";
    std::string subj = subject.size() > 900 || !codec::is_ascii(subject) ? codec::encode_header_text(subject) : subject;
    headers += "Subject: " + subj + "\r\n";
    headers += "Message-ID: " + out.message_id + "\r\n";
  }
  if (!extra_headers(other.text, headers, error, "OtherHeaders") || !extra_headers(m.headers, headers, error, "headers")) {
    r.failure = replace || error.starts_with("OtherHeaders") ? config_failure(error) : bad_message(error);
    return r;
  }
  headers += "MIME-Version: 1.0\r\n";
  if (m.attachments.empty()) {
    std::string body;
    if (!m.body_text.empty() && !m.body_html.empty()) {
      const auto b = random_boundary();
      headers += "Content-Type: multipart/alternative; boundary=\"" + b + "\"\r\n";
      body = "\r\nThis is a multi-part message in MIME format.\r\n\r\n--" + b + "\r\n" + body_part(m.body_text, "plain") +
             "\r\n--" + b + "\r\n" + body_part(m.body_html, "html") + "\r\n--" + b + "--\r\n";
    } else if (!m.body_html.empty()) {
      body = body_part(m.body_html, "html");
    } else {
      body = body_part(m.body_text, "plain");
    }
    // body_part() output starts with its own Content-* headers for single-part messages
    out.data = headers + body;
  } else {
    Assembler as;
    as.add(headers);
    assemble_with_attachments(m, as);
    as.finish(out);
  }
  return within_max_size(std::move(out), s);
}

}  // namespace sitemail::smtp
