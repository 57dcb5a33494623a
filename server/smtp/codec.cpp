// codec.cpp — see codec.hpp. MD4 follows RFC 1320 section 3.
#include "codec.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

namespace sitemail::codec {

namespace {
constexpr const char* kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

namespace {
// The two characters of every 12-bit value: three octets are two lookups and two 2-byte
// stores instead of four of each (large attachments spend most of their encoding here).
struct PairTable {
  std::array<std::array<char, 2>, 4096> pair{};
  constexpr PairTable() {
    for (std::size_t v = 0; v < pair.size(); ++v) pair[v] = {kB64[v >> 6], kB64[v & 63]};
  }
};
constexpr PairTable kPairs;
}  // namespace

char* base64_to(std::string_view in, char* o) {
  std::size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  // Six octets per step, read as one 8-octet word while two more are there to read.
  for (; i + 8 <= in.size(); i += 6) {
    std::uint64_t w = 0;
    std::memcpy(&w, p + i, 8);
    if constexpr (std::endian::native == std::endian::little) w = __builtin_bswap64(w);  // the first octet on top
    const auto a = static_cast<std::uint32_t>(w >> 40), b = static_cast<std::uint32_t>(w >> 16) & 0xffffff;
    std::memcpy(o, kPairs.pair[a >> 12].data(), 2);
    std::memcpy(o + 2, kPairs.pair[a & 4095].data(), 2);
    std::memcpy(o + 4, kPairs.pair[b >> 12].data(), 2);
    std::memcpy(o + 6, kPairs.pair[b & 4095].data(), 2);
    o += 8;
  }
  for (; i + 2 < in.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8) | p[i + 2];
    std::memcpy(o, kPairs.pair[v >> 12].data(), 2);
    std::memcpy(o + 2, kPairs.pair[v & 4095].data(), 2);
    o += 4;
  }
  if (i < in.size()) {
    std::uint32_t v = std::uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= std::uint8_t(in[i + 1]) << 8;
    *o++ = kB64[(v >> 18) & 63];
    *o++ = kB64[(v >> 12) & 63];
    *o++ = i + 1 < in.size() ? kB64[(v >> 6) & 63] : '=';
    *o++ = '=';
  }
  return o;
}

std::string base64(std::string_view in) {
  std::string out((in.size() + 2) / 3 * 4, '\0');
  base64_to(in, out.data());
  return out;
}

std::optional<std::string> unbase64(std::string_view text) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0, pad = 0;
  for (char c : text) {
    if (c == ' ' || c == '\r' || c == '\n' || c == '\t') continue;
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad) return std::nullopt;
    const char* p = std::strchr(kB64, c);
    if (!p || c == '\0') return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (pad > 2) return std::nullopt;
  return out;
}

std::string hex(std::string_view bytes) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

std::string unhex(std::string_view h) {
  std::string out;
  int hi = -1;
  for (char c : h) {
    int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
    if (v < 0) continue;
    if (hi < 0) hi = v;
    else {
      out += static_cast<char>(hi * 16 + v);
      hi = -1;
    }
  }
  return out;
}

bool is_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

std::string quoted_printable(std::string_view text) {
  static const char* d = "0123456789ABCDEF";
  std::string out;
  std::size_t col = 0;
  auto put = [&](std::string_view piece) {
    if (col + piece.size() > 75) {
      out += "=\r\n";
      col = 0;
    }
    out += piece;
    col += piece.size();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;  // CRLF handled at LF
    if (c == '\n') {
      // trailing whitespace before a line break must be encoded
      if (!out.empty() && (out.back() == ' ' || out.back() == '\t')) {
        char ws = out.back();
        out.pop_back();
        --col;
        char enc[4] = {'=', d[static_cast<unsigned char>(ws) >> 4], d[ws & 15], 0};
        put(enc);
      }
      out += "\r\n";
      col = 0;
      continue;
    }
    bool literal = (c >= 33 && c <= 126 && c != '=') || c == ' ' || c == '\t';
    // A '.' at the start of a line is encoded too, so dot-stuffing never matters.
    if (c == '.' && col == 0) literal = false;
    if (literal) {
      char s[2] = {static_cast<char>(c), 0};
      put(s);
    } else {
      char enc[4] = {'=', d[c >> 4], d[c & 15], 0};
      put(enc);
    }
  }
  if (!out.empty() && (out.back() == ' ' || out.back() == '\t')) {
    char ws = out.back();
    out.pop_back();
    char enc[4] = {'=', d[static_cast<unsigned char>(ws) >> 4], d[ws & 15], 0};
    out += enc;
  }
  return out;
}

std::uint64_t base64_lines_size(std::uint64_t n) {
  const std::uint64_t chars = (n + 2) / 3 * 4;
  return chars + 2 * ((chars + 75) / 76);
}

char* base64_lines_to(std::string_view bytes, char* o) {
  for (std::size_t i = 0; i < bytes.size(); i += kBase64LineBytes) {
    o = base64_to(bytes.substr(i, kBase64LineBytes), o);
    *o++ = '\r';
    *o++ = '\n';
  }
  return o;
}

void append_base64_lines(std::string_view bytes, std::string& out) {
  const std::size_t start = out.size();
  out.resize(start + static_cast<std::size_t>(base64_lines_size(bytes.size())));
  base64_lines_to(bytes, out.data() + start);
}

std::string base64_lines(std::string_view bytes) {
  std::string out;
  append_base64_lines(bytes, out);
  return out;
}

std::string encode_header_text(std::string_view s) {
  bool plain = true;
  for (unsigned char c : s)
    if (c >= 0x80 || c < 0x20) plain = false;
  if (plain && s.find("=?") == std::string_view::npos) return std::string(s);
  // Split into chunks of whole UTF-8 characters, at most 45 bytes each (60 base64 chars).
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t end = std::min(s.size(), i + 45);
    while (end < s.size() && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64(s.substr(i, end - i)) + "?=";
    i = end;
  }
  return out;
}

std::string utf16le(std::string_view utf8) {
  std::string out;
  for (std::size_t i = 0; i < utf8.size();) {
    unsigned char c = static_cast<unsigned char>(utf8[i]);
    std::uint32_t cp = c;
    int extra = 0;
    if (c >= 0xF0) {
      cp = c & 0x07;
      extra = 3;
    } else if (c >= 0xE0) {
      cp = c & 0x0F;
      extra = 2;
    } else if (c >= 0xC0) {
      cp = c & 0x1F;
      extra = 1;
    }
    ++i;
    for (int k = 0; k < extra && i < utf8.size(); ++k, ++i) cp = (cp << 6) | (static_cast<unsigned char>(utf8[i]) & 0x3F);
    auto put16 = [&](std::uint32_t u) {
      out += static_cast<char>(u & 0xff);
      out += static_cast<char>((u >> 8) & 0xff);
    };
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put16(0xD800 + (cp >> 10));
      put16(0xDC00 + (cp & 0x3FF));
    } else {
      put16(cp);
    }
  }
  return out;
}

std::string md4(std::string_view msg) {
  auto rotl = [](std::uint32_t x, int s) { return (x << s) | (x >> (32 - s)); };
  std::uint32_t a0 = 0x67452301, b0 = 0xefcdab89, c0 = 0x98badcfe, d0 = 0x10325476;
  std::string m(msg);
  const std::uint64_t bitlen = static_cast<std::uint64_t>(msg.size()) * 8;
  m += static_cast<char>(0x80);
  while (m.size() % 64 != 56) m += '\0';
  for (int i = 0; i < 8; ++i) m += static_cast<char>((bitlen >> (8 * i)) & 0xff);
  for (std::size_t off = 0; off < m.size(); off += 64) {
    std::array<std::uint32_t, 16> x{};
    for (int i = 0; i < 16; ++i)
      x[i] = std::uint32_t(std::uint8_t(m[off + 4 * i])) | std::uint32_t(std::uint8_t(m[off + 4 * i + 1])) << 8 |
             std::uint32_t(std::uint8_t(m[off + 4 * i + 2])) << 16 | std::uint32_t(std::uint8_t(m[off + 4 * i + 3])) << 24;
    std::uint32_t a = a0, b = b0, c = c0, d = d0;
    auto F = [](std::uint32_t x_, std::uint32_t y, std::uint32_t z) { return (x_ & y) | (~x_ & z); };
    auto G = [](std::uint32_t x_, std::uint32_t y, std::uint32_t z) { return (x_ & y) | (x_ & z) | (y & z); };
    auto H = [](std::uint32_t x_, std::uint32_t y, std::uint32_t z) { return x_ ^ y ^ z; };
    const int r1[4] = {3, 7, 11, 19}, r2[4] = {3, 5, 9, 13}, r3[4] = {3, 9, 11, 15};
    for (int i = 0; i < 16; ++i) {
      std::uint32_t t = rotl(a + F(b, c, d) + x[i], r1[i % 4]);
      a = d;
      d = c;
      c = b;
      b = t;
    }
    const int o2[16] = {0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15};
    for (int i = 0; i < 16; ++i) {
      std::uint32_t t = rotl(a + G(b, c, d) + x[o2[i]] + 0x5a827999u, r2[i % 4]);
      a = d;
      d = c;
      c = b;
      b = t;
    }
    const int o3[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};
    for (int i = 0; i < 16; ++i) {
      std::uint32_t t = rotl(a + H(b, c, d) + x[o3[i]] + 0x6ed9eba1u, r3[i % 4]);
      a = d;
      d = c;
      c = b;
      b = t;
    }
    a0 += a;
    b0 += b;
    c0 += c;
    d0 += d;
  }
  std::string out;
  for (std::uint32_t v : {a0, b0, c0, d0})
    for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

std::string hmac_md5(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_md5(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()), data.size(), md,
       &n);
  return std::string(reinterpret_cast<char*>(md), n);
}

}  // namespace sitemail::codec
