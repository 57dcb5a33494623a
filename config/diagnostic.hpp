// diagnostic.hpp — one problem found in configuration: where (file:line or db:<site>),
// which setting, how bad, and why. Every layer of sitemail reports problems this way,
// and `sitemailctl check` prints them as `WHERE: SETTING: error: problem`.
#pragma once
#include <string>
#include <vector>

namespace sitemail {

enum class Severity { warning, error };

struct Diagnostic {
  std::string where;    // "SMTP.config:7", "ACME.config", "db:ILL", "sitemaild.conf:3"
  std::string setting;  // canonical setting name, or the name as written when unknown
  Severity severity = Severity::error;
  std::string message;       // our own words; remote text never goes here unsanitised
  bool strict_only = false;  // reported by `check --strict` only (a value hidden by a higher layer)

  // `WHERE: SETTING: error|warning: message`, control characters escaped (printable()).
  [[nodiscard]] std::string to_line() const;
  [[nodiscard]] bool is_error() const { return severity == Severity::error; }
};

using Diagnostics = std::vector<Diagnostic>;

[[nodiscard]] bool has_errors(const Diagnostics& d);
[[nodiscard]] const char* severity_word(Severity s);
// Sorts problems by file (or db:<site>), then line, keeping the order of equal places.
void sort_by_place(Diagnostics& d);

}  // namespace sitemail
