#include "main/MixerOptions.hpp"

#include <boost/program_options.hpp>
#include <sstream>

#ifndef CONFAB_VERSION
#define CONFAB_VERSION "0.1.0"
#endif

namespace confab::config {

namespace po = boost::program_options;

namespace {

std::optional<boost::asio::ip::address> parseAddress(const std::string& text) {
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(text, ec);
  return ec ? std::nullopt : std::optional(address);
}

Error refuse(const std::string& option, const std::string& value, const std::string& why) {
  return Error{"invalid value for --" + option + ": \"" + value + "\": " + why};
}

}  // namespace

std::string MixerOptions::advertisedMediaAddress() const {
  if (mediaAddress) {
    return mediaAddress->to_string();
  }
  return rtpAddress.is_unspecified() ? std::string() : rtpAddress.to_string();
}

MixerOptionsResult parseMixerOptions(int argc, const char* const* argv) {
  try {
    const MixerOptions defaults;
    po::options_description options("Options", 100, 50);
    options.add_options()                           //
        ("help,h", "Print this help and exit.")     //
        ("version", "Print the version and exit.")  //
        ("listen", po::value<std::string>()->value_name("ADDR:PORT"),
         "Control protocol listening point for confab (--mixer there). Any address but a "
         "loopback one needs --secret-file. Default: 127.0.0.1:7070.")  //
        ("secret-file", po::value<std::string>()->value_name("FILE"),
         "A file whose first line is the secret shared with confab (its mixer-secret-file), at "
         "least 32 characters (openssl rand -hex 32): every connection must prove it first.")  //
        ("tls",
         "TLS 1.3 on every control connection (confab: mixer-tls = yes); needs --secret-file, "
         "whose proofs are bound to the TLS session.")  //
        ("rtp-address", po::value<std::string>()->value_name("ADDR"),
         "Local address the RTP sockets bind to. Default: 0.0.0.0.")  //
        ("rtp-ports", po::value<std::string>()->value_name("FIRST-LAST"),
         "UDP ports for RTP and RTCP, within 1024-65535. Default: 20000-29999.")  //
        ("media-address", po::value<std::string>()->value_name("ADDR"),
         "Address confab writes into SDP c= for this mixer's ports. Default: the rtp-address "
         "unless it is 0.0.0.0 or ::, else none (confab uses its own address).")  //
        ("mixer-threads", po::value<std::string>()->value_name("N"),
         "Mixer worker threads; 0: one per core. Default: 0.")  //
        ("mixer-io", po::value<std::string>()->value_name("io_uring|epoll"),
         "How the mixer threads read RTP: io_uring (epoll where the kernel or a seccomp filter "
         "refuses it) or epoll always. Default: io_uring.")  //
        ("rtp-timeout", po::value<std::string>()->value_name("SECONDS"),
         "A joined participant who sends no RTP for this long is reported gone. Default: 60.");
    constexpr int kStyle =
        po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    po::variables_map vm;
    try {
      po::store(po::command_line_parser(argc, const_cast<char**>(argv))
                    .options(options)
                    .style(kStyle)
                    .run(),
                vm);
    } catch (const po::error& e) {
      return Error{e.what()};
    }
    if (vm.count("help") != 0) {
      std::ostringstream help;
      help << "Usage: confab-mixer [OPTION...]\n"
              "The confab audio mixer as its own process: confab (--mixer ADDR:PORT) reserves\n"
              "ports, joins calls to mixes and hears DTMF and timeouts over TCP\n"
              "(docs/mixer-protocol.md). Stops on SIGINT or SIGTERM.\n"
           << options;
      return Exit{help.str()};
    }
    if (vm.count("version") != 0) {
      return Exit{"confab-mixer " CONFAB_VERSION "\n"};
    }
    MixerOptions out = defaults;
    auto value = [&vm](const char* name) -> std::optional<std::string> {
      if (vm.count(name) == 0) {
        return std::nullopt;
      }
      return vm[name].as<std::string>();
    };
    if (auto v = value("listen")) {
      auto parsed = parseEndpoint(*v);
      if (auto* reason = std::get_if<std::string>(&parsed)) {
        return refuse("listen", *v, *reason);
      }
      out.listen = std::get<Endpoint>(parsed);
    }
    if (auto v = value("rtp-address")) {
      auto address = parseAddress(*v);
      if (!address) {
        return refuse("rtp-address", *v, "not a numeric IP address");
      }
      out.rtpAddress = *address;
    }
    if (auto v = value("rtp-ports")) {
      auto parsed = parsePortRange(*v);
      if (auto* reason = std::get_if<std::string>(&parsed)) {
        return refuse("rtp-ports", *v, *reason);
      }
      out.rtpPorts = std::get<PortRange>(parsed);
    }
    if (auto v = value("media-address")) {
      if (!v->empty()) {
        auto address = parseAddress(*v);
        if (!address) {
          return refuse("media-address", *v, "not a numeric IP address");
        }
        if (address->is_unspecified()) {
          return refuse("media-address", *v, "peers cannot send media to an unspecified address");
        }
        out.mediaAddress = *address;
      }
    }
    if (auto v = value("mixer-threads")) {
      auto n = parseNumber(*v);
      if (!n || *n > 1024) {
        return refuse("mixer-threads", *v, "expected a whole number between 0 and 1024");
      }
      out.mixerThreads = static_cast<unsigned>(*n);
    }
    if (auto v = value("mixer-io")) {
      if (*v != "io_uring" && *v != "epoll") {
        return refuse("mixer-io", *v, "expected io_uring or epoll");
      }
      out.ioUring = *v == "io_uring";
    }
    if (auto v = value("rtp-timeout")) {
      auto n = parseNumber(*v);
      if (!n || *n == 0 || *n > 86400) {
        return refuse("rtp-timeout", *v, "expected a whole number between 1 and 86400");
      }
      out.rtpTimeout = std::chrono::seconds(static_cast<long>(*n));
    }
    if (auto v = value("secret-file")) {
      if (v->empty()) {
        return refuse("secret-file", *v, "must not be empty");
      }
      out.secretFile = *v;
    }
    out.tls = vm.count("tls") != 0;
    if (out.tls && out.secretFile.empty()) {
      return Error{"--tls needs --secret-file: the secret authenticates both ends"};
    }
    if (!out.listen.address.is_loopback() && out.secretFile.empty()) {
      // The protocol steers the media and carries every call's SRTP keys.
      return refuse("listen", toString(out.listen),
                    "only a loopback address may go without --secret-file");
    }
    return out;
  } catch (const std::exception& e) {
    return Error{e.what()};
  }
}

}  // namespace confab::config
