#include "mixer/srtp/KeystreamGuard.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <map>
#include <mutex>
#include <tuple>

namespace confab::srtp::keystream_guard {

namespace {

struct Stream {
  KeyId key;
  bool rtcp;
  std::uint32_t ssrc;
  friend bool operator<(const Stream& a, const Stream& b) {
    return std::tie(a.key, a.rtcp, a.ssrc) < std::tie(b.key, b.rtcp, b.ssrc);
  }
};

// Per stream, the indices protected so far as disjoint ranges [first, last], keyed by first: a
// stream's indices mostly arrive in order, so a call is one or a few ranges.
struct State {
  std::mutex mutex;
  std::map<Stream, std::map<std::uint64_t, std::uint64_t>> used;
  std::uint64_t checked = 0;
};

State& state() {
  static State s;
  return s;
}

}  // namespace

KeyId keyId(std::span<const std::uint8_t> keySalt) {
  std::array<std::uint8_t, SHA256_DIGEST_LENGTH> digest{};
  SHA256(keySalt.data(), keySalt.size(), digest.data());
  KeyId id{};
  std::copy_n(digest.begin(), id.size(), id.begin());
  return id;
}

void protectedPacket(const KeyId& key, bool rtcp, std::uint32_t ssrc, std::uint64_t index) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  ++s.checked;
  auto& ranges = s.used[Stream{key, rtcp, ssrc}];
  // The range starting at or before index, if any, and whether it covers index.
  auto next = ranges.upper_bound(index);
  if (next != ranges.begin()) {
    auto at = std::prev(next);
    if (at->second >= index) {
      std::fprintf(stderr,
                   "SRTP KEYSTREAM REUSE (RFC 3711 §9.1): %s SSRC %08x index %llu protected twice "
                   "under one master key\n",
                   rtcp ? "SRTCP" : "SRTP", ssrc, static_cast<unsigned long long>(index));
      std::abort();
    }
    if (at->second + 1 == index) {
      at->second = index;
      if (next != ranges.end() && next->first == index + 1) {
        at->second = next->second;
        ranges.erase(next);
      }
      return;
    }
  }
  if (next != ranges.end() && next->first == index + 1) {
    const std::uint64_t last = next->second;
    ranges.erase(next);
    ranges.emplace(index, last);
    return;
  }
  ranges.emplace(index, index);
}

std::uint64_t checked() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  return s.checked;
}

}  // namespace confab::srtp::keystream_guard
