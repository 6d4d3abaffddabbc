// confab-mixer: the audio mixer as its own process. Reads its options, starts the mixer threads
// and serves the control protocol (docs/mixer-protocol.md) until SIGINT or SIGTERM; whatever a
// connection owned is released when it closes, and everything when the process stops.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <iostream>

#include "main/MixerOptions.hpp"
#include "mixer/engine/InProcessMixer.hpp"
#include "mixer/remote/ControlServer.hpp"
#include "mixer/remote/Handshake.hpp"

namespace {

using namespace confab;

int run(int argc, char** argv) {
  auto parsed = config::parseMixerOptions(argc, argv);
  if (auto* exit = std::get_if<config::Exit>(&parsed)) {
    std::cout << exit->text;
    return 0;
  }
  if (auto* error = std::get_if<config::Error>(&parsed)) {
    std::cerr << "confab-mixer: " << error->message << "\n";
    return 2;
  }
  const auto& options = std::get<config::MixerOptions>(parsed);

  mixer::MixerSettings settings;
  settings.threads = options.mixerThreads;
  settings.bindAddress = options.rtpAddress;
  settings.ports = {options.rtpPorts.first, options.rtpPorts.last};
  settings.rtpTimeout = options.rtpTimeout;
  settings.ioUring = options.ioUring;
  mixer::InProcessMixer engine(settings);
  std::cerr << "confab-mixer: mixer threads read RTP through " << engine.ioPath() << std::endl;

  boost::asio::io_context io(1);
  mixer::remote::ControlServerSettings serverSettings;
  serverSettings.listen = {options.listen.address, options.listen.port};
  serverSettings.mediaAddress = options.advertisedMediaAddress();
  if (!options.secretFile.empty()) {
    auto secret = mixer::remote::readSecretFile(options.secretFile);
    if (auto* error = std::get_if<mixer::remote::SecretError>(&secret)) {
      std::cerr << "confab-mixer: --secret-file: " << error->message << "\n";
      return 2;
    }
    serverSettings.secret = std::get<std::string>(std::move(secret));
  }
  serverSettings.tls = options.tls;
  mixer::remote::ControlServer server(io, engine, serverSettings);
  if (auto ec = server.start()) {
    std::cerr << "confab-mixer: cannot listen on " << config::toString(options.listen) << ": "
              << ec.message() << "\n";
    return 1;
  }
  std::cerr << "confab-mixer: control on " << server.localEndpoint() << ", RTP "
            << options.rtpAddress.to_string() << " ports " << options.rtpPorts.first << "-"
            << options.rtpPorts.last << ", media address "
            << (serverSettings.mediaAddress.empty() ? "(confab's)" : serverSettings.mediaAddress)
            << (serverSettings.secret.empty() ? ", no authentication" : ", clients authenticated")
            << (serverSettings.tls ? " over TLS" : "")
            << std::endl;

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) {
      return;
    }
    std::cerr << "confab-mixer: stopping with " << server.connectionCount() << " connections"
              << std::endl;
    server.stop();
    io.stop();
  });
  io.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "confab-mixer: " << e.what() << "\n";
    return 1;
  }
}
