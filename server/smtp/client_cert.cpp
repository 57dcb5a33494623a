// client_cert.cpp — see client_cert.hpp.
#include "client_cert.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstring>
#include "codec.hpp"
#include "confined_file.hpp"
#include "text_util.hpp"

namespace sitemail::smtp {

namespace {

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (!e) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::string subject_of(X509* x) {
  BIO* b = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string s(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return s;
}

int pem_password_cb(char* buf, int size, int, void* u) {
  const auto* pw = static_cast<const std::string*>(u);
  int n = static_cast<int>(std::min<std::size_t>(pw->size(), static_cast<std::size_t>(size)));
  std::memcpy(buf, pw->data(), static_cast<std::size_t>(n));
  return n;
}

// All certificates of a PEM text, the first private key paired with the certificate it matches.
std::string load_pem(const std::string& text, const std::string& password, const std::string& source,
                     std::vector<CertCandidate>& out) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), BIO_free);
  std::vector<X509Ptr> certs;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) certs.emplace_back(x);
  ERR_clear_error();
  std::unique_ptr<BIO, decltype(&BIO_free)> kb(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), BIO_free);
  PkeyPtr key(PEM_read_bio_PrivateKey(kb.get(), nullptr, pem_password_cb, const_cast<std::string*>(&password)));
  std::string key_error = key ? "" : openssl_error();
  if (certs.empty()) return "no certificate in " + source;
  // The leaf is the certificate matching the key (or the first); the rest is its chain.
  std::size_t leaf = 0;
  if (key)
    for (std::size_t i = 0; i < certs.size(); ++i)
      if (X509_check_private_key(certs[i].get(), key.get()) == 1) leaf = i;
  ERR_clear_error();
  CertCandidate c;
  c.subject = subject_of(certs[leaf].get());
  c.source = source;
  c.key = std::move(key);
  for (std::size_t i = 0; i < certs.size(); ++i)
    if (i != leaf) c.chain.push_back(std::move(certs[i]));
  c.cert = std::move(certs[leaf]);
  out.push_back(std::move(c));
  if (!out.back().key && text.find("PRIVATE KEY") != std::string::npos)
    return "cannot read the private key in " + source + " (wrong SslCertStorePassword?): " + key_error;
  return {};
}

std::string load_pkcs12(const std::string& der, const std::string& password, const std::string& source,
                        std::vector<CertCandidate>& out) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<PKCS12, decltype(&PKCS12_free)> p12(d2i_PKCS12(nullptr, &p, static_cast<long>(der.size())), PKCS12_free);
  if (!p12) return source + " is not a PKCS#12 (PFX) store: " + openssl_error();
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* ca = nullptr;
  if (PKCS12_parse(p12.get(), password.c_str(), &key, &cert, &ca) != 1)
    return "cannot open " + source + " (wrong SslCertStorePassword?): " + openssl_error();
  CertCandidate c;
  c.key.reset(key);
  c.cert.reset(cert);
  if (ca) {
    while (sk_X509_num(ca) > 0) c.chain.emplace_back(sk_X509_shift(ca));
    sk_X509_free(ca);
  }
  if (!c.cert) return "no certificate in " + source;
  c.subject = subject_of(c.cert.get());
  c.source = source;
  out.push_back(std::move(c));
  return {};
}

std::string load_data(const FileRead& f, const std::string& password, std::vector<CertCandidate>& out) {
  if (!f.data) return f.error;
  if (f.data->find("-----BEGIN") != std::string::npos) return load_pem(*f.data, password, f.path, out);
  return load_pkcs12(*f.data, password, f.path, out);
}

// Reads a store file through the confinement of the layer SslCertStore came from.
std::string load_file(const FileRoot& root, const std::string& name, const std::string& password,
                      std::vector<CertCandidate>& out) {
  return load_data(read_config_file(root, name, kMaxCertFileBytes), password, out);
}

bool subject_matches(const std::string& subject, const std::string& want) {
  if (want == "*") return true;
  return iequals(subject, want);
}

}  // namespace

ClientCertResult install_client_cert(SSL_CTX* ctx, const EffectiveSettings& s, const std::string& config_dir) {
  ClientCertResult r;
  const auto type = static_cast<CertStoreType>(s.number(Setting::SslCertStoreType));
  const std::string& store = s.text(Setting::SslCertStore);
  const std::string& password = s.text(Setting::SslCertStorePassword);
  const std::string& want_subject = s.text(Setting::SslCertSubject);
  const std::string& want_encoded = s.text(Setting::SslCertEncoded);
  const bool selecting = !want_subject.empty() || !want_encoded.empty();
  if (!selecting && (type == CertStoreType::machine || store.empty())) return r;
  r.used = true;
  std::vector<CertCandidate> cands;
  std::string err;
  const FileRoot root = s.file_root(Setting::SslCertStore, config_dir);
  switch (type) {
    case CertStoreType::user:
    case CertStoreType::pfx_file: err = load_file(root, store, password, cands); break;
    case CertStoreType::pem_key:
      if (store.find("-----BEGIN") != std::string::npos) err = load_pem(store, password, "SslCertStore (inline PEM)", cands);
      else err = load_file(root, store, password, cands);
      break;
    case CertStoreType::pfx_blob: {
      auto der = codec::unbase64(store);
      err = der ? load_pkcs12(*der, password, "SslCertStore (PFX blob)", cands) : "SslCertStore is not base64";
      break;
    }
    case CertStoreType::machine: {
      if (store.find('/') != std::string::npos || store.find("..") != std::string::npos) {
        err = "sstMachine store name must not contain '/' or '..'";
        break;
      }
      auto folder = read_config_folder(root, "certs/" + store, kMaxCertFileBytes);
      err = folder.error;
      for (const auto& f : folder.files) {
        auto e = load_data(f, password, cands);
        (void)e;  // one unreadable file in a folder store does not hide the others
      }
      break;
    }
  }
  if (!err.empty() && cands.empty()) {
    r.error = err;
    return r;
  }
  // Selection: SslCertEncoded by value; else SslCertSubject exact, then substring ("CN=" optional); else the only one.
  CertCandidate* chosen = nullptr;
  if (!want_encoded.empty()) {
    std::string der;
    if (want_encoded.find("-----BEGIN") != std::string::npos) {
      std::unique_ptr<BIO, decltype(&BIO_free)> b(BIO_new_mem_buf(want_encoded.data(), static_cast<int>(want_encoded.size())),
                                                  BIO_free);
      X509Ptr x(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
      if (x) {
        unsigned char* buf = nullptr;
        int n = i2d_X509(x.get(), &buf);
        if (n > 0) der.assign(reinterpret_cast<char*>(buf), static_cast<std::size_t>(n));
        OPENSSL_free(buf);
      }
    } else if (auto d = codec::unbase64(want_encoded)) {
      der = *d;
    }
    if (der.empty()) {
      r.error = "SslCertEncoded is not a PEM or base64 certificate";
      return r;
    }
    for (auto& c : cands) {
      unsigned char* buf = nullptr;
      int n = i2d_X509(c.cert.get(), &buf);
      bool same = n > 0 && std::string(reinterpret_cast<char*>(buf), static_cast<std::size_t>(n)) == der;
      OPENSSL_free(buf);
      if (same) chosen = &c;
    }
    if (!chosen) {
      r.error = "the certificate in SslCertEncoded is not in the store";
      return r;
    }
  } else if (!want_subject.empty()) {
    for (auto& c : cands)
      if (subject_matches(c.subject, want_subject)) {
        chosen = &c;
        break;
      }
    if (!chosen)
      for (auto& c : cands)
        if (to_lower(c.subject).find(to_lower(want_subject)) != std::string::npos ||
            to_lower(c.subject).find("cn=" + to_lower(want_subject)) != std::string::npos) {
          chosen = &c;
          break;
        }
    if (!chosen) {
      r.error = "no certificate in the store matches SslCertSubject '" + want_subject + "'";
      return r;
    }
  } else {
    chosen = &cands.front();
  }
  if (!chosen->key) {
    r.error = "no private key for the certificate '" + chosen->subject + "' in " + chosen->source;
    return r;
  }
  if (SSL_CTX_use_certificate(ctx, chosen->cert.get()) != 1 || SSL_CTX_use_PrivateKey(ctx, chosen->key.get()) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    r.error = "the client certificate and key do not fit: " + openssl_error();
    return r;
  }
  for (auto& x : chosen->chain) SSL_CTX_add1_chain_cert(ctx, x.get());
  r.subject = chosen->subject;
  return r;
}

}  // namespace sitemail::smtp
