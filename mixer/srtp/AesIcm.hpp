// AES-128 in counter mode (RFC 3711 §4.1.1, "AES-CM") for libsrtp's SRTP_AES_ICM_128 cipher,
// with the AES-NI instructions, in place of libsrtp's OpenSSL 3 binding: that one re-initialises
// an EVP context through the provider layer for every packet (set_iv), which under load costs
// more than the encryption itself. Here a session key is expanded once into 11 round keys kept
// next to the counter, and a packet is one XOR with keystream made four blocks at a time.
#pragma once

struct srtp_cipher_type_t;

namespace confab::srtp {

// Puts this implementation in libsrtp's crypto kernel (after srtp_init(); libsrtp runs its
// self-test on it first, with the RFC 3711 §B.2 keystream). False when the CPU has no AES-NI or
// libsrtp refused it: the built-in one stays.
bool installAesIcm();

// The cipher type itself, for tests that compare it with another implementation.
const srtp_cipher_type_t& aesIcm128Type();

}  // namespace confab::srtp
