#include "mixer/remote/ControlTls.hpp"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <stdexcept>

#include "mixer/remote/Handshake.hpp"

namespace confab::mixer::remote {

namespace asio = boost::asio;

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("control protocol TLS: " + what);
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};

std::unique_ptr<asio::ssl::context> tls13(asio::ssl::context::method method) {
  auto context = std::make_unique<asio::ssl::context>(method);
  if (SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_3_VERSION) != 1) {
    fail("cannot require TLS 1.3");
  }
  return context;
}

}  // namespace

std::unique_ptr<asio::ssl::context> makeServerTlsContext() {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> keyContext(
      EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* rawKey = nullptr;
  if (!keyContext || EVP_PKEY_keygen_init(keyContext.get()) <= 0 ||
      EVP_PKEY_CTX_set_group_name(keyContext.get(), "P-256") <= 0 ||
      EVP_PKEY_keygen(keyContext.get(), &rawKey) <= 0) {
    fail("cannot generate an EC P-256 key");
  }
  std::unique_ptr<EVP_PKEY, PkeyFree> key(rawKey);
  // Nobody checks this certificate (the handshake's proofs do the authenticating); it exists
  // because TLS 1.3 servers must present one. A random serial, a day's validity.
  std::unique_ptr<X509, X509Free> certificate(X509_new());
  std::array<unsigned char, 8> serial{};
  if (!certificate || X509_set_version(certificate.get(), 2) != 1 ||
      RAND_bytes(serial.data(), static_cast<int>(serial.size())) != 1) {
    fail("cannot create a certificate");
  }
  serial[0] &= 0x7FU;
  BIGNUM* number = BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr);
  const bool serialSet =
      number != nullptr &&
      BN_to_ASN1_INTEGER(number, X509_get_serialNumber(certificate.get())) != nullptr;
  BN_free(number);
  X509_NAME* name = X509_get_subject_name(certificate.get());
  if (!serialSet || X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(certificate.get()), 86400) == nullptr ||
      X509_set_pubkey(certificate.get(), key.get()) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>("confab-mixer"), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(certificate.get(), name) != 1 ||
      X509_sign(certificate.get(), key.get(), EVP_sha256()) <= 0) {
    fail("cannot make the self-signed certificate");
  }
  auto context = tls13(asio::ssl::context::tls_server);
  if (SSL_CTX_use_certificate(context->native_handle(), certificate.get()) != 1 ||
      SSL_CTX_use_PrivateKey(context->native_handle(), key.get()) != 1) {
    fail("cannot load the certificate");
  }
  return context;
}

std::unique_ptr<asio::ssl::context> makeClientTlsContext() {
  auto context = tls13(asio::ssl::context::tls_client);
  context->set_verify_mode(asio::ssl::verify_none);  // see ControlTls.hpp: the proofs authenticate
  return context;
}

std::string channelBinding(TlsStream& stream) {
  static constexpr char kLabel[] = "EXPORTER-confab-mixer-control";
  std::array<unsigned char, 32> bytes{};
  if (SSL_export_keying_material(stream.native_handle(), bytes.data(), bytes.size(), kLabel,
                                 sizeof kLabel - 1, nullptr, 0, 0) != 1) {
    return {};
  }
  return toHex(bytes.data(), bytes.size());
}

}  // namespace confab::mixer::remote
