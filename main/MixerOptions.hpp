// Start-up options of the confab-mixer binary (the mixer as its own process, driven by confab
// over the control protocol of docs/mixer-protocol.md). Command line only: a handful of options.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <variant>

#include "main/Config.hpp"

namespace confab::config {

struct MixerOptions {
  // The control protocol's listening point. Loopback by default; any other address needs a
  // secret (docs/mixer-protocol.md, "Authentication").
  Endpoint listen{boost::asio::ip::make_address_v4("127.0.0.1"), 7070};
  // The file holding the secret every client must prove; empty: no authentication.
  std::string secretFile;
  // TLS 1.3 on every control connection; only with secretFile.
  bool tls = false;
  boost::asio::ip::address rtpAddress = boost::asio::ip::address_v4::any();
  PortRange rtpPorts;
  // What confab writes into SDP c= for this mixer's ports; nullopt: the rtp-address unless it is
  // a wildcard, else nothing (confab then uses its own address, right when both share a host).
  std::optional<boost::asio::ip::address> mediaAddress;
  unsigned mixerThreads = 0;  // 0: one per core
  bool ioUring = true;        // false: the threads read RTP through epoll always
  std::chrono::seconds rtpTimeout{60};

  // The address given to confab in Reservation::address; empty: confab picks.
  [[nodiscard]] std::string advertisedMediaAddress() const;

  friend bool operator==(const MixerOptions&, const MixerOptions&) = default;
};

using MixerOptionsResult = std::variant<MixerOptions, Exit, Error>;

// --help and --version give Exit; a bad value an Error naming the option. Never throws.
MixerOptionsResult parseMixerOptions(int argc, const char* const* argv);

}  // namespace confab::config
