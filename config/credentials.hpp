// credentials.hpp — where an `env:NAME` secret comes from. First the environment variable
// NAME (EnvironmentFile=/etc/default/sitemail, or the shell); when it is unset and the
// service manager passed credentials (systemd LoadCredential=/SetCredential=, which set
// $CREDENTIALS_DIRECTORY), the file $CREDENTIALS_DIRECTORY/NAME, trailing newlines removed.
// So `SMTPPassword = env:ACME_SMTP` works with either
//   Environment=ACME_SMTP=…   or   LoadCredential=ACME_SMTP:/etc/sitemail/credentials/acme
// and the credential file never has to be readable by the sitemail user itself.
#pragma once
#include <optional>
#include <string>

namespace sitemail {

[[nodiscard]] std::optional<std::string> env_secret(const std::string& name);
// Why env_secret(name) found nothing, e.g. "environment variable X is not set (nor is the
// credential X in $CREDENTIALS_DIRECTORY)".
[[nodiscard]] std::string env_secret_missing(const std::string& name);
// Credential names are file names: no '/', not "." or "..", not empty.
[[nodiscard]] bool valid_credential_name(const std::string& name);

}  // namespace sitemail
