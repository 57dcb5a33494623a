// message_raw.cpp — build_raw_message(): an outbox row with raw_message (CONTRACT §8) is sent
// as the application built it, except that line ends become CRLF, header lines over 998
// octets are folded, a Bcc field is removed, Date and Message-ID are added when missing,
// and OtherHeaders lines are added unless the message has a field of that name. The
// envelope: recipients from the row's columns when any is set, else from the To, Cc and
// Bcc fields; the sender from from_addr, else the site's EMailFromAddress. A large raw
// message is not in memory: only its first octets came with the row, and its body is a
// segment read (with line ends made CRLF) while it is sent.
#include <set>

#include "codec.hpp"
#include "message_detail.hpp"
#include "raw_message.hpp"
#include "text_util.hpp"

namespace sitemail::smtp {

using namespace detail;

namespace {

// The fields of the row that a raw message must not be combined with.
std::string conflicting_fields(const OutboxMessage& m) {
  std::string out;
  auto add = [&](bool set, const char* name) {
    if (set) out += (out.empty() ? "" : ", ") + std::string(name);
  };
  add(!m.subject.empty(), "subject");
  add(!m.body_text.empty(), "body_text");
  add(!m.body_html.empty(), "body_html");
  add(!m.headers.empty(), "headers");
  add(!m.from_name.empty(), "from_name");
  add(!m.reply_to.empty(), "reply_to");
  add(!m.attachments.empty(), "attachments");
  return out;
}

// Names of OtherHeaders lines ("Name: value"), in order, with their lines.
std::vector<std::pair<std::string, std::string>> other_header_fields(const std::string& crlf_lines) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& line : split(crlf_lines, '\n')) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if ((line.front() == ' ' || line.front() == '\t') && !out.empty()) {
      out.back().second += line + "\r\n";
      continue;
    }
    out.emplace_back(to_lower(line.substr(0, line.find(':'))), line + "\r\n");
  }
  return out;
}

}  // namespace

BuildResult build_raw_message(const OutboxMessage& m, const EffectiveSettings& s, long long now) {
  BuildResult r;
  if (auto extra = conflicting_fields(m); !extra.empty()) {
    r.failure = bad_message("the row has raw_message and also " + extra +
                            "; a raw message is sent as it is: put everything in raw_message, or leave raw_message empty");
    return r;
  }
  const raw::Scan scan = raw::scan_headers(m.raw_head, m.raw_complete());
  if (!scan.error.empty()) {
    r.failure = bad_message("raw_message: " + scan.error);
    return r;
  }

  // Envelope: recipients from the columns when any is set, else from the header fields.
  std::string error;
  std::vector<std::string> rcpts;
  if (!trim(m.to).empty() || !trim(m.cc).empty() || !trim(m.bcc).empty()) {
    std::vector<Address> list;
    if (!parse_list(m.to, list, error) || !parse_list(m.cc, list, error) || !parse_list(m.bcc, list, error)) {
      r.failure = bad_message(error);
      return r;
    }
    for (const auto& a : list) rcpts.push_back(a.mailbox);
  } else {
    for (const char* name : {"To", "Cc", "Bcc"})
      for (const auto& f : scan.fields) {
        if (to_lower(f.name) != to_lower(name)) continue;
        std::string value;
        for (char c : std::string_view(f.lines).substr(f.name.size() + 1))
          if (c != '\r' && c != '\n') value += c;
        for (auto& a : raw::mailboxes(value, error)) rcpts.push_back(std::move(a));
        if (!error.empty()) {
          r.failure = bad_message("raw_message: " + f.name + " (line " + std::to_string(f.line) + "): " + error);
          return r;
        }
      }
  }
  if (rcpts.empty()) {
    r.failure = bad_message("the raw message has no recipient: no to_addrs/cc_addrs/bcc_addrs and no To, Cc or Bcc field");
    return r;
  }
  const std::string from_text = m.from_addr.empty() ? s.text(Setting::EMailFromAddress) : m.from_addr;
  if (from_text.empty()) {
    r.failure = config_failure("no sender: the message has no from address and EMailFromAddress is empty");
    return r;
  }
  auto from = parse_address(from_text, error);
  if (!from) {
    r.failure = bad_message("from: " + error);
    return r;
  }

  BuiltMessage out;
  out.envelope_from = from->mailbox;
  std::set<std::string> seen;
  for (auto& a : rcpts)
    if (seen.insert(to_lower(a)).second) out.recipients.push_back(std::move(a));
  out.needs_smtputf8 = scan.eight_bit_headers || !codec::is_ascii(out.envelope_from);
  for (const auto& rc : out.recipients) out.needs_smtputf8 = out.needs_smtputf8 || !codec::is_ascii(rc);

  // The header block: the message's own fields but Bcc, then what is missing.
  std::string headers;
  for (const auto& f : scan.fields)
    if (to_lower(f.name) != "bcc") headers += f.lines;
  if (!raw::has_field(scan, "Date")) headers += "Date: " + rfc5322_date(now) + "\r\n";
  if (auto mid = raw::field_value(scan, "Message-ID")) {
    out.message_id = *mid;
  } else {
    out.message_id = message_id_for(m, out.envelope_from);
    headers += "Message-ID: " + out.message_id + "\r\n";
  }
  std::string other;
  if (!extra_headers(s.get(Setting::OtherHeaders).text, other, error, "OtherHeaders")) {
    r.failure = config_failure(error);
    return r;
  }
  for (const auto& [name, lines] : other_header_fields(other))
    if (!raw::has_field(scan, name)) headers += lines;
  headers += "\r\n";

  if (m.raw_complete()) {
    const std::string_view body = std::string_view(m.raw_head).substr(std::min<std::size_t>(scan.body_offset, m.raw_head.size()));
    out.body = raw::has_8bit(body) ? BuiltMessage::Body::eight_bit : BuiltMessage::Body::seven_bit;
    out.data = headers + to_crlf(body);
  } else {
    // Only the first octets are here: the body is read, its line ends made CRLF, while it
    // is sent. Its size is the stored one (bare LF line ends add an octet each: SIZE is an
    // estimate, RFC 1870 §3), and whether it holds 8-bit octets is not known yet.
    out.body = BuiltMessage::Body::unknown;
    const std::uint64_t body_size = m.raw_size - scan.body_offset;
    out.stream.push_back(Segment{Segment::Encoding::literal, headers, {}});
    out.stream.push_back(Segment{Segment::Encoding::crlf, {}, BlobRef{BlobRef::Table::raw, m.id, scan.body_offset, body_size}});
    out.stream_size = headers.size() + body_size;
  }
  return within_max_size(std::move(out), s);
}

}  // namespace sitemail::smtp
