#include "mixer/remote/Handshake.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <fstream>
#include <stdexcept>

namespace confab::mixer::remote {

std::string toHex(const unsigned char* bytes, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += kDigits[bytes[i] >> 4U];
    out += kDigits[bytes[i] & 0x0FU];
  }
  return out;
}

namespace {

std::string_view label(HandshakeSide side) {
  return side == HandshakeSide::kClient ? "confab-mixer client" : "confab-mixer server";
}

}  // namespace

bool isNonce(std::string_view text) {
  if (text.size() != kHandshakeHexBytes) {
    return false;
  }
  for (char c : text) {
    const bool digit = c >= '0' && c <= '9';
    const bool lower = c >= 'a' && c <= 'f';
    const bool upper = c >= 'A' && c <= 'F';
    if (!digit && !lower && !upper) {
      return false;
    }
  }
  return true;
}

std::string makeNonce() {
  std::array<unsigned char, kHandshakeHexBytes / 2> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed: no random nonce for the mixer handshake");
  }
  return toHex(bytes.data(), bytes.size());
}

std::string handshakeProof(std::string_view secret,
                           HandshakeSide side,
                           std::string_view clientNonce,
                           std::string_view serverNonce,
                           std::string_view binding) {
  // The label, both nonces and the binding, each after its length byte so that no two inputs
  // run together.
  std::string input;
  for (std::string_view part : {label(side), clientNonce, serverNonce, binding}) {
    input += static_cast<char>(part.size() & 0xFFU);
    input += part;
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac.data(),
           &size) == nullptr) {
    throw std::runtime_error("HMAC-SHA256 failed in the mixer handshake");
  }
  return toHex(mac.data(), size);
}

bool verifyHandshakeProof(std::string_view secret,
                          HandshakeSide side,
                          std::string_view clientNonce,
                          std::string_view serverNonce,
                          std::string_view proof,
                          std::string_view binding) {
  if (!isNonce(clientNonce) || !isNonce(serverNonce) || proof.size() != kHandshakeHexBytes) {
    return false;
  }
  const std::string expected = handshakeProof(secret, side, clientNonce, serverNonce, binding);
  return CRYPTO_memcmp(expected.data(), proof.data(), expected.size()) == 0;
}

std::variant<std::string, SecretError> readSecretFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) {
    return SecretError{"cannot read the secret file " + path.string()};
  }
  const auto first = line.find_first_not_of(" \t\r");
  const auto last = line.find_last_not_of(" \t\r");
  std::string secret = first == std::string::npos ? "" : line.substr(first, last - first + 1);
  if (secret.size() < kMinSecretBytes) {
    return SecretError{"the secret in " + path.string() + " is " + std::to_string(secret.size()) +
                       " characters; at least " + std::to_string(kMinSecretBytes) +
                       " are needed (e.g. openssl rand -hex 32)"};
  }
  return secret;
}

}  // namespace confab::mixer::remote
