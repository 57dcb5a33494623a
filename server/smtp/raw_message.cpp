// raw_message.cpp — see raw_message.hpp.
#include "raw_message.hpp"

#include "codec.hpp"
#include "message.hpp"
#include "text_util.hpp"

namespace sitemail::smtp::raw {

namespace {

bool field_name_char(unsigned char c) { return c >= 33 && c <= 126 && c != ':'; }

// Folds one header line (no CRLF) so no line exceeds 998 octets, at white space; false
// when a stretch of 998 octets has none.
bool fold_line(std::string_view line, std::string& out) {
  while (line.size() > 998) {
    // the last white space within the first 998 octets (not at position 0)
    std::size_t cut = std::string_view::npos;
    for (std::size_t i = 997; i > 0; --i)
      if (line[i] == ' ' || line[i] == '\t') {
        cut = i;
        break;
      }
    if (cut == std::string_view::npos) return false;
    out += line.substr(0, cut);
    out += "\r\n";
    line.remove_prefix(cut);  // the white space starts the continuation line
  }
  out += line;
  out += "\r\n";
  return true;
}

}  // namespace

bool has_8bit(std::string_view bytes) {
  for (unsigned char c : bytes)
    if (c >= 0x80) return true;
  return false;
}

Scan scan_headers(std::string_view head, bool complete) {
  Scan s;
  std::size_t pos = 0, line_no = 0;
  while (true) {
    if (pos >= head.size()) {
      if (complete) {  // headers only, no body
        s.body_offset = head.size();
        break;
      }
      s.error = "the header block does not end within the first " + std::to_string(kMaxHeaderBlock) + " octets";
      return s;
    }
    if (pos > kMaxHeaderBlock) {
      s.error = "the header block does not end within the first " + std::to_string(kMaxHeaderBlock) + " octets";
      return s;
    }
    ++line_no;
    std::size_t lf = head.find('\n', pos);
    std::size_t end = lf == std::string_view::npos ? head.size() : lf;
    if (lf == std::string_view::npos && !complete) {
      s.error = "the header block does not end within the first " + std::to_string(kMaxHeaderBlock) + " octets";
      return s;
    }
    std::size_t next = lf == std::string_view::npos ? head.size() : lf + 1;
    std::string_view line = head.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    // a lone CR inside a header line would end it for some readers: refuse
    if (line.find('\r') != std::string_view::npos) {
      s.error = "line " + std::to_string(line_no) + " of the header block holds a bare CR";
      return s;
    }
    if (line.empty()) {
      if (line_no == 1) {
        s.error = "the message has no header block (it starts with an empty line)";
        return s;
      }
      s.body_offset = next;
      break;
    }
    if (has_8bit(line)) s.eight_bit_headers = true;
    for (unsigned char c : line)
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        s.error = "line " + std::to_string(line_no) + " of the header block holds a control character";
        return s;
      }
    std::string folded;
    const bool continuation = line.front() == ' ' || line.front() == '\t';
    if (continuation) {
      if (s.fields.empty()) {
        s.error = "the message has no header block (line 1 is not a 'Name: value' header field)";
        return s;
      }
    } else {
      const auto colon = line.find(':');
      bool ok = colon != std::string_view::npos && colon > 0;
      for (std::size_t i = 0; ok && i < colon; ++i) ok = field_name_char(static_cast<unsigned char>(line[i]));
      if (!ok) {
        s.error = line_no == 1 ? "the message has no header block (line 1 is not a 'Name: value' header field)"
                               : "line " + std::to_string(line_no) + " of the header block is not a 'Name: value' header field";
        return s;
      }
      s.fields.push_back(HeaderField{std::string(line.substr(0, colon)), {}, line_no});
    }
    if (!fold_line(line, folded)) {
      s.error = "header '" + s.fields.back().name.substr(0, 60) + "' (line " + std::to_string(line_no) + ") has a line of " +
                std::to_string(line.size()) + " octets with no white space to fold it at (limit 998)";
      return s;
    }
    s.fields.back().lines += folded;
    pos = next;
  }
  return s;
}

std::optional<std::string> field_value(const Scan& s, std::string_view name) {
  for (const auto& f : s.fields) {
    if (to_lower(f.name) != to_lower(name)) continue;
    std::string v = f.lines.substr(f.name.size() + 1);
    std::string out;
    for (char c : v)
      if (c != '\r' && c != '\n') out += c;
    return std::string(trim(out));
  }
  return std::nullopt;
}

bool has_field(const Scan& s, std::string_view name) {
  for (const auto& f : s.fields)
    if (to_lower(f.name) == to_lower(name)) return true;
  return false;
}

std::vector<std::string> mailboxes(std::string_view value, std::string& error) {
  // Split at commas outside quotes, comments and angle brackets; a group "name: a, b;"
  // contributes its members.
  std::vector<std::string> parts;
  std::string cur;
  int paren = 0;
  bool quoted = false, angle = false;
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (quoted) {
      if (c == '\\' && i + 1 < value.size()) {
        cur += c;
        c = value[++i];
      } else if (c == '"') {
        quoted = false;
      }
      cur += c;
      continue;
    }
    if (paren > 0) {  // comments are dropped
      if (c == '\\' && i + 1 < value.size()) ++i;
      else if (c == '(') ++paren;
      else if (c == ')') --paren;
      continue;
    }
    if (c == '(') {
      ++paren;
      continue;
    }
    if (c == '"') quoted = true;
    else if (c == '<') angle = true;
    else if (c == '>') angle = false;
    else if (!angle && c == ':') {  // group name: what came before is not an address
      cur.clear();
      continue;
    } else if (!angle && (c == ',' || c == ';')) {
      parts.push_back(cur);
      cur.clear();
      continue;
    }
    cur += c;
  }
  parts.push_back(cur);
  std::vector<std::string> out;
  for (const auto& p : parts) {
    if (trim(p).empty()) continue;
    std::string why;
    if (auto a = parse_address(p, why)) out.push_back(a->mailbox);
    else if (error.empty()) error = why;
  }
  return out;
}

namespace {

// One MIME entity (headers + body, CRLF) made 7-bit; appends to `out`.
bool downgrade_entity(std::string_view entity, std::string& out, std::string& error, int depth) {
  if (depth > 20) {
    error = "MIME parts nested more than 20 deep";
    return false;
  }
  Scan s = scan_headers(entity, true);
  if (!s.error.empty()) {
    error = "a MIME part: " + s.error;
    return false;
  }
  if (s.eight_bit_headers) {
    error = "8-bit header text needs SMTPUTF8, which the relay does not offer";
    return false;
  }
  const std::string_view body = entity.substr(std::min(s.body_offset, entity.size()));
  const std::string type = to_lower(field_value(s, "Content-Type").value_or("text/plain"));
  if (type.starts_with("multipart/")) {
    // boundary="…" or boundary=…
    std::string boundary;
    auto b = type.find("boundary=");
    if (b != std::string::npos) {
      // take it from the original (case matters)
      auto orig = field_value(s, "Content-Type").value_or("");
      auto ob = to_lower(orig).find("boundary=");
      std::string_view rest = std::string_view(orig).substr(ob + 9);
      if (!rest.empty() && rest.front() == '"') {
        auto q = rest.find('"', 1);
        boundary = std::string(rest.substr(1, q == std::string_view::npos ? rest.size() : q - 1));
      } else {
        auto e = rest.find_first_of("; \t");
        boundary = std::string(rest.substr(0, e));
      }
    }
    if (boundary.empty()) {
      error = "a multipart part has no boundary";
      return false;
    }
    for (const auto& f : s.fields) out += f.lines;
    out += "\r\n";
    const std::string delim = "--" + boundary;
    std::size_t pos = 0;
    // preamble, then parts between delimiters (each delimiter at a line start)
    auto find_delim = [&](std::size_t from) {
      while (true) {
        auto d = body.find(delim, from);
        if (d == std::string_view::npos) return d;
        if (d == 0 || (d >= 2 && body.substr(d - 2, 2) == "\r\n")) return d;
        from = d + 1;
      }
    };
    auto d = find_delim(0);
    if (d == std::string_view::npos) {
      error = "a multipart part has no boundary line";
      return false;
    }
    out += body.substr(0, d);  // preamble (7-bit by convention; checked below)
    if (has_8bit(body.substr(0, d))) {
      error = "the preamble of a multipart holds 8-bit octets";
      return false;
    }
    pos = d;
    while (true) {
      auto line_end = body.find("\r\n", pos);
      std::string_view delim_line = body.substr(pos, line_end == std::string_view::npos ? body.size() - pos : line_end - pos);
      if (has_8bit(delim_line)) {
        error = "a multipart boundary line holds 8-bit octets";
        return false;
      }
      out += delim_line;
      if (delim_line.substr(delim.size()).starts_with("--")) {  // close delimiter: the epilogue follows
        if (line_end != std::string_view::npos) {
          auto epilogue = body.substr(line_end);
          if (has_8bit(epilogue)) {
            error = "the epilogue of a multipart holds 8-bit octets";
            return false;
          }
          out += epilogue;
        }
        return true;
      }
      out += "\r\n";
      if (line_end == std::string_view::npos) {
        error = "a multipart ends without its closing boundary";
        return false;
      }
      const std::size_t start = line_end + 2;
      auto nd = find_delim(start);
      if (nd == std::string_view::npos) {
        error = "a multipart ends without its closing boundary";
        return false;
      }
      // the CRLF before the delimiter belongs to the delimiter
      const std::size_t part_end = nd >= 2 && nd - 2 >= start ? nd - 2 : start;
      if (!downgrade_entity(body.substr(start, part_end - start), out, error, depth + 1)) return false;
      if (nd >= 2 && nd - 2 >= start) out += "\r\n";
      pos = nd;
    }
  }
  if (!has_8bit(body)) {
    out += entity;
    return true;
  }
  if (type.starts_with("message/")) {
    error = "an attached message holds 8-bit octets and cannot be re-encoded";
    return false;
  }
  for (const auto& f : s.fields)
    if (to_lower(f.name) != "content-transfer-encoding") out += f.lines;
  const bool text = type.starts_with("text/");
  out += std::string("Content-Transfer-Encoding: ") + (text ? "quoted-printable" : "base64") + "\r\n\r\n";
  std::string enc = text ? codec::quoted_printable(body) : codec::base64_lines(body);
  if (enc.ends_with("\r\n")) enc.resize(enc.size() - 2);  // the CRLF before a delimiter (or the end) is added by the caller
  out += enc;
  return true;
}

}  // namespace

std::optional<std::string> downgrade_to_7bit(std::string_view message, std::string& error) {
  std::string out;
  out.reserve(message.size() + message.size() / 3);
  if (!downgrade_entity(message, out, error, 0)) return std::nullopt;
  return out;
}

}  // namespace sitemail::smtp::raw
