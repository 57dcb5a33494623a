// cert_pin.cpp — normalising SslAcceptServerCert to a SHA-256 fingerprint of the DER
// certificate, accepting PEM, base64 DER or a hex fingerprint (colons allowed).
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cctype>
#include <memory>
#include <string>

#include "text_util.hpp"
#include "value.hpp"

namespace sitemail {

namespace {

std::string hex(const unsigned char* p, unsigned n) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += d[p[i] >> 4];
    out += d[p[i] & 15];
  }
  return out;
}

std::optional<std::string> fingerprint(X509* x) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  if (X509_digest(x, EVP_sha256(), md, &n) != 1) return std::nullopt;
  return hex(md, n);
}

}  // namespace

std::optional<std::string> normalise_cert_pin(std::string_view raw, std::string& error) {
  auto s = trim(raw);
  if (s == "*") return std::string("*");
  // A fingerprint: 64 hex digits, optionally separated by colons, optional sha256: prefix.
  std::string_view f = s;
  if (f.size() > 7 && iequals(f.substr(0, 7), "sha256:")) f = f.substr(7);
  std::string digits;
  bool only_hex = true;
  for (char c : f) {
    if (c == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      only_hex = false;
      break;
    }
    digits += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (only_hex && digits.size() == 64) return digits;
  if (only_hex) {
    error = "a fingerprint must be 64 hex digits (SHA-256), got " + std::to_string(digits.size());
    return std::nullopt;
  }
  std::unique_ptr<X509, decltype(&X509_free)> cert(nullptr, X509_free);
  if (s.find("-----BEGIN") != std::string_view::npos) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())), BIO_free);
    cert.reset(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) {
      error = "the PEM text is not a valid certificate";
      return std::nullopt;
    }
  } else {
    std::string b64;
    for (char c : s)
      if (!std::isspace(static_cast<unsigned char>(c))) b64 += c;
    std::string der(b64.size(), '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(der.data()), reinterpret_cast<const unsigned char*>(b64.data()),
                            static_cast<int>(b64.size()));
    if (n <= 0) {
      error = "not '*', a SHA-256 fingerprint, a PEM certificate or base64 DER";
      return std::nullopt;
    }
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    cert.reset(d2i_X509(nullptr, &p, n));
    if (!cert) {
      error = "not '*', a SHA-256 fingerprint, a PEM certificate or base64 DER";
      return std::nullopt;
    }
  }
  auto fp = fingerprint(cert.get());
  if (!fp) error = "cannot compute the certificate's fingerprint";
  return fp;
}

}  // namespace sitemail
