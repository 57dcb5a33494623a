// mime.cpp — see mime.hpp.
#include "mime.hpp"

#include <array>
#include <utility>
#include <vector>

#include "codec.hpp"
#include "text_util.hpp"

namespace sitemail::smtp::mime {

namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 40> kTypes{{
    {"pdf", "application/pdf"},
    {"csv", "text/csv"},
    {"txt", "text/plain"},
    {"log", "text/plain"},
    {"htm", "text/html"},
    {"html", "text/html"},
    {"xml", "application/xml"},
    {"json", "application/json"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"svg", "image/svg+xml"},
    {"webp", "image/webp"},
    {"bmp", "image/bmp"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"ico", "image/vnd.microsoft.icon"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tgz", "application/gzip"},
    {"7z", "application/x-7z-compressed"},
    {"tar", "application/x-tar"},
    {"doc", "application/msword"},
    {"xls", "application/vnd.ms-excel"},
    {"ppt", "application/vnd.ms-powerpoint"},
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    {"odt", "application/vnd.oasis.opendocument.text"},
    {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
    {"rtf", "application/rtf"},
    {"ics", "text/calendar"},
    {"vcf", "text/vcard"},
    {"eml", "message/rfc822"},
    {"md", "text/markdown"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"wav", "audio/wav"},
    {"p7s", "application/pkcs7-signature"},
}};

bool token_char(unsigned char c) {
  // RFC 2045 token: printable ASCII except SPACE and tspecials
  return c > 0x20 && c < 0x7f && std::string_view("()<>@,;:\\\"/[]?=").find(static_cast<char>(c)) == std::string_view::npos;
}

// RFC 2231 attr-char: token characters except '*', '\'' and '%'
bool attr_char(unsigned char c) { return token_char(c) && c != '*' && c != '\'' && c != '%'; }

std::string percent_encode(std::string_view s) {
  static constexpr char hexd[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (attr_char(c)) out += static_cast<char>(c);
    else {
      out += '%';
      out += hexd[c >> 4];
      out += hexd[c & 15];
    }
  }
  return out;
}

// Splits an RFC 2231 percent-encoded value into pieces of at most `max` characters, never
// inside a %XX triplet.
std::vector<std::string> split_encoded(const std::string& v, std::size_t max) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < v.size()) {
    std::size_t n = std::min(max, v.size() - i);
    if (i + n < v.size()) {
      if (v[i + n - 1] == '%') n -= 1;
      else if (n >= 2 && v[i + n - 2] == '%') n -= 2;
    }
    out.push_back(v.substr(i, n));
    i += n;
  }
  return out;
}

// name="…" / filename="…" parameter(s) for `value`, each line of the result starting with
// "\r\n " (continuation).
std::string name_params(std::string_view param, std::string_view value) {
  const bool plain = codec::is_ascii(value) && value.size() <= 60;
  if (plain) return ";\r\n " + std::string(param) + "=\"" + std::string(value) + "\"";
  const std::string enc = percent_encode(value);
  if (enc.size() <= 60) return ";\r\n " + std::string(param) + "*=utf-8''" + enc;
  std::string out;
  auto pieces = split_encoded(enc, 60);
  for (std::size_t i = 0; i < pieces.size(); ++i)
    out += ";\r\n " + std::string(param) + "*" + std::to_string(i) + "*=" + (i == 0 ? "utf-8''" : "") + pieces[i];
  return out;
}

}  // namespace

std::string guess_content_type(std::string_view filename) {
  const auto dot = filename.rfind('.');
  if (dot == std::string_view::npos || dot + 1 >= filename.size()) return "application/octet-stream";
  const std::string ext = to_lower(filename.substr(dot + 1));
  for (const auto& [e, t] : kTypes)
    if (e == ext) return std::string(t);
  return "application/octet-stream";
}

std::string safe_filename(std::string_view filename) {
  const auto slash = filename.find_last_of("/\\");
  if (slash != std::string_view::npos) filename.remove_prefix(slash + 1);
  std::string out;
  for (std::size_t i = 0; i < filename.size(); ++i) {
    const auto c = static_cast<unsigned char>(filename[i]);
    if (c < 0x20 || c == 0x7f || c == '"') continue;
    if (c == 0xC2 && i + 1 < filename.size() && static_cast<unsigned char>(filename[i + 1]) >= 0x80 &&
        static_cast<unsigned char>(filename[i + 1]) <= 0x9F) {  // a C1 control character in UTF-8
      ++i;
      continue;
    }
    out += static_cast<char>(c);
  }
  // Invalid UTF-8 would make a header clients show as garbage: keep only ASCII then.
  if (!codec::is_ascii(out) && !valid_utf8(out)) {
    std::string ascii;
    for (char c : out)
      if (static_cast<unsigned char>(c) < 0x80) ascii += c;
    out = ascii;
  }
  out = std::string(trim(out));
  while (!out.empty() && out.front() == '.') out.erase(0, 1);  // no hidden files, no ".."
  if (out.size() > 200) out = out.substr(out.size() - 200);    // keep the extension
  if (!valid_utf8(out)) out = "attachment";                    // cut inside a character
  return out.empty() ? "attachment" : out;
}

std::string clean_content_type(std::string_view ct) {
  std::string params;
  if (auto semi = ct.find(';'); semi != std::string_view::npos) {
    // parameters (charset=…) are kept when they are plain printable ASCII
    auto p = trim(ct.substr(semi + 1));
    bool ok = p.size() <= 200;
    for (unsigned char c : p) ok = ok && c >= 0x20 && c < 0x7f;
    if (ok && !p.empty()) params = "; " + std::string(p);
    ct = ct.substr(0, semi);
  }
  ct = trim(ct);
  const auto slash = ct.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == ct.size() || ct.size() > 127) return {};
  for (std::size_t i = 0; i < ct.size(); ++i)
    if (i != slash && !token_char(static_cast<unsigned char>(ct[i]))) return {};
  return to_lower(ct) + params;
}

std::string clean_content_id(std::string_view id) {
  id = trim(id);
  if (id.size() >= 2 && id.front() == '<' && id.back() == '>') id = id.substr(1, id.size() - 2);
  if (id.empty() || id.size() > 200) return {};
  for (unsigned char c : id)
    if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '"' || c == '\\') return {};
  return std::string(id);
}

std::string attachment_headers(std::string_view filename, std::string_view content_type, bool inline_part,
                               std::string_view content_id) {
  const std::string name = safe_filename(filename);
  std::string type = clean_content_type(content_type);
  if (type.empty()) type = guess_content_type(name);
  std::string h = "Content-Type: " + type;
  // name= for clients that read only Content-Type (RFC 2047 words, as Outlook writes them)
  if (codec::is_ascii(name) && name.size() <= 60) h += ";\r\n name=\"" + name + "\"";
  else h += ";\r\n name=\"" + codec::encode_header_text(name) + "\"";
  h += "\r\nContent-Disposition: " + std::string(inline_part ? "inline" : "attachment") + name_params("filename", name);
  if (auto cid = clean_content_id(content_id); !cid.empty()) h += "\r\nContent-ID: <" + cid + ">";
  h += "\r\nContent-Transfer-Encoding: base64\r\n\r\n";
  return h;
}

}  // namespace sitemail::smtp::mime
