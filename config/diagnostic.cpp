// diagnostic.cpp — formatting of configuration problems.
#include "diagnostic.hpp"

#include <algorithm>

namespace sitemail {

const char* severity_word(Severity s) { return s == Severity::error ? "error" : "warning"; }

std::string Diagnostic::to_line() const {
  std::string out = where;
  out += ": ";
  out += setting.empty() ? std::string("-") : setting;
  out += ": ";
  out += severity_word(severity);
  out += ": ";
  out += message;
  return out;
}

bool has_errors(const Diagnostics& d) {
  return std::any_of(d.begin(), d.end(), [](const Diagnostic& x) { return x.is_error(); });
}

}  // namespace sitemail
