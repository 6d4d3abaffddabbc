#include "mixer/srtp/HmacSha1.hpp"

// SHA1_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, which is what costs here;
// they remain the same assembly block functions underneath.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <srtp2/auth.h>
#include <srtp2/srtp.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <new>

namespace confab::srtp {

namespace {

constexpr int kDigestBytes = SHA_DIGEST_LENGTH;  // 20
constexpr std::size_t kBlockBytes = SHA_CBLOCK;  // 64

struct HmacState {
  SHA_CTX innerKeyed;  // SHA-1 after (key ^ ipad), once per key
  SHA_CTX outerKeyed;  // SHA-1 after (key ^ opad)
  SHA_CTX running;     // the packet being authenticated
};

// One allocation holds the srtp_auth_t and its state, as libsrtp's own implementations do.
struct Allocation {
  srtp_auth_t auth;
  HmacState state;
};

extern const srtp_auth_type_t kHmacSha1;

srtp_err_status_t allocate(srtp_auth_pointer_t* out, int keyLength, int tagLength) {
  if (keyLength < 0 || keyLength > kDigestBytes || tagLength < 0 || tagLength > kDigestBytes) {
    return srtp_err_status_bad_param;
  }
  auto* a = new (std::nothrow) Allocation{};
  if (a == nullptr) {
    return srtp_err_status_alloc_fail;
  }
  a->auth.type = &kHmacSha1;
  a->auth.state = &a->state;
  a->auth.out_len = tagLength;
  a->auth.key_len = keyLength;
  a->auth.prefix_len = 0;
  *out = &a->auth;
  return srtp_err_status_ok;
}

srtp_err_status_t deallocate(srtp_auth_pointer_t auth) {
  auto* a = reinterpret_cast<Allocation*>(auth);
  OPENSSL_cleanse(&a->state, sizeof(a->state));
  delete a;
  return srtp_err_status_ok;
}

srtp_err_status_t init(void* state, const uint8_t* key, int keyLength) {
  auto& s = *static_cast<HmacState*>(state);
  if (keyLength < 0 || keyLength > kDigestBytes) {
    return srtp_err_status_bad_param;
  }
  // RFC 2104 §2: the key, zero-padded to the block size, XORed with ipad (0x36) and opad (0x5c).
  std::array<uint8_t, kBlockBytes> inner{};
  std::array<uint8_t, kBlockBytes> outer{};
  inner.fill(0x36);
  outer.fill(0x5c);
  for (std::size_t i = 0; i < static_cast<std::size_t>(keyLength); ++i) {
    inner[i] = static_cast<uint8_t>(inner[i] ^ key[i]);
    outer[i] = static_cast<uint8_t>(outer[i] ^ key[i]);
  }
  if (SHA1_Init(&s.innerKeyed) != 1 || SHA1_Update(&s.innerKeyed, inner.data(), inner.size()) != 1 ||
      SHA1_Init(&s.outerKeyed) != 1 || SHA1_Update(&s.outerKeyed, outer.data(), outer.size()) != 1) {
    return srtp_err_status_auth_fail;
  }
  OPENSSL_cleanse(inner.data(), inner.size());
  OPENSSL_cleanse(outer.data(), outer.size());
  s.running = s.innerKeyed;
  return srtp_err_status_ok;
}

srtp_err_status_t start(void* state) {
  auto& s = *static_cast<HmacState*>(state);
  s.running = s.innerKeyed;
  return srtp_err_status_ok;
}

srtp_err_status_t update(void* state, const uint8_t* data, int length) {
  auto& s = *static_cast<HmacState*>(state);
  if (length < 0) {
    return srtp_err_status_bad_param;
  }
  return SHA1_Update(&s.running, data, static_cast<std::size_t>(length)) == 1
             ? srtp_err_status_ok
             : srtp_err_status_auth_fail;
}

srtp_err_status_t compute(void* state, const uint8_t* data, int length, int tagLength,
                          uint8_t* tag) {
  auto& s = *static_cast<HmacState*>(state);
  if (length < 0 || tagLength < 0 || tagLength > kDigestBytes) {
    return srtp_err_status_bad_param;
  }
  std::array<uint8_t, kDigestBytes> digest{};
  SHA_CTX outer = s.outerKeyed;
  if (SHA1_Update(&s.running, data, static_cast<std::size_t>(length)) != 1 ||
      SHA1_Final(digest.data(), &s.running) != 1 ||
      SHA1_Update(&outer, digest.data(), digest.size()) != 1 ||
      SHA1_Final(digest.data(), &outer) != 1) {
    return srtp_err_status_auth_fail;
  }
  std::memcpy(tag, digest.data(), static_cast<std::size_t>(tagLength));
  return srtp_err_status_ok;
}

// RFC 2202 test case 1, which libsrtp runs before it accepts the replacement.
constexpr std::array<uint8_t, 20> kTestKey = {0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                              0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                              0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b};
constexpr std::array<uint8_t, 8> kTestData = {'H', 'i', ' ', 'T', 'h', 'e', 'r', 'e'};
constexpr std::array<uint8_t, 20> kTestTag = {0xb6, 0x17, 0x31, 0x86, 0x55, 0x05, 0x72,
                                              0x64, 0xe2, 0x8b, 0xc0, 0xb6, 0xfb, 0x37,
                                              0x8c, 0x8e, 0xf1, 0x46, 0xbe, 0x00};
const srtp_auth_test_case_t kTestCase = {static_cast<int>(kTestKey.size()), kTestKey.data(),
                                         static_cast<int>(kTestData.size()), kTestData.data(),
                                         static_cast<int>(kTestTag.size()), kTestTag.data(),
                                         nullptr};

const srtp_auth_type_t kHmacSha1 = {allocate, deallocate, init,       compute,
                                    update,   start,      "HMAC-SHA1 (confab, SHA_CTX copies)",
                                    &kTestCase, SRTP_HMAC_SHA1};

}  // namespace

bool installHmacSha1() {
  return srtp_replace_auth_type(&kHmacSha1, SRTP_HMAC_SHA1) == srtp_err_status_ok;
}

}  // namespace confab::srtp
