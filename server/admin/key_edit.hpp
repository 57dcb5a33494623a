// key_edit.hpp — the DB-key rules shared by `sitemailctl keys set/unset` and the web
// console's key forms (CONTRACT §1, §10): which setting a key names, how a value is
// validated against the catalogue, the canonical text that is stored, and the write
// itself (every other spelling of the same setting removed). One implementation: both
// doors call these and only word the outcome for their own medium.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "catalogue.hpp"
#include "cli_common.hpp"
#include "diagnostic.hpp"
#include "effective_settings.hpp"
#include "pg.hpp"

namespace sitemail::admin {

// The catalogue row `key` names (any alias, any case), or null with `unknown` set to
// "unknown setting 'KEY'; did you mean NAME?".
[[nodiscard]] const SettingDef* setting_for_key(const std::string& key, std::string& unknown);

struct KeyValueCheck {
  std::optional<Diagnostic> error;    // `db:<site>: SETTING: error: ...` — nothing may be written
  std::optional<Diagnostic> warning;  // accepted, but worth saying
  std::string stored;                 // the text to store when there is no error
};
// Validates `value` for setting `d` of `site` exactly as `keys set` does (secrets: the
// env:/file: syntax only, never resolved).
[[nodiscard]] KeyValueCheck check_key_value(const DaemonConf& conf, const SettingDef& d, const std::string& site,
                                            const std::string& value);

// custkey spellings in the DB that name setting `d` for `site`.
[[nodiscard]] std::vector<std::string> key_rows(PgConn& db, const SettingDef& d, const std::string& site);

// Writes `stored` under the canonical name in one transaction; returns the spellings it
// removed that differ from the canonical name (aliases, other case).
std::vector<std::string> write_key(PgConn& db, const SettingDef& d, const std::string& site, const std::string& stored);
// Removes every spelling; returns them all (empty: the key was not set).
std::vector<std::string> unset_key(PgConn& db, const SettingDef& d, const std::string& site);

// After a write: the value the site now really uses ("effective for S: Name = v (layer)"),
// and warnings when a higher layer overrides the DB key just set, or the site is invalid.
struct EffectiveReport {
  std::string line;                   // empty when the site has no settings at all
  std::vector<std::string> warnings;  // without the program's name
};
[[nodiscard]] EffectiveReport effective_report(const ResolvedSite& site, const SettingDef& d, bool just_set);

}  // namespace sitemail::admin
