// test_credentials.cpp — env:NAME secrets fall back to systemd credentials: the variable
// wins; when it is unset, $CREDENTIALS_DIRECTORY/NAME is read (LoadCredential=); the error
// says where it looked; names that are not file names never reach the file system.
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "credentials.hpp"
#include "value.hpp"

using namespace sitemail;
namespace fs = std::filesystem;

namespace {

struct CredentialsDir {
  fs::path dir;
  CredentialsDir() {
    dir = fs::temp_directory_path() / ("sitemail-creds-" + std::to_string(getpid()));
    fs::create_directories(dir);
    setenv("CREDENTIALS_DIRECTORY", dir.c_str(), 1);
  }
  ~CredentialsDir() {
    unsetenv("CREDENTIALS_DIRECTORY");
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void put(const std::string& name, const std::string& content) const { std::ofstream(dir / name, std::ios::binary) << content; }
};

ParseOutcome password(const std::string& raw) {
  ParseContext ctx;  // getenv null: the process environment, then the credentials
  return parse_value(def(Setting::SMTPPassword), raw, ctx);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(credentials)

BOOST_AUTO_TEST_CASE(unset_variable_reads_the_credential_file) {
  CredentialsDir creds;
  creds.put("SITEMAIL_T_CRED", "s3cret-from-credential\n");
  unsetenv("SITEMAIL_T_CRED");
  auto r = password("env:SITEMAIL_T_CRED");
  BOOST_REQUIRE_MESSAGE(r.value, r.error);
  BOOST_TEST(r.value->text == "s3cret-from-credential");
  BOOST_TEST(r.value->indirection == "env:SITEMAIL_T_CRED");
}

BOOST_AUTO_TEST_CASE(the_variable_wins_over_the_credential) {
  CredentialsDir creds;
  creds.put("SITEMAIL_T_BOTH", "from-file");
  setenv("SITEMAIL_T_BOTH", "from-env", 1);
  auto r = password("env:SITEMAIL_T_BOTH");
  unsetenv("SITEMAIL_T_BOTH");
  BOOST_REQUIRE(r.value);
  BOOST_TEST(r.value->text == "from-env");
}

BOOST_AUTO_TEST_CASE(missing_everywhere_names_both_places) {
  CredentialsDir creds;
  unsetenv("SITEMAIL_T_NONE");
  auto r = password("env:SITEMAIL_T_NONE");
  BOOST_TEST(!r.value);
  BOOST_TEST(r.error ==
             "environment variable SITEMAIL_T_NONE is not set (nor is the credential SITEMAIL_T_NONE in $CREDENTIALS_DIRECTORY)");
}

BOOST_AUTO_TEST_CASE(without_credentials_the_message_is_unchanged) {
  unsetenv("CREDENTIALS_DIRECTORY");
  unsetenv("SITEMAIL_T_NONE");
  auto r = password("env:SITEMAIL_T_NONE");
  BOOST_TEST(r.error == "environment variable SITEMAIL_T_NONE is not set");
}

BOOST_AUTO_TEST_CASE(a_name_with_a_slash_never_reads_a_file) {
  CredentialsDir creds;
  fs::create_directories(creds.dir / "sub");
  creds.put("sub/X", "must-not-be-read");
  auto r = password("env:sub/X");
  BOOST_TEST(!r.value);
  BOOST_TEST(r.error == "environment variable sub/X is not set (and it cannot name a credential)");
  BOOST_TEST(!env_secret("..").has_value());
  BOOST_TEST(!valid_credential_name("."));
  BOOST_TEST(valid_credential_name("ACME_SMTP.password"));
}

BOOST_AUTO_TEST_CASE(an_oversized_credential_is_refused) {
  CredentialsDir creds;
  creds.put("SITEMAIL_T_BIG", std::string((1 << 20) + 1, 'x'));
  unsetenv("SITEMAIL_T_BIG");
  auto r = password("env:SITEMAIL_T_BIG");
  BOOST_TEST(!r.value);
  BOOST_TEST(r.error == "environment variable SITEMAIL_T_BIG is not set (the credential SITEMAIL_T_BIG is larger than 1 MiB)");
}

BOOST_AUTO_TEST_SUITE_END()
