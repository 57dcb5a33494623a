// body_stream.cpp — see body_stream.hpp.
#include "body_stream.hpp"

namespace sitemail::smtp {

void DotStuffer::feed(std::string_view in, std::string& out) {
  out.reserve(out.size() + in.size() + 8);
  // A line at a time (base64 slices are ~500 lines of 78 octets): only line starts are looked at.
  std::size_t i = 0;
  while (i < in.size()) {
    if (line_start_ && in[i] == '.') out += '.';
    const std::size_t nl = in.find('\n', i);
    const std::size_t end = nl == std::string_view::npos ? in.size() : nl + 1;
    out.append(in.data() + i, end - i);
    line_start_ = nl != std::string_view::npos;
    i = end;
  }
}

void CrlfNormaliser::feed(std::string_view in, std::string& out) {
  out.reserve(out.size() + in.size() + in.size() / 32);
  for (char c : in) {
    if (pending_cr_) {
      pending_cr_ = false;
      out += "\r\n";
      if (c == '\n') continue;  // CRLF
    }
    if (c == '\r') pending_cr_ = true;
    else if (c == '\n') out += "\r\n";
    else out += c;
  }
}

void CrlfNormaliser::finish(std::string& out) {
  if (pending_cr_) out += "\r\n";
  pending_cr_ = false;
}

}  // namespace sitemail::smtp
