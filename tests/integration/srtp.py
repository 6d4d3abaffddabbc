"""SRTP for the test phones (RFC 3711), standard library plus the system's libcrypto (OpenSSL, in
every Debian through libssl3) through ctypes: AES_CM_128_HMAC_SHA1_80 and _32 with SDES keys
(RFC 4568), RTP only. Enough to speak to confab as a phone does, and to check what it sends:
authentication, the rollover counter and the replay of an index already seen.
"""

import ctypes
import ctypes.util
import hashlib
import hmac
import struct

_lib = ctypes.CDLL(ctypes.util.find_library("crypto") or "libcrypto.so.3")
_lib.EVP_CIPHER_CTX_new.restype = ctypes.c_void_p
_lib.EVP_aes_128_ecb.restype = ctypes.c_void_p
_lib.EVP_EncryptInit_ex.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                    ctypes.c_char_p, ctypes.c_char_p]
_lib.EVP_CIPHER_CTX_set_padding.argtypes = [ctypes.c_void_p, ctypes.c_int]
_lib.EVP_EncryptUpdate.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                   ctypes.POINTER(ctypes.c_int), ctypes.c_char_p, ctypes.c_int]
_lib.EVP_CIPHER_CTX_free.argtypes = [ctypes.c_void_p]


class _Aes:
    """AES-128 in ECB mode, one context per key."""

    def __init__(self, key: bytes):
        assert len(key) == 16
        self.ctx = _lib.EVP_CIPHER_CTX_new()
        if not self.ctx or _lib.EVP_EncryptInit_ex(self.ctx, _lib.EVP_aes_128_ecb(), None, key,
                                                   None) != 1:
            raise RuntimeError("libcrypto refused AES-128-ECB")
        _lib.EVP_CIPHER_CTX_set_padding(self.ctx, 0)

    def encrypt(self, blocks: bytes) -> bytes:
        out = ctypes.create_string_buffer(len(blocks) + 16)
        n = ctypes.c_int(0)
        if _lib.EVP_EncryptUpdate(self.ctx, out, ctypes.byref(n), blocks, len(blocks)) != 1:
            raise RuntimeError("AES encryption failed")
        return out.raw[:n.value]

    def __del__(self):
        if getattr(self, "ctx", None):
            _lib.EVP_CIPHER_CTX_free(self.ctx)


def _keystream(aes: _Aes, iv: int, length: int) -> bytes:
    """AES counter mode (RFC 3711 §4.1.1): blocks of E(IV + i), i from 0."""
    blocks = (length + 15) // 16
    counters = b"".join(((iv + i) % (1 << 128)).to_bytes(16, "big") for i in range(blocks))
    return aes.encrypt(counters)[:length]


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b))


class SrtpContext:
    """One direction of one SRTP session (a master key and salt, 30 bytes), for RTP."""

    def __init__(self, key_salt: bytes, tag_bytes: int = 10):
        assert len(key_salt) == 30
        master, salt = key_salt[:16], int.from_bytes(key_salt[16:], "big")
        aes = _Aes(master)

        def derive(label, length):
            # RFC 3711 §4.3.1 with key_derivation_rate 0: x = (label << 48) XOR salt, as IV * 2^16.
            return _keystream(aes, ((label << 48) ^ salt) << 16, length)

        self.cipher = _Aes(derive(0, 16))
        self.auth_key = derive(1, 20)
        self.session_salt = int.from_bytes(derive(2, 14), "big")
        self.tag_bytes = tag_bytes
        self.roc = {}      # per SSRC: rollover counter (sender) or its estimate's base (receiver)
        self.highest = {}  # per SSRC: highest sequence number seen or sent
        self.seen = {}     # per SSRC: packet indices received, for the replay check

    def _crypt(self, ssrc: int, index: int, payload: bytes) -> bytes:
        iv = (self.session_salt << 16) ^ (ssrc << 64) ^ (index << 16)
        return _xor(payload, _keystream(self.cipher, iv, len(payload)))

    def _tag(self, authenticated: bytes, roc: int) -> bytes:
        mac = hmac.new(self.auth_key, authenticated + struct.pack("!I", roc), hashlib.sha1)
        return mac.digest()[:self.tag_bytes]

    @staticmethod
    def _header_length(packet: bytes) -> int:
        cc = packet[0] & 0x0F
        length = 12 + 4 * cc
        if packet[0] & 0x10:  # RFC 3550 §5.3.1 header extension
            words = struct.unpack("!H", packet[length + 2:length + 4])[0]
            length += 4 + 4 * words
        return length

    def protect(self, packet: bytes) -> bytes:
        seq, ssrc = struct.unpack("!H", packet[2:4])[0], struct.unpack("!I", packet[8:12])[0]
        roc = self.roc.get(ssrc, 0)
        if ssrc in self.highest and seq < self.highest[ssrc] and self.highest[ssrc] - seq > 0x8000:
            roc += 1  # the sequence number wrapped
        self.roc[ssrc] = roc
        self.highest[ssrc] = seq
        h = self._header_length(packet)
        body = packet[:h] + self._crypt(ssrc, (roc << 16) | seq, packet[h:])
        return body + self._tag(body, roc)

    def unprotect(self, packet: bytes):
        """The clear packet, or None when it does not authenticate or replays an index."""
        if len(packet) < 12 + self.tag_bytes:
            return None
        seq, ssrc = struct.unpack("!H", packet[2:4])[0], struct.unpack("!I", packet[8:12])[0]
        # RFC 3711 Appendix A: the index is guessed from the highest sequence number so far.
        roc = self.roc.get(ssrc, 0)
        if ssrc in self.highest:
            s_l = self.highest[ssrc]
            if s_l < 0x8000:
                guess = roc - 1 if seq - s_l > 0x8000 and roc > 0 else roc
            else:
                guess = roc + 1 if s_l - 0x8000 > seq else roc
        else:
            guess = roc
        body, tag = packet[:-self.tag_bytes], packet[-self.tag_bytes:]
        if not hmac.compare_digest(self._tag(body, guess), tag):
            return None
        index = (guess << 16) | seq
        seen = self.seen.setdefault(ssrc, set())
        if index in seen:
            return None  # a replay, or an index the sender used twice
        seen.add(index)
        if ssrc not in self.highest or index > ((self.roc[ssrc] << 16) | self.highest[ssrc]):
            self.roc[ssrc], self.highest[ssrc] = guess, seq
        h = self._header_length(body)
        return body[:h] + self._crypt(ssrc, index, body[h:])


def self_test():
    """RFC 3711 Appendix B.2 (AES-CM keystream) and B.3 (key derivation) test vectors, and a
    round trip."""
    # B.3: master key and salt, and the derived cipher key, auth key and salt.
    key = bytes.fromhex("E1F97A0D3E018BE0D64FA32C06DE4139")
    salt = bytes.fromhex("0EC675AD498AFEEBB6960B3AABE6")
    ctx = SrtpContext(key + salt)
    assert _keystream(_Aes(key), ((0 << 48) ^ int.from_bytes(salt, "big")) << 16, 16) == \
        bytes.fromhex("C61E7A93744F39EE10734AFE3FF7A087"), "cipher key"
    assert ctx.session_salt == int("30CBBC08863D8C85D49DB34A9AE1", 16), "session salt"
    assert ctx.auth_key[:16] == bytes.fromhex("CEBE321F6FF7716B6FD4AB49AF256A15"), "auth key"
    # B.2: keystream for session key 2B7E151628AED2A6ABF7158809CF4F3C and IV
    # F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000.
    aes = _Aes(bytes.fromhex("2B7E151628AED2A6ABF7158809CF4F3C"))
    ks = _keystream(aes, int("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000", 16), 48)
    assert ks == bytes.fromhex("E03EAD0935C95E80E166B16DD92B4EB4D23513162B02D0F72A43A2FE4A5F97AB"
                               "41E95B3BB0A2E8DD477901E4FCA894C0"), "AES-CM keystream"
    sender, receiver = SrtpContext(key + salt), SrtpContext(key + salt)
    for seq in (65534, 65535, 0, 1):
        clear = struct.pack("!BBHII", 0x80, 0, seq, 160 * seq, 0x1234) + bytes(range(160))
        wire = sender.protect(clear)
        assert receiver.unprotect(wire) == clear, f"round trip at {seq}"
        assert receiver.unprotect(wire) is None, "a replay is refused"
    assert sender.roc[0x1234] == 1 and receiver.roc[0x1234] == 1, "rollover counted"


if __name__ == "__main__":
    self_test()
    print("srtp.py self-test passed")
