// codec.hpp — byte encodings and digests the mail engine needs: base64, hex,
// quoted-printable (RFC 2045), RFC 2047 encoded-words, UTF-16LE, MD4 (RFC 1320, for NTLM;
// OpenSSL 3 only ships it in the legacy provider) and HMAC-MD5.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace sitemail::codec {

[[nodiscard]] std::string base64(std::string_view bytes);
// Writes the base64 of `bytes` ((size + 2) / 3 * 4 characters) at `out`; returns its end.
char* base64_to(std::string_view bytes, char* out);
// Strict decode (whitespace ignored); nullopt on bad input.
[[nodiscard]] std::optional<std::string> unbase64(std::string_view text);
[[nodiscard]] std::string hex(std::string_view bytes);
[[nodiscard]] std::string unhex(std::string_view hex);  // tolerant of spaces; test helper

// Quoted-printable body encoding; lines of at most 76 characters, CRLF line ends.
[[nodiscard]] std::string quoted_printable(std::string_view text);
// Base64 lines of `bytes`: CRLF after every 76 characters and after the last (none for
// empty input). Chunks whose size is a multiple of 57 give whole lines, so a stream can be
// encoded piece by piece.
[[nodiscard]] std::string base64_lines(std::string_view bytes);
// The same lines appended to `out`, written in place (large attachments go through here
// slice by slice, straight into the connection's output).
void append_base64_lines(std::string_view bytes, std::string& out);
// The same lines written at `out` (base64_lines_size(bytes.size()) octets); returns their end.
char* base64_lines_to(std::string_view bytes, char* out);
// Octets of `n` bytes as base64 lines.
[[nodiscard]] std::uint64_t base64_lines_size(std::uint64_t n);
inline constexpr std::size_t kBase64LineBytes = 57;  // 57 input octets = one 76-character line
// A header value that may hold non-ASCII text: returned as is when printable ASCII,
// else as RFC 2047 encoded-words (UTF-8, B encoding, each word <= 75 characters).
[[nodiscard]] std::string encode_header_text(std::string_view utf8);
[[nodiscard]] bool is_ascii(std::string_view s);

[[nodiscard]] std::string utf16le(std::string_view utf8);
[[nodiscard]] std::string md4(std::string_view bytes);
[[nodiscard]] std::string hmac_md5(std::string_view key, std::string_view data);

}  // namespace sitemail::codec
