// client_cert.hpp — loading the client certificate for every SslCertStoreType (PEM file,
// inline PEM, PKCS#12 file, base64 PKCS#12, the certs/<store>/ folder) and selecting one by
// SslCertSubject or SslCertEncoded, with SslCertStorePassword.
#pragma once
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "effective_settings.hpp"

namespace sitemail::smtp {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

struct CertCandidate {
  X509Ptr cert;
  PkeyPtr key;  // may be null when the store holds the key separately
  std::vector<X509Ptr> chain;
  std::string subject;  // RFC 2253 form, e.g. "CN=client,O=Example"
  std::string source;   // file it came from, for messages
};

struct ClientCertResult {
  bool used = false;    // false: no client certificate configured
  std::string error;    // set when configured but unusable
  std::string subject;  // the selected certificate's subject
};

// Installs the selected certificate and key into ctx. config_dir resolves relative paths.
[[nodiscard]] ClientCertResult install_client_cert(SSL_CTX* ctx, const EffectiveSettings& s, const std::string& config_dir);

}  // namespace sitemail::smtp
