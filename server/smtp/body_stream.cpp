// body_stream.cpp — see body_stream.hpp.
#include "body_stream.hpp"

namespace sitemail::smtp {

void DotStuffer::feed(std::string_view in, std::string& out) {
  out.reserve(out.size() + in.size() + 8);
  for (char c : in) {
    if (line_start_ && c == '.') out += '.';
    out += c;
    line_start_ = c == '\n';
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
