// Mutual authentication of the mixer control protocol's two ends with a shared secret
// (docs/mixer-protocol.md, "Authentication"). Each side contributes a fresh 32-byte nonce; the
// client proves it knows the secret with HMAC-SHA256(secret, "confab-mixer client" | Nc | Ns |
// B), and only then the server proves it with the "confab-mixer server" label; B binds the
// proofs to the TLS session they cross (empty without TLS). The labels keep one
// side's proof from passing as the other's; the fresh nonces keep a recorded exchange from being
// replayed; the secret itself never crosses the wire.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <variant>

namespace confab::mixer::remote {

// Hex digits of a nonce and of a proof (32 bytes each).
inline constexpr std::size_t kHandshakeHexBytes = 64;
// A secret shorter than this is refused: it could be guessed offline from one recorded proof.
inline constexpr std::size_t kMinSecretBytes = 32;

enum class HandshakeSide : unsigned char { kClient, kServer };

// 32 bytes from OpenSSL's CSPRNG as 64 lowercase hex digits; throws std::runtime_error when the
// generator fails (no predictable fallback).
std::string makeNonce();

// The proof 'side' sends: 64 lowercase hex digits. 'binding' is the connection's TLS exporter
// value (mixer/remote/ControlTls.hpp), "" without TLS.
std::string handshakeProof(std::string_view secret,
                           HandshakeSide side,
                           std::string_view clientNonce,
                           std::string_view serverNonce,
                           std::string_view binding = {});

// Whether 'proof' is the one 'side' owes for these nonces (and binding); constant time in the
// proof's bytes. False for a nonce that is not 64 hex digits.
bool verifyHandshakeProof(std::string_view secret,
                          HandshakeSide side,
                          std::string_view clientNonce,
                          std::string_view serverNonce,
                          std::string_view proof,
                          std::string_view binding = {});

// 'size' bytes as lowercase hex digits (nonces, proofs, the TLS binding).
std::string toHex(const unsigned char* bytes, std::size_t size);

// True for exactly 64 hex digits.
bool isNonce(std::string_view text);

// The secret in 'path': its first line, white space around it trimmed; an error (naming the
// file) when it cannot be read or is shorter than kMinSecretBytes.
struct SecretError {
  std::string message;
};
std::variant<std::string, SecretError> readSecretFile(const std::filesystem::path& path);

}  // namespace confab::mixer::remote
