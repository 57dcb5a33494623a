// password_hash.hpp — passwords of the doors (submission accounts §9, web console accounts
// §10): stored only as a slow salted hash (scrypt, RFC 7914, from OpenSSL), compared in
// constant time. The stored form names its parameters, so they can be raised later
// without invalidating existing hashes:
//   $scrypt$ln=15,r=8,p=1$<salt, base64>$<derived key, base64>
#pragma once
#include <string>
#include <string_view>

namespace sitemail::accounts {

// A fresh random salt; throws std::runtime_error when OpenSSL fails.
[[nodiscard]] std::string hash_password(std::string_view password);
// True only when `stored` is a well-formed hash of `password` (constant-time compare).
[[nodiscard]] bool verify_password(std::string_view password, std::string_view stored);
// A random password for `--generate`: 20 characters from an unambiguous alphabet.
[[nodiscard]] std::string generate_password();

}  // namespace sitemail::accounts
