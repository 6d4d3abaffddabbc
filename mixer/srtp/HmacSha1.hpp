// HMAC-SHA1 (RFC 2104) for libsrtp's SRTP_HMAC_SHA1 authentication, in place of libsrtp's
// OpenSSL 3 binding, which goes through EVP_MAC and allocates and frees a digest context on every
// packet. Here the keyed inner and outer SHA-1 states are computed once per session key and
// copied by value per packet: nothing on the packet path allocates.
#pragma once

namespace confab::srtp {

// Puts this implementation in libsrtp's crypto kernel (after srtp_init(); libsrtp runs its
// RFC 2202 self-test on it first). False when libsrtp refused it: the built-in one stays.
bool installHmacSha1();

}  // namespace confab::srtp
