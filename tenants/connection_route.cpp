// connection_route.cpp — see connection_route.hpp.
#include "connection_route.hpp"

#include <openssl/evp.h>

#include <charconv>

#include "oauth_preset.hpp"

namespace sitemail {

bool message_only(Setting s) {
  switch (s) {
    case Setting::EMailFromAddress:
    case Setting::EMailFromName:
    case Setting::EMailNoAccountAddress:
    case Setting::OtherHeaders:
    case Setting::MaxSubjectLength:
    case Setting::MaxMessageSize: return true;
    default: return false;
  }
}

namespace {
void field(std::string& out, std::string_view v) {  // length-prefixed: no two inputs give one string
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.size());
  out.append(buf, end);
  out += ':';
  out += v;
}
void field(std::string& out, long long v) {  // as field(out, std::to_string(v)), without the temporary
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  field(out, std::string_view(buf, static_cast<std::size_t>(end - buf)));
}
// SHA-256 fetched once (an implicit fetch per digest costs as much as the digest itself).
const EVP_MD* sha256() {
  static const EVP_MD* md = [] {
    const EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return m ? m : EVP_sha256();
  }();
  return md;
}
// One digest context per thread, reused: a fresh context per digest (EVP_Digest) costs a
// dozen allocations, more than the hashing of a route.
bool digest(std::string_view data, unsigned char* md, unsigned int& n) {
  struct Ctx {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    Ctx() = default;
    Ctx(const Ctx&) = delete;
    Ctx& operator=(const Ctx&) = delete;
    ~Ctx() { EVP_MD_CTX_free(ctx); }
  };
  thread_local Ctx c;
  return c.ctx && EVP_DigestInit_ex2(c.ctx, sha256(), nullptr) == 1 && EVP_DigestUpdate(c.ctx, data.data(), data.size()) == 1 &&
         EVP_DigestFinal_ex(c.ctx, md, &n) == 1;
}
}  // namespace

std::string connection_route(const EffectiveSettings& s) {
  std::string out;
  out.reserve(512);
  const bool own = oauth_plan(s).enabled || s.number(Setting::MaxMessagesPerMinute) > 0;
  field(out, own ? s.site : std::string());
  for (std::size_t i = 0; i < kSettingCount; ++i) {
    const auto id = static_cast<Setting>(i);
    if (message_only(id)) continue;
    const auto& r = s.at(id);
    // A setting at its built-in value is left out (most of them, at most sites): which
    // settings differ and how is the same identity, in a fraction of the bytes to hash.
    if (r.confine_to.empty() && r.value == builtin_resolution(i).value) continue;
    field(out, static_cast<long long>(i));
    field(out, r.value.text);  // every part of the typed value
    field(out, static_cast<long long>(r.value.number));
    field(out, static_cast<long long>(r.value.port_tls));
    field(out, r.value.indirection);
    field(out, r.confine_to);  // file names in it resolve beneath the site's own folder
  }
  field(out, tls_mode_name(s.tls));
  field(out, static_cast<long long>(s.port));
  field(out, static_cast<long long>(s.firewall_port));
  field(out, s.helo);
  // Kept as its SHA-256: 64 characters per site instead of every value (10,000 sites), and
  // no secret sits in the route.
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!digest(out, md, n)) return out;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * n);
  for (unsigned int i = 0; i < n; ++i) {
    hex += kHex[md[i] >> 4];
    hex += kHex[md[i] & 15];
  }
  return hex;
}

}  // namespace sitemail
