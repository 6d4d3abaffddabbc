// Fuzzes what re-INVITEs do to a call's media in the mixer: any sequence of updates (codec,
// SSRC, SRTP keys each way or none, hold, rtcp-mux, a new remote address) with mixing ticks in
// between, through the mixer thread's own Worker::updateLeg, on real sockets and real libsrtp.
// The rule it checks is RFC 3711 §9.1's: no (key, SSRC, index) is ever protected twice. In the
// sanitizer build (Debug) the keystream guard aborts on a reuse (mixer/srtp/KeystreamGuard.hpp).
// An update the mixer refuses (our key again under another suite) ends the call, as it would.
//
// Each input is one call between two legs (A talks nothing, B is updated), with keys of its own:
// keys are never shared between calls, so none is between inputs.
#include <arpa/inet.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <vector>

#include "mixer/engine/Worker.hpp"
#include "mixer/net/MediaEndpoint.hpp"

namespace {

using namespace confab::mixer;

void check(bool condition) {
  if (!condition) {
    std::abort();
  }
}

int boundUdp() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  check(fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  return fd;
}

sockaddr_storage addressOf(int fd) {
  sockaddr_storage a{};
  socklen_t length = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &length);
  return a;
}

// Reads the input a byte at a time; zeros once it runs out.
struct Input {
  const uint8_t* data;
  std::size_t size;
  std::size_t at = 0;
  uint8_t next() { return at < size ? data[at++] : 0; }
  [[nodiscard]] bool done() const { return at >= size; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static uint64_t call = 0;
  ++call;
  // Three keys for this call (key || salt, 30 bytes): never seen by another input.
  std::array<std::vector<uint8_t>, 3> keys;
  for (std::size_t k = 0; k < keys.size(); ++k) {
    keys[k].resize(30);
    for (std::size_t i = 0; i < 30; ++i) {
      keys[k][i] =
          static_cast<uint8_t>((call * 0x9E3779B97F4A7C15ULL >> (8 * (i % 8))) + k * 31 + i);
    }
    keys[k][0] = static_cast<uint8_t>(call);
    keys[k][1] = static_cast<uint8_t>(call >> 8);
    keys[k][2] = static_cast<uint8_t>(call >> 16);
    keys[k][3] = static_cast<uint8_t>(k);
  }
  const int wake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  check(wake >= 0);
  const int sink = boundUdp();  // where the mixer sends; never read (the kernel drops the excess)
  {
    Worker worker(wake, std::chrono::seconds(60), std::chrono::milliseconds(60));
    worker.addMix(1, RoomSettings{});
    auto settingsFor = [&](uint8_t choice) {
      EndpointSettings e;
      e.rtcpMux = (choice & 1) != 0;
      e.remoteRtp = addressOf(sink);
      if ((choice & 2) != 0) {
        reinterpret_cast<sockaddr_in&>(*e.remoteRtp).sin_port ^= htons(1);  // they moved
      }
      const uint8_t local = (choice >> 2) % 4;  // 3: plain RTP
      const uint8_t remote = (choice >> 4) % 3;
      if (local < 3) {
        e.srtp = SrtpKeys{(choice & 0x40) != 0 ? confab::srtp::Suite::kAesCm128HmacSha1_32
                                               : confab::srtp::Suite::kAesCm128HmacSha1_80,
                          keys[local], keys[remote]};
      }
      return e;
    };
    auto participantFor = [](uint8_t choice, uint32_t ssrc) {
      ParticipantSettings p;
      constexpr std::array<Codec, 4> kCodecs{Codec::kPcmu, Codec::kPcma, Codec::kOpus,
                                             Codec::kG722};
      constexpr std::array<uint8_t, 4> kTypes{0, 8, 111, 9};
      const uint8_t codec = choice % 4;
      p.codec = kCodecs[codec];
      p.payloadType = kTypes[codec];
      p.ssrc = ssrc;
      return p;
    };
    for (EndpointId id : {EndpointId{1}, EndpointId{2}}) {
      auto endpoint = MediaEndpoint::create(boundUdp(), boundUdp(), settingsFor(0));
      check(endpoint.has_value());
      check(worker.addLeg(id, 1, std::move(*endpoint), participantFor(0, 0x1000 + id), true, true));
    }
    Input in{data, size};
    uint32_t ssrc = 0x1002;
    for (int step = 0; step < 48 && !in.done(); ++step) {
      const uint8_t op = in.next();
      if ((op & 1) == 0) {
        for (int t = 0; t <= (op >> 1) % 6; ++t) {
          worker.tick();  // sends to both legs: protected under whatever keys they hold now
        }
        continue;
      }
      if ((op & 2) != 0) {
        ssrc ^= 0x100;  // a new SSRC towards them: a new stream
      }
      const uint8_t choice = in.next();
      const bool sending = (op & 4) == 0;
      if (!worker.updateLeg(2, settingsFor(choice), participantFor(in.next(), ssrc), sending,
                            true)) {
        // Refused (our key again under another suite): the leg is gone, as the call would be.
        break;
      }
    }
    for (int t = 0; t < 3; ++t) {
      worker.tick();
    }
    worker.removeLeg(1);
    worker.removeLeg(2);
  }
  ::close(sink);
  ::close(wake);
  return 0;
}
