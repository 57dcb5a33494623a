// credentials.cpp — see credentials.hpp.
#include "credentials.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace sitemail {

namespace {

constexpr std::streamsize kMaxCredential = 1 << 20;  // a password or token, not a file dump

const char* credentials_directory() {
  const char* d = std::getenv("CREDENTIALS_DIRECTORY");
  return d && *d ? d : nullptr;
}

}  // namespace

bool valid_credential_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

std::optional<std::string> env_secret(const std::string& name) {
  if (const char* e = std::getenv(name.c_str())) return std::string(e);
  const char* dir = credentials_directory();
  if (!dir || !valid_credential_name(name)) return std::nullopt;
  std::ifstream in(std::string(dir) + "/" + name, std::ios::binary);
  if (!in) return std::nullopt;
  std::string v(static_cast<std::size_t>(kMaxCredential) + 1, '\0');
  in.read(v.data(), kMaxCredential + 1);
  if (in.gcount() > kMaxCredential) return std::nullopt;
  v.resize(static_cast<std::size_t>(in.gcount()));
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
  return v;
}

std::string env_secret_missing(const std::string& name) {
  std::string msg = "environment variable " + name + " is not set";
  const char* dir = credentials_directory();
  if (!dir) return msg;
  if (!valid_credential_name(name)) return msg + " (and it cannot name a credential)";
  std::ifstream in(std::string(dir) + "/" + name, std::ios::binary);
  if (!in) return msg + " (nor is the credential " + name + " in $CREDENTIALS_DIRECTORY)";
  return msg + " (the credential " + name + " is larger than 1 MiB)";
}

}  // namespace sitemail
