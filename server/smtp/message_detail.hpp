// message_detail.hpp — pieces of message building shared by message.cpp (messages composed
// from the row's fields) and message_raw.cpp (raw messages). Internal to the engine.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "message.hpp"

namespace sitemail::smtp::detail {

[[nodiscard]] Failure bad_message(std::string why);
[[nodiscard]] std::string rfc5322_date(long long now);
[[nodiscard]] bool header_safe(std::string_view v);
[[nodiscard]] std::string utf8_prefix(std::string_view s, std::size_t chars);
[[nodiscard]] std::string display_name(std::string_view name);
[[nodiscard]] std::string format_address(const Address& a);
[[nodiscard]] bool parse_list(std::string_view list, std::vector<Address>& out, std::string& error);
[[nodiscard]] std::string body_part(std::string_view body, const char* subtype);
[[nodiscard]] std::string random_boundary();
// "Name: value" lines from OtherHeaders or the row's headers column, validated, appended.
[[nodiscard]] bool extra_headers(std::string_view text, std::string& out, std::string& error, const char* what);
// "<sitemail.ID.site@sender-domain>"
[[nodiscard]] std::string message_id_for(const OutboxMessage& m, const std::string& from_mailbox);
[[nodiscard]] Failure too_large_for_site(std::uint64_t size, long long max);
// The built message, or the MaxMessageSize failure (CONTRACT §8): the one place that rule is applied.
[[nodiscard]] BuildResult within_max_size(BuiltMessage out, const EffectiveSettings& s);

}  // namespace sitemail::smtp::detail
