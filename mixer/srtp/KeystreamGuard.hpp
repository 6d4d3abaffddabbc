// A check that no keystream is ever used twice (RFC 3711 §9.1): under one master key, one SSRC's
// packet index (rollover counter and sequence number for SRTP, the 31-bit SRTCP index for SRTCP)
// must never be protected twice, across every context in the process, not only within one (which
// libsrtp already refuses). Two contexts made with the same key, as after a re-INVITE that
// rebuilt a call's media, are where a reuse would slip through.
//
// Built into Debug builds (the sanitizer builds are Debug) with CONFAB_SRTP_KEYSTREAM_GUARD: each
// protected packet takes a process-wide lock, which the Release hot path must not. A reuse prints
// what was reused and aborts, so no test that reaches one can pass.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace confab::srtp::keystream_guard {

// Which master key: the first 16 bytes of SHA-256 of the key and salt.
using KeyId = std::array<std::uint8_t, 16>;

[[nodiscard]] constexpr bool enabled() {
#ifdef CONFAB_SRTP_KEYSTREAM_GUARD
  return true;
#else
  return false;
#endif
}

KeyId keyId(std::span<const std::uint8_t> keySalt);
// One protected packet: aborts when (key, kind, SSRC, index) was protected before.
void protectedPacket(const KeyId& key, bool rtcp, std::uint32_t ssrc, std::uint64_t index);
// (SSRC, index) pairs checked so far in this process, for tests and the closing numbers.
std::uint64_t checked();

}  // namespace confab::srtp::keystream_guard
