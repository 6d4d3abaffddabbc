// SRTP cost per packet through confab::srtp::Session: protect on one session, unprotect on the
// other, for each suite and two audio packet sizes (PCMU 20 ms: 160-byte payload; Opus 20 ms
// at ~40 kbit/s: 100 bytes). Run by tests/bench/srtp.sh, which builds it against both the
// OpenSSL libsrtp2 in /usr/local and Debian's NSS one.
//   bench_srtp [ITERATIONS]     (default 1,000,000 packets per suite and size)
// Prints one "result ..." line per case (median and mean ns per packet for protect and for
// unprotect), plus which libsrtp2 and crypto library were loaded.
#include <link.h>
#include <srtp2/srtp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mixer/srtp/Library.hpp"
#include "mixer/srtp/Session.hpp"

namespace {

using confab::srtp::Direction;
using confab::srtp::Session;
using confab::srtp::Suite;
using Clock = std::chrono::steady_clock;

// Packets go through in batches: protect a batch, then unprotect it, timing each phase as a
// whole so the clock is read twice per batch, not per packet.
constexpr std::size_t kBatch = 1000;
constexpr std::size_t kHeader = 12;
constexpr std::size_t kSlot = 1500;

struct LoadedLibraries {
  std::string srtp;
  std::string crypto;
};

// Which shared objects the loader really picked: libsrtp2.so.1 has the same soname in /usr/local
// and in Debian's package, so only the running process can tell.
LoadedLibraries loadedLibraries() {
  LoadedLibraries found;
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) {
        auto& out = *static_cast<LoadedLibraries*>(data);
        const std::string_view name = info->dlpi_name != nullptr ? info->dlpi_name : "";
        if (name.find("libsrtp2") != std::string_view::npos) {
          out.srtp = std::string(name);
        }
        if (name.find("libcrypto.so") != std::string_view::npos ||
            name.find("libnss3.so") != std::string_view::npos) {
          if (!out.crypto.empty()) {
            out.crypto += ',';
          }
          out.crypto += name;
        }
        return 0;
      },
      &found);
  return found;
}

struct Case {
  const char* name;
  std::size_t payload;
};

void writeHeader(std::uint8_t* packet, std::uint16_t seq, std::uint32_t ssrc) {
  const std::uint32_t timestamp = 160u * seq;
  packet[0] = 0x80;
  packet[1] = 0x00;
  packet[2] = static_cast<std::uint8_t>(seq >> 8);
  packet[3] = static_cast<std::uint8_t>(seq);
  for (int i = 0; i < 4; ++i) {
    const int shift = 24 - 8 * i;
    packet[4 + i] = static_cast<std::uint8_t>(timestamp >> shift);
    packet[8 + i] = static_cast<std::uint8_t>(ssrc >> shift);
  }
}

// Per packet, in ns: the median over batches, which a machine busy with other work disturbs far
// less than the mean (both are printed).
struct Timing {
  double protectNs = 0;
  double unprotectNs = 0;
  double protectMeanNs = 0;
  double unprotectMeanNs = 0;
};

double median(std::vector<double> values) {
  const auto middle = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
  std::nth_element(values.begin(), middle, values.end());
  return *middle;
}

double nanoseconds(Clock::duration duration) {
  return static_cast<double>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(duration).count());
}

// False when any packet failed or came back different: a benchmark of broken SRTP measures nothing.
bool run(Suite suite, const Case& c, std::size_t iterations, Timing& timing) {
  std::vector<std::uint8_t> keySalt(confab::srtp::masterKeySaltLength(suite));
  for (std::size_t i = 0; i < keySalt.size(); ++i) {
    keySalt[i] = static_cast<std::uint8_t>(0x30 + i * 11);
  }
  std::string error;
  auto out = Session::create(suite, Direction::kOutbound, keySalt, &error);
  auto in = Session::create(suite, Direction::kInbound, keySalt, &error);
  if (!out || !in) {
    std::fprintf(stderr, "bench_srtp: %s\n", error.c_str());
    return false;
  }

  const std::size_t plainLength = kHeader + c.payload;
  std::vector<std::uint8_t> payload(c.payload);
  for (std::size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<std::uint8_t>(i * 31 + 7);
  }
  std::vector<std::uint8_t> slots(kBatch * kSlot);
  std::array<std::size_t, kBatch> lengths{};
  constexpr std::uint32_t kSsrc = 0x1234abcd;
  std::uint16_t seq = 1;
  Clock::duration protectTime{};
  Clock::duration unprotectTime{};
  std::vector<double> protectBatches;
  std::vector<double> unprotectBatches;
  protectBatches.reserve(iterations / kBatch + 1);
  unprotectBatches.reserve(iterations / kBatch + 1);

  for (std::size_t done = 0; done < iterations;) {
    const std::size_t batch = std::min(kBatch, iterations - done);
    // Building the packets is the sender's work, not SRTP's: outside the timed part.
    for (std::size_t i = 0; i < batch; ++i) {
      std::uint8_t* packet = slots.data() + i * kSlot;
      writeHeader(packet, seq++, kSsrc);
      std::memcpy(packet + kHeader, payload.data(), payload.size());
      lengths[i] = plainLength;
    }
    auto start = Clock::now();
    for (std::size_t i = 0; i < batch; ++i) {
      if (!out->protectRtp(std::span(slots.data() + i * kSlot, kSlot), lengths[i])) {
        return false;
      }
    }
    auto middle = Clock::now();
    for (std::size_t i = 0; i < batch; ++i) {
      if (!in->unprotectRtp(std::span(slots.data() + i * kSlot, kSlot), lengths[i])) {
        return false;
      }
    }
    auto end = Clock::now();
    protectTime += middle - start;
    unprotectTime += end - middle;
    protectBatches.push_back(nanoseconds(middle - start) / static_cast<double>(batch));
    unprotectBatches.push_back(nanoseconds(end - middle) / static_cast<double>(batch));
    const std::uint8_t* last = slots.data() + (batch - 1) * kSlot;
    if (lengths[batch - 1] != plainLength ||
        std::memcmp(last + kHeader, payload.data(), payload.size()) != 0) {
      return false;
    }
    done += batch;
  }
  timing.protectNs = median(std::move(protectBatches));
  timing.unprotectNs = median(std::move(unprotectBatches));
  timing.protectMeanNs = nanoseconds(protectTime) / static_cast<double>(iterations);
  timing.unprotectMeanNs = nanoseconds(unprotectTime) / static_cast<double>(iterations);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t iterations = 1'000'000;
  if (argc > 1) {
    iterations = std::strtoull(argv[1], nullptr, 10);
    if (iterations == 0) {
      std::fprintf(stderr, "usage: bench_srtp [ITERATIONS]\n");
      return 2;
    }
  }
  std::string error;
  if (!confab::srtp::Library::initialize(&error)) {
    std::fprintf(stderr, "bench_srtp: %s\n", error.c_str());
    return 1;
  }
  const LoadedLibraries libraries = loadedLibraries();
  std::printf("library %s %s crypto=%s\n", std::string(confab::srtp::Library::version()).c_str(),
              libraries.srtp.empty() ? "(static)" : libraries.srtp.c_str(),
              libraries.crypto.empty() ? "none" : libraries.crypto.c_str());

  constexpr std::array kSuites = {Suite::kAesCm128HmacSha1_80, Suite::kAesCm128HmacSha1_32,
                                  Suite::kAeadAes128Gcm};
  constexpr std::array kCases = {Case{"pcmu", 160}, Case{"opus", 100}};
  for (Suite suite : kSuites) {
    for (const Case& c : kCases) {
      Timing timing;
      if (!run(suite, c, iterations, timing)) {
        std::fprintf(stderr, "bench_srtp: %s %s: a packet failed\n",
                     std::string(confab::srtp::toString(suite)).c_str(), c.name);
        return 1;
      }
      std::printf(
          "result suite=%s packet=%s payload=%zu iterations=%zu protect_ns=%.1f "
          "unprotect_ns=%.1f protect_mean_ns=%.1f unprotect_mean_ns=%.1f\n",
          std::string(confab::srtp::toString(suite)).c_str(), c.name, c.payload, iterations,
          timing.protectNs, timing.unprotectNs, timing.protectMeanNs, timing.unprotectMeanNs);
      std::fflush(stdout);
    }
  }
  return 0;
}
