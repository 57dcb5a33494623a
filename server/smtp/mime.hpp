// mime.hpp — the MIME pieces of a built message (RFC 2045-2047, 2183, 2231): a part's
// content type guessed from its file name, a hostile file name reduced to a safe base
// name, Content-Type/Content-Disposition headers of an attachment, and the exact size of
// base64 content in 76-column lines (what SIZE and MaxMessageSize count before anything
// is read).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace sitemail::smtp::mime {

// "report.pdf" -> "application/pdf"; unknown or no extension -> "application/octet-stream".
[[nodiscard]] std::string guess_content_type(std::string_view filename);
// The last path element (after '/' or '\'), without control characters (CR, LF, TAB, DEL,
// C1) or quotes; "attachment" when nothing is left. Valid UTF-8 is kept.
[[nodiscard]] std::string safe_filename(std::string_view filename);
// A content type the application gave, checked: "type/subtype" of token characters
// with its parameters when they are printable ASCII; empty when it is not one.
[[nodiscard]] std::string clean_content_type(std::string_view content_type);
// `Content-Type`, `Content-Disposition`, `Content-ID` (when `content_id` is set) and
// `Content-Transfer-Encoding: base64` lines of an attachment part, each ending CRLF,
// followed by the empty line. Non-ASCII names: RFC 2231 `filename*=utf-8''…` plus an
// RFC 2047 `name=` for older clients; long names are continued (filename*0*=…).
[[nodiscard]] std::string attachment_headers(std::string_view filename, std::string_view content_type, bool inline_part,
                                             std::string_view content_id);
// A Content-ID value the application gave, checked: no '<' '>' or white space or control
// characters; empty when unusable.
[[nodiscard]] std::string clean_content_id(std::string_view content_id);

}  // namespace sitemail::smtp::mime
