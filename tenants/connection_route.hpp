// connection_route.hpp — which sites may share an SMTP connection. Two sites share one when
// everything that shapes the session is the same: relay, port, TLS mode and certificates,
// login method and credentials, proxy, EHLO name, timeouts, MaxConnections. The route is
// that identity as a string; sitemaild keeps connections per route, as Postfix keeps them
// per next hop. Only settings that shape a message and never the session (From, extra
// headers, subject length) are left out; any other setting, including one added later,
// is part of the route, so a new session-level setting can never make two identities
// share a connection. A site with a token endpoint (OAuth, one token source per site) or
// a MaxMessagesPerMinute limit (counted per site) has a route of its own.
#pragma once
#include <string>

#include "effective_settings.hpp"

namespace sitemail {

// The route of a site with these settings: the SHA-256 (hex) of its connection identity.
// Compare for equality only.
[[nodiscard]] std::string connection_route(const EffectiveSettings& s);

// The settings that shape a message only, never the SMTP session.
[[nodiscard]] bool message_only(Setting s);

}  // namespace sitemail
