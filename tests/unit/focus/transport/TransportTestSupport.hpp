// Shared pieces of the transport tests: a recording listener (a fake of the layer above), SIP
// message text, and a bounded way to run the io_context until something has happened.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "focus/sip/Message.hpp"
#include "focus/sip/Parser.hpp"
#include "focus/transport/TransportLayer.hpp"

namespace confab::transport::test {

namespace asio = boost::asio;
using namespace std::chrono_literals;

inline std::string requestText(std::string_view via,
                               std::string_view method = "OPTIONS",
                               std::string_view body = "",
                               std::string_view callId = "c1@example.com") {
  std::string text = std::string(method) + " sip:room@confab.local SIP/2.0\r\n";
  text += "Via: " + std::string(via) + "\r\n";
  text += "Max-Forwards: 70\r\n";
  text += "From: <sip:alice@example.com>;tag=a1\r\n";
  text += "To: <sip:room@confab.local>\r\n";
  text += "Call-ID: " + std::string(callId) + "\r\n";
  text += "CSeq: 1 " + std::string(method) + "\r\n";
  text += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  text += body;
  return text;
}

// A 200 OK for 'request' (RFC 3261 §8.2.6.2: Via, From, To, Call-ID, CSeq copied).
inline sip::Message okFor(const sip::Message& request) {
  sip::Message response = sip::Message::response(200, "OK");
  response.method = request.method;
  for (const char* name : {"Via", "From", "To", "Call-ID", "CSeq"}) {
    for (std::string_view value : request.headers(name)) {
      response.add(name, std::string(value));
    }
  }
  return response;
}

inline sip::Message parsed(std::string_view text) {
  auto result = sip::parseMessage(text, true);
  if (auto* failure = std::get_if<sip::ParseFailure>(&result)) {
    ADD_FAILURE() << "test message does not parse: " << failure->error.reason;
    return sip::Message{};
  }
  return std::get<sip::Message>(std::move(result));
}

class RecordingListener : public TransportLayer::Listener {
 public:
  struct Received {
    sip::Message message;
    Source source;
  };

  void onMessage(sip::Message&& message, const Source& source) override {
    messages.push_back(Received{std::move(message), source});
    if (onReceived) {
      onReceived(messages.back().message, source);
    }
  }
  void onBadMessage(const sip::ParseFailure& failure, const Source& source) override {
    bad.emplace_back(failure, source);
  }
  void onSendFailed(SendId id, const std::string& reason) override {
    sendFailures.emplace_back(id, reason);
  }
  void onConnectionClosed(const Source& connection, const std::string& reason) override {
    closed.emplace_back(connection, reason);
  }

  std::vector<Received> messages;
  std::vector<std::pair<sip::ParseFailure, Source>> bad;
  std::vector<std::pair<SendId, std::string>> sendFailures;
  std::vector<std::pair<Source, std::string>> closed;
  std::function<void(const sip::Message&, const Source&)> onReceived;
};

// Runs the io_context in short slices until 'done' holds or 'limit' passes.
template <class Predicate>
bool runUntil(asio::io_context& io, Predicate done, std::chrono::milliseconds limit = 3s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    if (io.stopped()) {
      io.restart();
    }
    io.run_for(2ms);
  }
  return true;
}

inline void runFor(asio::io_context& io, std::chrono::milliseconds duration) {
  if (io.stopped()) {
    io.restart();
  }
  io.run_for(duration);
}

// Collects what a stream socket receives until EOF or an error.
struct StreamReader {
  template <class Stream>
  void start(Stream& stream) {
    stream.async_read_some(asio::buffer(buffer),
                           [this, &stream](const boost::system::error_code& ec, std::size_t n) {
                             if (ec) {
                               closed = true;
                               error = ec;
                               return;
                             }
                             data.append(buffer.data(), n);
                             start(stream);
                           });
  }

  std::string data;
  bool closed = false;
  boost::system::error_code error;
  std::array<char, 8192> buffer{};
};

// A fresh directory per test for generated TLS identities.
inline std::string scratchDirectory(std::string_view name) {
  const auto path = std::filesystem::path(::testing::TempDir()) /
                    ("confab-transport-" + std::string(name) + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(path);
  std::filesystem::create_directories(path);
  return path.string();
}

inline TransportConfig loopbackConfig(std::vector<Protocol> protocols,
                                      const char* address = "127.0.0.1") {
  TransportConfig config;
  for (const Protocol protocol : protocols) {
    config.listen.push_back(ListenAddress{protocol, Endpoint{asio::ip::make_address(address), 0}});
  }
  config.handshakeTimeout = 2s;
  config.resolveTimeout = 2s;
  return config;
}

}  // namespace confab::transport::test
