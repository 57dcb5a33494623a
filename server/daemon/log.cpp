// log.cpp — see log.hpp. One write(2) per line so lines from threads never interleave.
#include "log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>

namespace sitemail::log {

namespace {
std::atomic<int> g_level{static_cast<int>(Level::info)};

const char* name(Level l) {
  switch (l) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warning: return "warning";
    case Level::error: return "error";
  }
  return "?";
}

// Values are quoted when they hold a space, quote, '=' or a control character; inside the
// quotes, backslash and quote are escaped and control characters spelled out (\n, \r, \t,
// \xHH), so a multi-line PostgreSQL error or a hostile header stays on one readable line.
void append_value(std::string& out, const std::string& v) {
  bool quote = v.empty();
  for (char c : v)
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) quote = true;
  if (!quote) {
    out += v;
    return;
  }
  static const char hex[] = "0123456789abcdef";
  out += '"';
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  out += '"';
}
}  // namespace

std::string quote_value(const std::string& v) {
  std::string out;
  append_value(out, v);
  return out;
}

void set_level(const std::string& n) {
  for (int l = 0; l <= 3; ++l)
    if (n == name(static_cast<Level>(l))) g_level = l;
}

void write(Level level, const std::string& event, std::initializer_list<std::pair<const char*, std::string>> fields) {
  if (static_cast<int>(level) < g_level) return;
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char ts[96];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  std::string line = std::string("ts=") + ts + " level=" + name(level) + " event=";
  append_value(line, event);
  for (const auto& [k, v] : fields) {
    line += ' ';
    line += k;
    line += '=';
    append_value(line, v);
  }
  line += '\n';
  ssize_t ignored = ::write(2, line.data(), line.size());
  (void)ignored;
}

}  // namespace sitemail::log
