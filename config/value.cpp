// value.cpp — per-type parsers behind parse_value(); see value.hpp.
#include "value.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include "confined_file.hpp"
#include "credentials.hpp"
#include "text_util.hpp"

namespace sitemail {

namespace {

std::string quote(std::string_view s) {
  std::string shown(s.substr(0, 80));
  for (auto& c : shown)
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  return "'" + shown + (s.size() > 80 ? "...'" : "'");
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

ParseOutcome fail(std::string msg) { return ParseOutcome{std::nullopt, std::move(msg), {}}; }
ParseOutcome ok(Value v, std::string warning = {}) { return ParseOutcome{std::move(v), {}, std::move(warning)}; }

ParseOutcome parse_bool(std::string_view s) {
  for (auto t : {"yes", "true", "1"})
    if (iequals(s, t)) return ok(Value{{}, 1, {}, {}});
  for (auto f : {"no", "false", "0"})
    if (iequals(s, f)) return ok(Value{{}, 0, {}, {}});
  return fail(quote(s) + " is not a boolean (use Yes/No, true/false or 1/0)");
}

ParseOutcome parse_enum(const SettingDef& d, std::string_view s) {
  for (const auto& c : d.choices) {
    if (iequals(s, c.name)) return ok(Value{{}, c.number, {}, {}});
    for (auto a : c.aliases)
      if (iequals(s, a)) return ok(Value{{}, c.number, {}, {}});
  }
  if (auto n = parse_int(s))
    for (const auto& c : d.choices)
      if (c.number == *n) return ok(Value{{}, c.number, {}, {}});
  std::string list;
  std::vector<std::string_view> names;
  for (const auto& c : d.choices) {
    if (!list.empty()) list += ", ";
    list += std::string(c.name) + "(" + std::to_string(c.number) + ")";
    names.push_back(c.name);
    for (auto a : c.aliases) names.push_back(a);
  }
  std::string msg = quote(s) + " is not one of " + list;
  if (auto near = nearest(s, names); !near.empty()) msg += "; did you mean " + near + "?";
  return fail(msg);
}

ParseOutcome parse_port(const SettingDef& d, std::string_view s) {
  std::string_view num = s, suffix;
  if (auto dash = s.find('-'); dash != std::string_view::npos) {
    num = s.substr(0, dash);
    suffix = s.substr(dash + 1);
  }
  auto n = parse_int(num);
  if (!n) return fail(quote(s) + " is not a port number");
  Value v{{}, *n, PortTls::unspecified, {}};
  if (!suffix.empty() || s.find('-') != std::string_view::npos) {
    if (d.id != Setting::EMailSMTPPort) return fail(quote(s) + ": a TLS suffix is only allowed on EMailSMTPPort");
    if (iequals(suffix, "ssl")) v.port_tls = PortTls::ssl;
    else if (iequals(suffix, "starttls")) v.port_tls = PortTls::starttls;
    else if (iequals(suffix, "nossl")) v.port_tls = PortTls::nossl;
    else return fail("unknown port suffix " + quote(suffix) + " in " + quote(s) + " (expected -ssl, -starttls or -nossl)");
  }
  if (*n < d.min || *n > d.max)
    return fail("port " + std::to_string(*n) + " is out of range " + std::to_string(d.min) + "-" + std::to_string(d.max));
  return ok(v);
}

ParseOutcome parse_number(const SettingDef& d, std::string_view s) {
  auto n = parse_int(s);
  if (!n) return fail(quote(s) + " is not a whole number" + (d.type == ValueType::seconds ? " of seconds" : ""));
  if (*n < d.min || *n > d.max)
    return fail(std::to_string(*n) + " is out of range " + std::to_string(d.min) + "-" + std::to_string(d.max));
  return ok(Value{{}, *n, {}, {}});
}

bool valid_host(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  if (s.front() == '[') return s.back() == ']' && s.size() > 2;
  for (unsigned char c : s)
    if (!(std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == ':')) return false;
  return true;
}

bool valid_address(std::string_view s) {
  auto at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == s.size() || s.size() > 254) return false;
  for (unsigned char c : s)
    if (c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == ',' || c == ';' || c == '"' || c == '(' || c == ')' || c == '\\')
      return false;
  return valid_host(s.substr(at + 1));
}

ParseOutcome parse_headers(std::string_view s) {
  if (has_control_chars(s, "\r\n\t")) return fail("contains control characters");
  std::string norm;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
      norm += '\n';
    } else {
      norm += s[i];
    }
  }
  bool replace = !norm.empty() && norm.front() == '\n';
  auto lines = split(replace ? std::string_view(norm).substr(1) : std::string_view(norm), '\n');
  std::size_t n = 0;
  for (auto& l : lines) {
    ++n;
    if (trim(l).empty()) continue;
    if (l.front() == ' ' || l.front() == '\t') continue;  // folded continuation
    auto colon = l.find(':');
    if (colon == std::string::npos || colon == 0)
      return fail("header line " + std::to_string(n) + " " + quote(l) + " is not 'Name: value'");
    for (char c : l.substr(0, colon))
      if (c <= 0x20 || c >= 0x7f) return fail("header name " + quote(l.substr(0, colon)) + " is not valid");
  }
  return ok(Value{norm, replace ? 1 : 0, {}, {}});
}

ParseOutcome parse_secret(std::string_view s, const ParseContext& ctx) {
  if (s.starts_with("env:")) {
    std::string name(s.substr(4));
    if (name.empty()) return fail("env: needs a variable name");
    if (ctx.confined && std::find(ctx.env_allow.begin(), ctx.env_allow.end(), name) == ctx.env_allow.end()) {
      std::string allowed;
      for (const auto& a : ctx.env_allow) allowed += (allowed.empty() ? "" : " ") + a;
      return fail("env:" + name + " is not allowed in a delegated site file ([sites] site_env_allow: " +
                  (allowed.empty() ? std::string("empty") : allowed) + ")");
    }
    Value v{{}, 0, {}, "env:" + name};
    if (!ctx.resolve_secrets) return ok(v);
    std::optional<std::string> got;
    if (ctx.getenv) got = ctx.getenv(name);
    else got = env_secret(name);  // the variable, else a systemd credential (credentials.hpp)
    if (!got) return fail(env_secret_missing(name));
    v.text = *got;
    return ok(v);
  }
  if (s.starts_with("file:")) {
    std::string path(s.substr(5));
    if (path.empty()) return fail("file: needs a path");
    if (ctx.confined)
      if (auto problem = confined_name_problem(path); !problem.empty()) return fail(quote(s) + " is " + problem);
    Value v{{}, 0, {}, "file:" + path};
    if (!ctx.resolve_secrets) return ok(v);
    const FileRoot root{ctx.confined ? ctx.confine_dir : ctx.config_dir, ctx.confined};
    auto got = read_config_file(root, path, kMaxSecretFileBytes);
    if (!got.data)
      return fail(got.error.starts_with("cannot read ") ? "cannot read secret file " + got.error.substr(12) : got.error);
    std::string text = std::move(*got.data);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    v.text = std::move(text);
    return ok(v, exposed_mode_problem(got.mode, got.path));
  }
  if (has_control_chars(s)) return fail("contains control characters");
  return ok(Value{std::string(s), 0, {}, {}});
}

}  // namespace

ParseOutcome parse_value(const SettingDef& d, std::string_view raw, const ParseContext& ctx) {
  const bool keep_raw = d.type == ValueType::headers || d.type == ValueType::blob;
  std::string_view s = keep_raw ? raw : trim(raw);
  if (d.secret) return parse_secret(trim(raw), ctx);
  switch (d.type) {
    case ValueType::boolean: return parse_bool(s);
    case ValueType::enumeration: return parse_enum(d, s);
    case ValueType::port: return parse_port(d, s);
    case ValueType::seconds:
    case ValueType::count: return parse_number(d, s);
    case ValueType::host:
      if (s.empty()) return ok(Value{});
      if (!valid_host(s)) return fail(quote(s) + " is not a host name or IP address");
      return ok(Value{std::string(s), 0, {}, {}});
    case ValueType::address:
      if (s.empty()) return ok(Value{});
      if (!valid_address(s)) return fail(quote(s) + " is not a mail address (local@domain)");
      return ok(Value{std::string(s), 0, {}, {}});
    case ValueType::text:
    case ValueType::path:
      if (has_control_chars(s)) return fail("contains control characters");
      if (d.type == ValueType::path && ctx.confined && !s.empty())
        if (auto problem = confined_name_problem(s); !problem.empty()) return fail(quote(s) + " is " + problem);
      return ok(Value{std::string(s), 0, {}, {}});
    case ValueType::blob: {
      auto t = trim(s);
      if (has_control_chars(t, "\r\n\t")) return fail("contains control characters");
      return ok(Value{std::string(t), 0, {}, {}});
    }
    case ValueType::headers: return parse_headers(s);
    case ValueType::cert_pin: {
      auto t = trim(raw);
      if (t.empty()) return ok(Value{});
      std::string err;
      auto pin = normalise_cert_pin(t, err);
      if (!pin) return fail(err);
      std::string warn = *pin == "*" ? "'*' accepts any server certificate: the relay is not verified" : "";
      return ok(Value{*pin, 0, {}, {}}, warn);
    }
  }
  return fail("unsupported type");
}

Value default_value(const SettingDef& d) {
  ParseContext ctx;
  auto r = parse_value(d, d.default_text, ctx);
  return r.value ? *r.value : Value{};
}

std::string_view port_tls_suffix(PortTls t) {
  switch (t) {
    case PortTls::ssl: return "-ssl";
    case PortTls::starttls: return "-starttls";
    case PortTls::nossl: return "-nossl";
    case PortTls::unspecified: break;
  }
  return "";
}

std::string_view enum_name(const SettingDef& d, std::int64_t number) {
  for (const auto& c : d.choices)
    if (c.number == number) return c.name;
  return "?";
}

std::string format_value(const SettingDef& d, const Value& v) {
  if (d.secret) return v.text.empty() ? "(empty)" : "(set)";
  switch (d.type) {
    case ValueType::boolean: return v.flag() ? "Yes" : "No";
    case ValueType::enumeration: return std::string(enum_name(d, v.number));
    case ValueType::port: return std::to_string(v.number) + std::string(port_tls_suffix(v.port_tls));
    case ValueType::seconds:
    case ValueType::count: return std::to_string(v.number);
    case ValueType::cert_pin: return v.text.empty() || v.text == "*" ? v.text : "sha256:" + v.text;
    case ValueType::headers:
    case ValueType::blob: {
      std::string out;
      for (char c : v.text) out += c == '\n' ? std::string("\\n") : c == '\r' ? std::string() : std::string(1, c);
      return out.size() > 120 ? out.substr(0, 117) + "..." : out;
    }
    default: return v.text;
  }
}

std::string format_raw(const SettingDef& d, std::string_view raw) {
  auto t = trim(raw);
  if (d.secret) {
    if (t.starts_with("env:") || t.starts_with("file:")) return std::string(t);
    return t.empty() ? "(empty)" : "(set)";
  }
  std::string out;
  for (char c : t) out += c == '\n' ? std::string("\\n") : c == '\r' ? std::string() : std::string(1, c);
  return out.size() > 120 ? out.substr(0, 117) + "..." : out;
}

}  // namespace sitemail
