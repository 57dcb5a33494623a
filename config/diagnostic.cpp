// diagnostic.cpp — formatting of configuration problems.
#include "diagnostic.hpp"

#include <algorithm>
#include <utility>

#include "text_util.hpp"

namespace sitemail {

const char* severity_word(Severity s) { return s == Severity::error ? "error" : "warning"; }

std::string Diagnostic::to_line() const {
  std::string out = printable(where);
  out += ": ";
  out += setting.empty() ? std::string("-") : printable(setting);
  out += ": ";
  out += severity_word(severity);
  out += ": ";
  out += printable(message);
  return out;
}

void sort_by_place(Diagnostics& d) {
  auto split_where = [](const std::string& w) {
    auto colon = w.rfind(':');
    if (colon != std::string::npos && colon + 1 < w.size() && w.size() - colon <= 10 &&
        w.find_first_not_of("0123456789", colon + 1) == std::string::npos && !w.starts_with("db:"))
      return std::pair<std::string, long>(w.substr(0, colon), std::stol(w.substr(colon + 1)));
    return std::pair<std::string, long>(w, 0);
  };
  std::stable_sort(d.begin(), d.end(),
                   [&](const Diagnostic& a, const Diagnostic& b) { return split_where(a.where) < split_where(b.where); });
}

bool has_errors(const Diagnostics& d) {
  return std::any_of(d.begin(), d.end(), [](const Diagnostic& x) { return x.is_error(); });
}

}  // namespace sitemail
