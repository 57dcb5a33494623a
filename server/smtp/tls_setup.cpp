// tls_setup.cpp — the OpenSSL context of a site: TLS 1.2 or later, verification against
// SslCaFile or the system store (unless SslAcceptServerCert pins the certificate), and
// the client certificate. Host-name checks and SNI are per connection (transport.cpp).
#include <openssl/err.h>
#include <openssl/pem.h>

#include "client_cert.hpp"
#include "confined_file.hpp"
#include "transport.hpp"

namespace sitemail::smtp {

namespace {

// The system CA store, parsed once per process and shared by every site's context
// (loading ~150 certificates costs milliseconds; sites are many).
X509_STORE* system_store() {
  static X509_STORE* store = [] {
    X509_STORE* s = X509_STORE_new();
    X509_STORE_set_default_paths(s);
    return s;
  }();
  return store;
}

// Adds every PEM certificate of `pem` to the context's trust store; false when there is none.
bool load_ca_bundle(SSL_CTX* ctx, const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int added = 0;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    if (X509_STORE_add_cert(store, x) == 1) ++added;
    X509_free(x);
  }
  ERR_clear_error();
  return added > 0;
}

}  // namespace

std::shared_ptr<TlsSetup> make_tls_setup(const EffectiveSettings& s, const std::string& config_dir) {
  auto t = std::make_shared<TlsSetup>();
  t->ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* ctx = t->ctx->native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  t->pin = s.text(Setting::SslAcceptServerCert);
  if (t->pin.empty()) {
    t->ctx->set_verify_mode(asio::ssl::verify_peer);
    const auto& ca = s.text(Setting::SslCaFile);
    if (!ca.empty()) {
      // Read through the confinement of the layer the name came from, then load from memory.
      auto got = read_config_file(s.file_root(Setting::SslCaFile, config_dir), ca, kMaxCertFileBytes);
      if (!got.data) t->error = config_failure("cannot load SslCaFile: " + got.error);
      else if (!load_ca_bundle(ctx, *got.data))
        t->error = config_failure("cannot load SslCaFile " + got.path + ": no PEM certificate in it");
    } else {
      SSL_CTX_set1_cert_store(ctx, system_store());
    }
  } else {
    // Pinned: the chain is not checked; the leaf is compared after the handshake.
    t->ctx->set_verify_mode(asio::ssl::verify_none);
  }
  auto cert = install_client_cert(ctx, s, config_dir);
  if (!cert.error.empty()) t->error = config_failure("client certificate: " + cert.error);
  t->client_subject = cert.subject;
  return t;
}

}  // namespace sitemail::smtp
