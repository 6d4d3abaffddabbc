// Our AES-NI counter mode against OpenSSL's AES-128-CTR (what libsrtp's own binding uses) on
// random keys, salts, IVs and lengths, split into calls the way libsrtp may make them.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <srtp2/cipher.h>
#include <srtp2/srtp.h>

#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include "mixer/srtp/AesIcm.hpp"
#include "mixer/srtp/Library.hpp"

namespace confab::srtp {
namespace {

using Bytes = std::vector<uint8_t>;

// What OpenSSL makes of the same key, salt and IV: the counter block is (salt || 00 00) ^ IV.
Bytes opensslCtr(const std::array<uint8_t, 30>& keySalt,
                 const std::array<uint8_t, 16>& iv,
                 const Bytes& input) {
  std::array<uint8_t, 16> counter{};
  for (std::size_t i = 0; i < 16; ++i) {
    counter[i] = static_cast<uint8_t>((i < 14 ? keySalt[16 + i] : 0) ^ iv[i]);
  }
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  Bytes out(input.size() + 16);
  int length = 0;
  EXPECT_EQ(EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), nullptr, keySalt.data(), counter.data()), 1);
  EXPECT_EQ(
      EVP_EncryptUpdate(ctx, out.data(), &length, input.data(), static_cast<int>(input.size())), 1);
  EVP_CIPHER_CTX_free(ctx);
  out.resize(static_cast<std::size_t>(length));
  return out;
}

TEST(SrtpAesIcm, MatchesOpensslCounterModeForAnyLengthAndSplit) {
  if (__builtin_cpu_supports("aes") == 0) {
    GTEST_SKIP() << "no AES-NI on this CPU: libsrtp's own AES-ICM stays in use";
  }
  ASSERT_TRUE(Library::initialize());
  const srtp_cipher_type_t& type = aesIcm128Type();
  std::mt19937 random(20261125);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int round = 0; round < 400; ++round) {
    std::array<uint8_t, 30> keySalt{};
    std::array<uint8_t, 16> iv{};
    for (auto& b : keySalt) {
      b = static_cast<uint8_t>(byte(random));
    }
    for (auto& b : iv) {
      b = static_cast<uint8_t>(byte(random));
    }
    // Every length up to a few blocks, then sizes of real packets up to a full Ethernet frame.
    const std::size_t length = round < 100
                                   ? static_cast<std::size_t>(round)
                                   : std::uniform_int_distribution<std::size_t>(100, 1500)(random);
    Bytes data(length);
    for (auto& b : data) {
      b = static_cast<uint8_t>(byte(random));
    }
    const Bytes expected = opensslCtr(keySalt, iv, data);

    srtp_cipher_t* cipher = nullptr;
    ASSERT_EQ(type.alloc(&cipher, 30, 0), srtp_err_status_ok);
    ASSERT_EQ(type.init(cipher->state, keySalt.data()), srtp_err_status_ok);
    ASSERT_EQ(type.set_iv(cipher->state, iv.data(), srtp_direction_encrypt), srtp_err_status_ok);
    // Two calls that continue one keystream, the first ending anywhere inside a block.
    Bytes got = data;
    const std::size_t split = length == 0 ? 0 : static_cast<std::size_t>(round * 7) % length;
    unsigned first = static_cast<unsigned>(split);
    unsigned second = static_cast<unsigned>(length - split);
    ASSERT_EQ(type.encrypt(cipher->state, got.data(), &first), srtp_err_status_ok);
    ASSERT_EQ(type.encrypt(cipher->state, got.data() + split, &second), srtp_err_status_ok);
    EXPECT_EQ(got, expected) << "length " << length << ", split at " << split;

    // Decrypting is the same keystream again after a new set_iv.
    ASSERT_EQ(type.set_iv(cipher->state, iv.data(), srtp_direction_decrypt), srtp_err_status_ok);
    unsigned all = static_cast<unsigned>(length);
    ASSERT_EQ(type.decrypt(cipher->state, got.data(), &all), srtp_err_status_ok);
    EXPECT_EQ(got, data);
    ASSERT_EQ(type.dealloc(cipher), srtp_err_status_ok);
  }
}

TEST(SrtpAesIcm, RefusesKeysOfOtherSizes) {
  const srtp_cipher_type_t& type = aesIcm128Type();
  srtp_cipher_t* cipher = nullptr;
  EXPECT_EQ(type.alloc(&cipher, 16, 0), srtp_err_status_bad_param);  // no salt
  EXPECT_EQ(type.alloc(&cipher, 46, 0), srtp_err_status_bad_param);  // AES-256 with salt
  EXPECT_EQ(cipher, nullptr);
}

// libsrtp runs the RFC 3711 §B.2 keystream test on the replacement before it accepts it; the
// known-answer SRTP packets in SrtpSessionTest then go through it.
TEST(SrtpAesIcm, IsAcceptedByLibsrtpWhereTheCpuHasAesNi) {
  ASSERT_TRUE(Library::initialize());
  EXPECT_EQ(installAesIcm(), __builtin_cpu_supports("aes") != 0);
}

}  // namespace
}  // namespace confab::srtp
