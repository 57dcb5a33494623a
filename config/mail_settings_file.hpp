// mail_settings_file.hpp — reading one ILLiad-style MailSettings XML file (SMTP.config,
// <site>.config) with Boost.Property_Tree into a RawLayer, with the line of every element.
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

}  // namespace sitemail
