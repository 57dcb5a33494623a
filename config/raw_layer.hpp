// raw_layer.hpp — the settings one source (a DB site's keys or one MailSettings file)
// provides, as written, before layering: which setting, the raw text, and where.
#pragma once
#include <string>
#include <vector>

#include "catalogue.hpp"
#include "diagnostic.hpp"

namespace sitemail {

struct RawEntry {
  Setting setting;
  std::string raw;         // the text as written (entities decoded)
  std::string written_as;  // the element/key name as written (may be an alias)
  int line = 0;            // 1-based line in a file; 0 for DB keys
};

struct RawLayer {
  std::string label;     // "db:ILL", "db:ACME", "SMTP.config", "ACME.config"
  bool present = false;  // a file that does not exist is not present
  std::vector<RawEntry> entries;
  Diagnostics diagnostics;  // problems of the source itself (malformed XML, unknown names, duplicates)

  // "SMTP.config:7" for a file entry, "db:ILL" for a DB key.
  [[nodiscard]] std::string where(const RawEntry& e) const { return e.line > 0 ? label + ":" + std::to_string(e.line) : label; }
  [[nodiscard]] const RawEntry* find(Setting s) const {
    for (const auto& e : entries)
      if (e.setting == s) return &e;
    return nullptr;
  }
};

// Builds a layer from (key, value) pairs as read from the customization table. Keys that
// are not in the catalogue are ignored (other applications keep their own keys there),
// except near misses of a setting name (db_key_near_miss), which are warned about; the same
// setting twice (e.g. EMailSecure and EmailSecure) is an error.
struct DbKeyRow {
  std::string key;
  std::string value;
};
[[nodiscard]] RawLayer layer_from_db_rows(std::string label, const std::vector<DbKeyRow>& rows);

// The setting a customization key not in the catalogue was probably meant to be (a typo
// such as EMailSMTPServr), or "" when it is not close enough to be anything but another
// application's key: at most 1 edit for keys of 6-9 characters, 2 for 10 or more; keys
// shorter than 6 characters are never reported.
[[nodiscard]] std::string db_key_near_miss(std::string_view key);

}  // namespace sitemail
