#include "mixer/srtp/AesIcm.hpp"

#include <immintrin.h>
#include <openssl/crypto.h>
#include <srtp2/cipher.h>
#include <srtp2/srtp.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <new>

namespace confab::srtp {

namespace {

constexpr int kKeyBytes = 16;
constexpr int kSaltBytes = 14;
constexpr int kKeyWithSaltBytes = kKeyBytes + kSaltBytes;  // SRTP_AES_ICM_128_KEY_LEN_WSALT
constexpr std::size_t kBlock = 16;
constexpr std::size_t kRounds = 10;  // AES-128

struct State {
  alignas(16) std::array<uint8_t, kBlock*(kRounds + 1)> roundKeys{};
  // RFC 3711 §4.1.1: the counter block is (salt << 16) XOR IV; the last two octets count blocks.
  alignas(16) std::array<uint8_t, kBlock> offset{};   // the salt, padded with two zero octets
  alignas(16) std::array<uint8_t, kBlock> counter{};  // the next block's counter
  alignas(16) std::array<uint8_t, kBlock> keystream{};
  std::size_t keystreamLeft = 0;  // unused octets at the end of 'keystream'
};

// One allocation holds the srtp_cipher_t and its state, as libsrtp's own implementations do.
struct Allocation {
  srtp_cipher_t cipher;
  State state;
};

extern const srtp_cipher_type_t kAesIcm128;

#define CONFAB_AES_TARGET __attribute__((target("aes,sse2")))

// FIPS 197 §5.2 key expansion, one round key from the previous one and SubWord(RotWord) ^ Rcon
// as AESKEYGENASSIST computes it (its immediate must be a constant, hence the template).
template <int Rcon>
CONFAB_AES_TARGET __m128i nextRoundKey(__m128i key) {
  __m128i assist = _mm_aeskeygenassist_si128(key, Rcon);
  assist = _mm_shuffle_epi32(assist, 0xff);
  key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
  key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
  key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
  return _mm_xor_si128(key, assist);
}

CONFAB_AES_TARGET void expandKey(const uint8_t* key, State& s) {
  auto* out = reinterpret_cast<__m128i*>(s.roundKeys.data());
  __m128i k = _mm_loadu_si128(reinterpret_cast<const __m128i*>(key));
  _mm_store_si128(out + 0, k);
  _mm_store_si128(out + 1, k = nextRoundKey<0x01>(k));
  _mm_store_si128(out + 2, k = nextRoundKey<0x02>(k));
  _mm_store_si128(out + 3, k = nextRoundKey<0x04>(k));
  _mm_store_si128(out + 4, k = nextRoundKey<0x08>(k));
  _mm_store_si128(out + 5, k = nextRoundKey<0x10>(k));
  _mm_store_si128(out + 6, k = nextRoundKey<0x20>(k));
  _mm_store_si128(out + 7, k = nextRoundKey<0x40>(k));
  _mm_store_si128(out + 8, k = nextRoundKey<0x80>(k));
  _mm_store_si128(out + 9, k = nextRoundKey<0x1b>(k));
  _mm_store_si128(out + 10, nextRoundKey<0x36>(k));
}

CONFAB_AES_TARGET inline __m128i roundKey(const State& s, std::size_t round) {
  return _mm_load_si128(reinterpret_cast<const __m128i*>(s.roundKeys.data() + round * kBlock));
}

// The counter as one 128-bit big-endian number, as OpenSSL's CTR mode (which libsrtp's binding
// used) counts it. An SRTP packet needs far fewer than 2^16 blocks, so in practice only the last
// two octets change, as RFC 3711 §4.1.1 describes.
void increment(std::array<uint8_t, kBlock>& counter) {
  for (std::size_t i = kBlock; i-- > 0;) {
    if (++counter[i] != 0) {
      return;
    }
  }
}

// The next counter block, XORed with the first round key; advances the counter.
CONFAB_AES_TARGET inline __m128i nextBlock(State& s) {
  const __m128i block = _mm_load_si128(reinterpret_cast<const __m128i*>(s.counter.data()));
  increment(s.counter);
  return _mm_xor_si128(block, roundKey(s, 0));
}

// Four blocks of keystream into 'out' (64 octets): four independent AESENC chains hide the
// instruction's latency.
CONFAB_AES_TARGET void keystream4(State& s, uint8_t* out) {
  __m128i b0 = nextBlock(s);
  __m128i b1 = nextBlock(s);
  __m128i b2 = nextBlock(s);
  __m128i b3 = nextBlock(s);
  for (std::size_t round = 1; round < kRounds; ++round) {
    const __m128i k = roundKey(s, round);
    b0 = _mm_aesenc_si128(b0, k);
    b1 = _mm_aesenc_si128(b1, k);
    b2 = _mm_aesenc_si128(b2, k);
    b3 = _mm_aesenc_si128(b3, k);
  }
  const __m128i last = roundKey(s, kRounds);
  auto* o = reinterpret_cast<__m128i*>(out);
  _mm_storeu_si128(o + 0, _mm_aesenclast_si128(b0, last));
  _mm_storeu_si128(o + 1, _mm_aesenclast_si128(b1, last));
  _mm_storeu_si128(o + 2, _mm_aesenclast_si128(b2, last));
  _mm_storeu_si128(o + 3, _mm_aesenclast_si128(b3, last));
}

CONFAB_AES_TARGET void keystream1(State& s, uint8_t* out) {
  __m128i b = nextBlock(s);
  for (std::size_t round = 1; round < kRounds; ++round) {
    b = _mm_aesenc_si128(b, roundKey(s, round));
  }
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_aesenclast_si128(b, roundKey(s, kRounds)));
}

srtp_err_status_t allocate(srtp_cipher_pointer_t* out, int keyLength, int /*tagLength*/) {
  if (keyLength != kKeyWithSaltBytes) {
    return srtp_err_status_bad_param;  // 192 and 256-bit keys have their own cipher types
  }
  auto* a = new (std::nothrow) Allocation{};
  if (a == nullptr) {
    return srtp_err_status_alloc_fail;
  }
  a->cipher.type = &kAesIcm128;
  a->cipher.state = &a->state;
  a->cipher.key_len = keyLength;
  a->cipher.algorithm = SRTP_AES_ICM_128;
  *out = &a->cipher;
  return srtp_err_status_ok;
}

srtp_err_status_t deallocate(srtp_cipher_pointer_t cipher) {
  auto* a = reinterpret_cast<Allocation*>(cipher);
  OPENSSL_cleanse(&a->state, sizeof(a->state));
  delete a;
  return srtp_err_status_ok;
}

srtp_err_status_t init(void* state, const uint8_t* key) {
  auto& s = *static_cast<State*>(state);
  expandKey(key, s);
  s.offset.fill(0);
  std::memcpy(s.offset.data(), key + kKeyBytes, kSaltBytes);
  s.counter = s.offset;
  s.keystreamLeft = 0;
  return srtp_err_status_ok;
}

srtp_err_status_t setIv(void* state, uint8_t* iv, srtp_cipher_direction_t /*direction*/) {
  auto& s = *static_cast<State*>(state);
  for (std::size_t i = 0; i < kBlock; ++i) {
    s.counter[i] = static_cast<uint8_t>(s.offset[i] ^ iv[i]);
  }
  s.keystreamLeft = 0;
  return srtp_err_status_ok;
}

// Counter mode is its own inverse: encrypt and decrypt XOR the same keystream. Consecutive calls
// after one set_iv continue the keystream where the last one stopped.
srtp_err_status_t crypt(void* state, uint8_t* buffer, unsigned int* length) {
  auto& s = *static_cast<State*>(state);
  std::size_t left = *length;
  while (left > 0 && s.keystreamLeft > 0) {
    *buffer++ ^= s.keystream[kBlock - s.keystreamLeft--];
    --left;
  }
  std::array<uint8_t, kBlock * 4> stream{};
  while (left >= stream.size()) {
    keystream4(s, stream.data());
    for (std::size_t i = 0; i < stream.size(); ++i) {
      buffer[i] ^= stream[i];
    }
    buffer += stream.size();
    left -= stream.size();
  }
  while (left >= kBlock) {
    keystream1(s, stream.data());
    for (std::size_t i = 0; i < kBlock; ++i) {
      buffer[i] ^= stream[i];
    }
    buffer += kBlock;
    left -= kBlock;
  }
  if (left > 0) {
    keystream1(s, s.keystream.data());
    for (std::size_t i = 0; i < left; ++i) {
      buffer[i] ^= s.keystream[i];
    }
    s.keystreamLeft = kBlock - left;
  }
  return srtp_err_status_ok;
}

// RFC 3711 §B.2: the keystream of the first three counter blocks of a session (the plaintext is
// zero, so the ciphertext is the keystream), with a tail that is not a whole block.
constexpr std::array<uint8_t, kKeyWithSaltBytes> kTestKey = {
    0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f,
    0x3c, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd};
std::array<uint8_t, kBlock> gTestIv = {};  // libsrtp's test case wants a non-const pointer
constexpr std::array<uint8_t, 40> kTestPlain = {};
constexpr std::array<uint8_t, 40> kTestCipher = {
    0xe0, 0x3e, 0xad, 0x09, 0x35, 0xc9, 0x5e, 0x80, 0xe1, 0x66, 0xb1, 0x6d, 0xd9, 0x2b,
    0x4e, 0xb4, 0xd2, 0x35, 0x13, 0x16, 0x2b, 0x02, 0xd0, 0xf7, 0x2a, 0x43, 0xa2, 0xfe,
    0x4a, 0x5f, 0x97, 0xab, 0x41, 0xe9, 0x5b, 0x3b, 0xb0, 0xa2, 0xe8, 0xdd};
const srtp_cipher_test_case_t kTestCase = {kKeyWithSaltBytes,
                                           kTestKey.data(),
                                           gTestIv.data(),
                                           static_cast<unsigned>(kTestPlain.size()),
                                           kTestPlain.data(),
                                           static_cast<unsigned>(kTestCipher.size()),
                                           kTestCipher.data(),
                                           0,
                                           nullptr,
                                           0,
                                           nullptr};

const srtp_cipher_type_t kAesIcm128 = {
    allocate,   deallocate,      init,
    nullptr,    crypt,           crypt,
    setIv,      nullptr,         "AES-128 counter mode (confab, AES-NI)",
    &kTestCase, SRTP_AES_ICM_128};

}  // namespace

bool installAesIcm() {
  if (__builtin_cpu_supports("aes") == 0) {
    return false;
  }
  return srtp_replace_cipher_type(&kAesIcm128, SRTP_AES_ICM_128) == srtp_err_status_ok;
}

const srtp_cipher_type_t& aesIcm128Type() {
  return kAesIcm128;
}

}  // namespace confab::srtp
