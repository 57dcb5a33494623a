// token_response.cpp — see token_response.hpp.
#include "token_response.hpp"

#include <nlohmann/json.hpp>

#include "reply.hpp"

namespace sitemail::oauth {

namespace {

using nlohmann::json;

// Reads a string member; numbers are accepted for the numeric fields only.
bool get_string(const json& j, const char* key, std::string& out, std::size_t limit, const char* limit_name, TokenResponse& r) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_string()) {
    r.malformed = std::string("field \"") + key + "\" is not a string";
    return false;
  }
  const auto& v = it->get_ref<const std::string&>();
  if (v.size() > limit) {
    r.malformed = std::string("field \"") + key + "\" is longer than " + limit_name + " (" + std::to_string(limit) + " bytes)";
    return false;
  }
  out = v;
  return true;
}

bool get_seconds(const json& j, const char* key, std::int64_t& out, TokenResponse& r) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  std::int64_t v = 0;
  if (it->is_number_integer()) {
    v = it->get<std::int64_t>();
  } else if (it->is_number_float()) {
    v = static_cast<std::int64_t>(std::min(it->get<double>(), static_cast<double>(kMaxExpiresIn + 1)));
  } else if (it->is_string()) {  // some providers quote numbers
    const auto& s = it->get_ref<const std::string&>();
    if (s.empty() || s.size() > 12 || s.find_first_not_of("0123456789") != std::string::npos) {
      r.malformed = std::string("field \"") + key + "\" is not a number";
      return false;
    }
    v = std::stoll(s);
  } else {
    r.malformed = std::string("field \"") + key + "\" is not a number";
    return false;
  }
  if (v < 0 || v > kMaxExpiresIn) {
    r.malformed = std::string("field \"") + key + "\" is out of range (0.." + std::to_string(kMaxExpiresIn) + " seconds)";
    return false;
  }
  out = v;
  return true;
}

}  // namespace

TokenResponse parse_token_response(std::string_view body, int http_status) {
  TokenResponse r;
  if (body.size() > kMaxResponseBytes) {
    r.malformed = "the response is larger than kMaxResponseBytes (" + std::to_string(kMaxResponseBytes) + " bytes)";
    return r;
  }
  json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    r.malformed = "the response is not a JSON object (HTTP " + std::to_string(http_status) + ")";
    return r;
  }
  const bool fields_ok =
      get_string(j, "error", r.error, kMaxTextBytes, "kMaxTextBytes", r) &&
      get_string(j, "error_description", r.error_description, kMaxTextBytes, "kMaxTextBytes", r) &&
      get_string(j, "access_token", r.access_token, kMaxTokenBytes, "kMaxTokenBytes", r) &&
      get_string(j, "refresh_token", r.refresh_token, kMaxTokenBytes, "kMaxTokenBytes", r) &&
      get_string(j, "token_type", r.token_type, kMaxTextBytes, "kMaxTextBytes", r) &&
      get_string(j, "scope", r.scope, kMaxTextBytes, "kMaxTextBytes", r) &&
      get_string(j, "device_code", r.device_code, kMaxTokenBytes, "kMaxTokenBytes", r) &&
      get_string(j, "user_code", r.user_code, kMaxTextBytes, "kMaxTextBytes", r) &&
      get_string(j, "verification_uri", r.verification_uri, kMaxTextBytes, "kMaxTextBytes", r) &&
      get_string(j, "verification_url", r.verification_uri, kMaxTextBytes, "kMaxTextBytes", r) &&  // Google's spelling
      get_string(j, "verification_uri_complete", r.verification_uri_complete, kMaxTextBytes, "kMaxTextBytes", r) &&
      get_seconds(j, "expires_in", r.expires_in, r) && get_seconds(j, "interval", r.interval, r);
  if (!fields_ok) return r;
  if (r.error.empty() && http_status >= 400) {
    r.malformed = "HTTP " + std::to_string(http_status) + " without an \"error\" field";
    return r;
  }
  if (!r.error.empty()) r.access_token.clear();  // an error response carries no usable token
  return r;
}

std::string describe_error(const TokenResponse& r) {
  if (!r.malformed.empty()) return "malformed response: " + r.malformed;
  std::string s = smtp::sanitise(r.error, 100);
  if (!r.error_description.empty()) s += ": " + smtp::sanitise(r.error_description, 300);
  return s;
}

}  // namespace sitemail::oauth
