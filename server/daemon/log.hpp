// log.hpp — one-line key=value logs on stderr (logfmt): `ts=… level=info event=delivery
// site=ACME id=42 …`. Values with spaces or quotes are quoted, newlines and other control
// characters escaped (one event, one line); secrets never reach here.
#pragma once
#include <initializer_list>
#include <string>
#include <utility>

namespace sitemail::log {

enum class Level { debug, info, warning, error };
void set_level(const std::string& name);
// A value as it appears in a log line: bare, or quoted with control characters spelled \n, \xHH.
[[nodiscard]] std::string quote_value(const std::string& v);
void write(Level level, const std::string& event, std::initializer_list<std::pair<const char*, std::string>> fields);

inline void info(const std::string& e, std::initializer_list<std::pair<const char*, std::string>> f) { write(Level::info, e, f); }
inline void warn(const std::string& e, std::initializer_list<std::pair<const char*, std::string>> f) {
  write(Level::warning, e, f);
}
inline void error(const std::string& e, std::initializer_list<std::pair<const char*, std::string>> f) {
  write(Level::error, e, f);
}
inline void debug(const std::string& e, std::initializer_list<std::pair<const char*, std::string>> f) {
  write(Level::debug, e, f);
}

}  // namespace sitemail::log
