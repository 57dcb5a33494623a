// reply.cpp — see reply.hpp.
#include "reply.hpp"

#include <cctype>

namespace sitemail::smtp {

std::string sanitise(std::string_view s, std::size_t max) {
  std::string out;
  for (unsigned char c : s) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  return out;
}

std::string Reply::summary() const {
  std::string s = std::to_string(code);
  if (!enhanced.empty()) s += " " + enhanced;
  if (!lines.empty()) {
    std::string first = lines.front();
    if (!enhanced.empty() && first.starts_with(enhanced)) first = first.substr(enhanced.size());
    while (!first.empty() && first.front() == ' ') first.erase(0, 1);
    if (!first.empty()) s += " " + first;
  }
  return sanitise(s);
}

void ReplyParser::feed(std::string_view bytes) {
  if (!error_.empty()) return;  // the stream is already rejected: keep nothing more
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes);
}

std::optional<Reply> ReplyParser::next() {
  while (error_.empty()) {
    auto eol = buf_.find('\n', pos_);
    if (eol == std::string::npos ? buf_.size() - pos_ > kMaxReplyLineBytes : eol + 1 - pos_ > kMaxReplyLineBytes) {
      error_ = "reply line longer than " + std::to_string(kMaxReplyLineBytes) + " bytes (limit)";
      break;
    }
    if (eol == std::string::npos) {
      if (pos_ > 0 && pos_ == buf_.size()) clear();
      return std::nullopt;
    }
    std::string_view line(buf_.data() + pos_, eol - pos_);
    pos_ = eol + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0])) ||
        !std::isdigit(static_cast<unsigned char>(line[1])) || !std::isdigit(static_cast<unsigned char>(line[2])) ||
        (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
      error_ = "malformed reply line: " + sanitise(line, 80);
      return std::nullopt;
    }
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (!partial_.lines.empty() && code != partial_.code) {
      error_ = "multi-line reply changes its code: " + sanitise(line, 80);
      return std::nullopt;
    }
    partial_.code = code;
    std::string text(line.size() > 4 ? line.substr(4) : std::string_view());
    if (partial_.lines.empty() && code >= 200 && code < 600) {
      // enhanced status code: class.subject.detail, class matching the reply's first digit
      std::size_t i = 0, dots = 0;
      while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
        dots += text[i] == '.';
        ++i;
      }
      if (dots == 2 && i >= 5 && text[0] == line[0] && (i == text.size() || text[i] == ' '))
        partial_.enhanced = text.substr(0, i);
    }
    partial_bytes_ += line.size() + 2;
    if (partial_.lines.size() + 1 > kMaxReplyLines) {
      error_ = "reply of more than " + std::to_string(kMaxReplyLines) + " lines (limit)";
      break;
    }
    if (partial_bytes_ > kMaxReplyBytes) {
      error_ = "reply larger than " + std::to_string(kMaxReplyBytes) + " bytes (limit)";
      break;
    }
    partial_.lines.push_back(std::move(text));
    if (line.size() == 3 || line[3] == ' ') {
      Reply r = std::move(partial_);
      partial_ = Reply{};
      partial_bytes_ = 0;
      if (pos_ == buf_.size()) clear();
      return r;
    }
  }
  // Rejected: drop what is buffered; error() tells why.
  buf_.clear();
  buf_.shrink_to_fit();
  pos_ = 0;
  partial_ = Reply{};
  return std::nullopt;
}

}  // namespace sitemail::smtp
