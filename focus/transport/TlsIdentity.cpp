#include "focus/transport/TlsIdentity.hpp"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <system_error>

namespace confab::transport {

namespace {

namespace ssl = boost::asio::ssl;

constexpr const char* kDefaultName = "confab.local";
constexpr long kValiditySeconds = 10L * 365 * 24 * 3600;
constexpr long kBackdateSeconds = 3600;  // tolerate a peer whose clock runs a little behind

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct X509ExtensionFree {
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct BignumFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};

[[noreturn]] void fail(const std::string& step) {
  std::string detail;
  if (const unsigned long code = ERR_get_error(); code != 0) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    detail = std::string(": ") + text;
  }
  ERR_clear_error();
  throw std::runtime_error("TLS identity: " + step + detail);
}

std::unique_ptr<EVP_PKEY, PkeyFree> generateKey() {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0 ||
      EVP_PKEY_CTX_set_group_name(ctx.get(), "P-256") <= 0) {
    fail("cannot set up EC P-256 key generation");
  }
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_keygen(ctx.get(), &key) <= 0) {
    fail("cannot generate an EC P-256 key");
  }
  return std::unique_ptr<EVP_PKEY, PkeyFree>(key);
}

void addExtension(X509* certificate, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, certificate, certificate, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, X509ExtensionFree> extension(
      X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!extension || X509_add_ext(certificate, extension.get(), -1) != 1) {
    fail("cannot add certificate extension " + value);
  }
}

std::unique_ptr<X509, X509Free> makeCertificate(const std::string& name, EVP_PKEY* key) {
  std::unique_ptr<X509, X509Free> certificate(X509_new());
  if (!certificate || X509_set_version(certificate.get(), 2) != 1) {  // 2 means X.509 v3
    fail("cannot create a certificate");
  }
  // RFC 5280 §4.1.2.2: a positive serial of at most 20 octets, unique per issuer; 64 random bits.
  unsigned char serialBytes[8];
  if (RAND_bytes(serialBytes, sizeof serialBytes) != 1) {
    fail("no random serial number");
  }
  serialBytes[0] &= 0x7f;
  std::unique_ptr<BIGNUM, BignumFree> serial(BN_bin2bn(serialBytes, sizeof serialBytes, nullptr));
  if (!serial ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(certificate.get())) == nullptr) {
    fail("cannot set the serial number");
  }
  if (X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -kBackdateSeconds) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(certificate.get()), kValiditySeconds) == nullptr ||
      X509_set_pubkey(certificate.get(), key) != 1) {
    fail("cannot set validity or public key");
  }
  X509_NAME* subject = X509_get_subject_name(certificate.get());
  if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(certificate.get(), subject) != 1) {
    fail("cannot set the subject name");
  }
  // RFC 5922 §7.1: peers match the SIP domain against subjectAltName, not the CN.
  const auto ip = parseIpLiteral(name);
  addExtension(certificate.get(), NID_subject_alt_name,
               ip ? "IP:" + ip->to_string() : "DNS:" + name);
  addExtension(certificate.get(), NID_basic_constraints, "critical,CA:FALSE");
  addExtension(certificate.get(), NID_key_usage, "critical,digitalSignature,keyAgreement");
  addExtension(certificate.get(), NID_ext_key_usage, "serverAuth,clientAuth");
  if (X509_sign(certificate.get(), key, EVP_sha256()) <= 0) {
    fail("cannot sign the certificate");
  }
  return certificate;
}

std::string toPem(const std::function<int(BIO*)>& write) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) {
    fail("cannot write PEM");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

// Writes through a temporary file and a rename, so a crash never leaves half a key behind.
void writeFile(const std::string& path, const std::string& contents, mode_t mode) {
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    throw std::system_error(errno, std::generic_category(), "TLS identity: cannot create " + path);
  }
  std::size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      const int error = errno;
      ::close(fd);
      throw std::system_error(error, std::generic_category(), "TLS identity: cannot write " + path);
    }
    written += static_cast<std::size_t>(n);
  }
  ::close(fd);
  std::filesystem::rename(temporary, path);
}

}  // namespace

void writeSelfSignedIdentity(const std::string& name,
                             const std::string& certificateFile,
                             const std::string& privateKeyFile) {
  auto key = generateKey();
  auto certificate = makeCertificate(name, key.get());
  const std::string keyPem = toPem([&](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  const std::string certificatePem =
      toPem([&](BIO* bio) { return PEM_write_bio_X509(bio, certificate.get()); });
  writeFile(privateKeyFile, keyPem, 0600);
  writeFile(certificateFile, certificatePem, 0644);
}

TlsIdentity ensureTlsIdentity(const TransportConfig& config) {
  if (!config.tlsCertificateFile.empty() || !config.tlsPrivateKeyFile.empty()) {
    if (config.tlsCertificateFile.empty() || config.tlsPrivateKeyFile.empty()) {
      throw std::runtime_error("TLS identity: configure both the certificate and the key file");
    }
    return TlsIdentity{config.tlsCertificateFile, config.tlsPrivateKeyFile};
  }
  const std::filesystem::path directory(config.dataDirectory.empty() ? "." : config.dataDirectory);
  TlsIdentity identity{(directory / "tls-certificate.pem").string(),
                       (directory / "tls-private-key.pem").string()};
  if (std::filesystem::exists(identity.certificateFile) &&
      std::filesystem::exists(identity.privateKeyFile)) {
    return identity;  // generated at an earlier start: keep the identity peers may have pinned
  }
  std::filesystem::create_directories(directory);
  writeSelfSignedIdentity(config.hostName.empty() ? kDefaultName : config.hostName,
                          identity.certificateFile, identity.privateKeyFile);
  return identity;
}

ssl::context makeServerContext(const TlsIdentity& identity) {
  ssl::context context(ssl::context::tls_server);
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                      ssl::context::single_dh_use);
  // RFC 3261 §26.3.1 asks servers to present a certificate; client certificates are optional.
  context.set_verify_mode(ssl::verify_none);
  context.use_certificate_chain_file(identity.certificateFile);
  context.use_private_key_file(identity.privateKeyFile, ssl::context::pem);
  return context;
}

ssl::context makeHttpsContext(const TlsIdentity& identity) {
  ssl::context context = makeServerContext(identity);
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
  SSL_CTX_set_options(context.native_handle(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
  return context;
}

ssl::context makeClientContext(bool verifyPeer, const std::string& caFile) {
  ssl::context context(ssl::context::tls_client);
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  if (verifyPeer) {
    if (caFile.empty()) {
      context.set_default_verify_paths();
    } else {
      boost::system::error_code ec;
      context.load_verify_file(caFile, ec);
      if (ec) {
        throw std::runtime_error("cannot read the TLS CA file " + caFile + ": " + ec.message());
      }
    }
    context.set_verify_mode(ssl::verify_peer);
  } else {
    context.set_verify_mode(ssl::verify_none);
  }
  return context;
}

}  // namespace confab::transport
