// mail_settings_file.hpp — reading one ILLiad-style MailSettings XML file (SMTP.config,
// <site>.config) into a RawLayer, with the line of every element: plain files in one pass,
// anything else with Boost.Property_Tree.
#pragma once
#include <string>

#include "raw_layer.hpp"

namespace sitemail {

// Reads `path`, labelled `label` in diagnostics (e.g. "ACME.config"). A missing file gives
// a layer with present=false and no diagnostics; an unreadable or malformed one gives an
// error diagnostic naming the line.
[[nodiscard]] RawLayer read_mail_settings_file(const std::string& path, const std::string& label);
// Same, from text already in memory (used by tests and the benchmark).
[[nodiscard]] RawLayer parse_mail_settings(const std::string& text, const std::string& label);
// parse_mail_settings with the fast path for plain files on or off (off: every file goes
// through Property_Tree); the result is the same either way, which a unit test checks.
[[nodiscard]] RawLayer parse_mail_settings_via(const std::string& text, const std::string& label, bool fast_path);

}  // namespace sitemail
