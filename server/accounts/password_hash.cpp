// password_hash.cpp — see password_hash.hpp.
#include "password_hash.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdio>
#include <stdexcept>
#include <vector>

namespace sitemail::accounts {

namespace {

// scrypt cost: N = 2^15, r = 8 (32 MiB, about 0.1 s on one core). Verification happens on
// every AUTH of the submission door and every sign-in of the console, both throttled per
// client address, so this is also the price of a password guess.
constexpr int kLogN = 15;
constexpr unsigned kR = 8, kP = 1;
constexpr std::size_t kSaltBytes = 16, kKeyBytes = 32;
constexpr std::uint64_t kMaxMem = 64ull << 20;

std::string b64(const unsigned char* p, std::size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), p, static_cast<int>(n));
  out.resize(static_cast<std::size_t>(len));
  return out;
}

bool unb64(std::string_view s, std::vector<unsigned char>& out) {
  if (s.empty() || s.size() % 4 != 0 || s.size() > 256) return false;
  out.assign(s.size() / 4 * 3 + 1, 0);
  const int len = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  if (len < 0) return false;
  std::size_t n = static_cast<std::size_t>(len);
  if (s.ends_with("==")) n -= 2;
  else if (s.ends_with("=")) n -= 1;
  out.resize(n);
  return true;
}

bool derive(std::string_view password, const unsigned char* salt, std::size_t salt_len, int log_n, unsigned r, unsigned p,
            unsigned char* key, std::size_t key_len) {
  return EVP_PBE_scrypt(password.data(), password.size(), salt, salt_len, std::uint64_t{1} << log_n, r, p, kMaxMem, key,
                        key_len) == 1;
}

}  // namespace

std::string hash_password(std::string_view password) {
  unsigned char salt[kSaltBytes], key[kKeyBytes];
  if (RAND_bytes(salt, sizeof salt) != 1) throw std::runtime_error("no random bytes for a password salt");
  if (!derive(password, salt, sizeof salt, kLogN, kR, kP, key, sizeof key)) throw std::runtime_error("scrypt failed");
  return "$scrypt$ln=" + std::to_string(kLogN) + ",r=" + std::to_string(kR) + ",p=" + std::to_string(kP) + "$" +
         b64(salt, sizeof salt) + "$" + b64(key, sizeof key);
}

bool verify_password(std::string_view password, std::string_view stored) {
  constexpr std::string_view prefix = "$scrypt$";
  if (!stored.starts_with(prefix)) return false;
  stored.remove_prefix(prefix.size());
  const auto d1 = stored.find('$');
  if (d1 == std::string_view::npos) return false;
  const auto d2 = stored.find('$', d1 + 1);
  if (d2 == std::string_view::npos) return false;
  int log_n = 0;
  unsigned r = 0, p = 0;
  const std::string params(stored.substr(0, d1));
  char tail = 0;
  if (std::sscanf(params.c_str(), "ln=%d,r=%u,p=%u%c", &log_n, &r, &p, &tail) != 3) return false;
  if (log_n < 10 || log_n > 20 || r < 1 || r > 32 || p < 1 || p > 4) return false;
  std::vector<unsigned char> salt, want;
  if (!unb64(stored.substr(d1 + 1, d2 - d1 - 1), salt) || !unb64(stored.substr(d2 + 1), want)) return false;
  if (want.size() < 16 || want.size() > 64) return false;
  std::vector<unsigned char> got(want.size());
  if (!derive(password, salt.data(), salt.size(), log_n, r, p, got.data(), got.size())) return false;
  return CRYPTO_memcmp(got.data(), want.data(), want.size()) == 0;
}

std::string generate_password() {
  static constexpr char alphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  constexpr unsigned n = sizeof alphabet - 1;  // 56
  std::string out;
  while (out.size() < 20) {
    unsigned char b[32];
    if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("no random bytes for a password");
    for (unsigned char c : b)
      if (c < 224 && out.size() < 20) out += alphabet[c % n];  // 224 = 4 * 56: no modulo bias
  }
  return out;
}

}  // namespace sitemail::accounts
