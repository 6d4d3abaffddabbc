// The control protocol's shared-secret proofs (mixer/remote/Handshake.hpp): each depends on the
// secret, the side and both nonces; nonces are fresh; secrets too short to resist guessing from
// a recorded exchange are refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "mixer/remote/Handshake.hpp"
#include "tests/unit/mixer/media/TempDir.hpp"

namespace confab::mixer::remote {
namespace {

const std::string kSecret = "a shared secret of more than thirty-two characters";

TEST(MixerHandshake, NoncesAreFreshHex) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string nonce = makeNonce();
    EXPECT_TRUE(isNonce(nonce)) << nonce;
    seen.insert(nonce);
  }
  EXPECT_EQ(seen.size(), 100U);
  EXPECT_FALSE(isNonce(std::string(63, 'a')));
  EXPECT_FALSE(isNonce(std::string(63, 'a') + "g"));
}

TEST(MixerHandshake, AProofHoldsOnlyForItsSecretSideAndNonces) {
  const std::string c = makeNonce();
  const std::string s = makeNonce();
  const std::string proof = handshakeProof(kSecret, HandshakeSide::kClient, c, s);
  EXPECT_TRUE(isNonce(proof)) << "64 hex digits: " << proof;
  EXPECT_TRUE(verifyHandshakeProof(kSecret, HandshakeSide::kClient, c, s, proof));
  EXPECT_FALSE(verifyHandshakeProof(kSecret + "x", HandshakeSide::kClient, c, s, proof));
  EXPECT_FALSE(verifyHandshakeProof(kSecret, HandshakeSide::kServer, c, s, proof))
      << "the client's proof does not pass as the server's";
  EXPECT_FALSE(verifyHandshakeProof(kSecret, HandshakeSide::kClient, s, c, proof));
  EXPECT_FALSE(verifyHandshakeProof(kSecret, HandshakeSide::kClient, c, makeNonce(), proof));
  std::string flipped = proof;
  flipped[10] = flipped[10] == '0' ? '1' : '0';
  EXPECT_FALSE(verifyHandshakeProof(kSecret, HandshakeSide::kClient, c, s, flipped));
  EXPECT_FALSE(verifyHandshakeProof(kSecret, HandshakeSide::kClient, c, s, proof.substr(1)));
  EXPECT_FALSE(verifyHandshakeProof(kSecret, HandshakeSide::kClient, "", s,
                                    handshakeProof(kSecret, HandshakeSide::kClient, "", s)))
      << "a nonce must be a real one";
}

// The wire format, pinned by values computed apart from this code (Python's hmac module over
// length byte + label, length byte + client nonce, length byte + server nonce, length byte +
// binding), so that a confab and a confab-mixer of different builds keep agreeing.
TEST(MixerHandshake, ProofsMatchAnIndependentComputation) {
  const std::string c(64, '1');
  const std::string s(64, '2');
  EXPECT_EQ(handshakeProof(kSecret, HandshakeSide::kServer, c, s),
            "27c9b78de1ba041da43c8bda70376f17b66a6c97b9538be230faee537f50c45e");
  EXPECT_EQ(handshakeProof(kSecret, HandshakeSide::kClient, c, s),
            "807f52ee1b6b33133725ccdf1397833755cedfa7f449030387aa7def0dc5028c");
  EXPECT_EQ(handshakeProof(kSecret, HandshakeSide::kClient, c, s, std::string(64, '3')),
            "e3ba66053ca658d8a5584d0d03cec3acb80f047c3b879ffa9d402c019047b239");
}

// Over TLS the proofs cover the session's exporter value: one made for another session (what a
// man in the middle would relay) fails.
TEST(MixerHandshake, AProofHoldsOnlyForItsTlsSession) {
  const std::string c = makeNonce();
  const std::string s = makeNonce();
  const std::string mine = makeNonce();
  const std::string proof = handshakeProof(kSecret, HandshakeSide::kClient, c, s, mine);
  EXPECT_TRUE(verifyHandshakeProof(kSecret, HandshakeSide::kClient, c, s, proof, mine));
  EXPECT_FALSE(verifyHandshakeProof(kSecret, HandshakeSide::kClient, c, s, proof, makeNonce()));
  EXPECT_FALSE(verifyHandshakeProof(kSecret, HandshakeSide::kClient, c, s, proof))
      << "nor without TLS";
}

TEST(MixerHandshake, SecretFilesAreTrimmedAndShortOnesRefused) {
  test::TempDir dir;
  {
    std::ofstream(dir.file("good")) << "  " << kSecret << " \r\nsecond line ignored\n";
    std::ofstream(dir.file("short")) << "hunter2\n";
    std::ofstream(dir.file("empty")) << "";
  }
  auto good = readSecretFile(dir.file("good"));
  ASSERT_TRUE(std::holds_alternative<std::string>(good));
  EXPECT_EQ(std::get<std::string>(good), kSecret);
  auto tooShort = readSecretFile(dir.file("short"));
  ASSERT_TRUE(std::holds_alternative<SecretError>(tooShort));
  EXPECT_THAT(std::get<SecretError>(tooShort).message, ::testing::HasSubstr("at least 32"));
  EXPECT_TRUE(std::holds_alternative<SecretError>(readSecretFile(dir.file("empty"))));
  auto missing = readSecretFile(dir.file("missing"));
  ASSERT_TRUE(std::holds_alternative<SecretError>(missing));
  EXPECT_THAT(std::get<SecretError>(missing).message, ::testing::HasSubstr("cannot read"));
}

}  // namespace
}  // namespace confab::mixer::remote
