// TCP/TLS framing: messages split at every byte, pipelined, keep-alives, and framing errors.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "focus/sip/Parser.hpp"

namespace confab::sip {
namespace {

const std::string kOptions =
    "OPTIONS sip:1000@127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK-1\r\n"
    "From: <sip:a@127.0.0.1>;tag=1\r\n"
    "To: <sip:1000@127.0.0.1>\r\n"
    "Call-ID: framer-1\r\n"
    "CSeq: 1 OPTIONS\r\n"
    "Content-Type: text/plain\r\n"
    "l: 5\r\n"
    "\r\n"
    "hello";

std::vector<std::string> drain(StreamFramer& framer) {
  std::vector<std::string> out;
  std::string message;
  Error error;
  while (framer.next(message, error) == StreamFramer::Status::kMessage) {
    out.push_back(message);
  }
  return out;
}

TEST(SipStreamFramer, MessageSplitAtEveryByteArrivesWhole) {
  const std::string two = kOptions + kOptions;
  for (std::size_t cut = 0; cut <= two.size(); ++cut) {
    StreamFramer framer;
    framer.feed(std::string_view(two).substr(0, cut));
    auto got = drain(framer);
    framer.feed(std::string_view(two).substr(cut));
    auto rest = drain(framer);
    got.insert(got.end(), rest.begin(), rest.end());
    ASSERT_EQ(got.size(), 2u) << "cut at " << cut;
    EXPECT_EQ(got[0], kOptions);
    EXPECT_EQ(got[1], kOptions);
    auto parsed = parseMessage(got[0], false);
    ASSERT_TRUE(std::holds_alternative<Message>(parsed));
    EXPECT_EQ(std::get<Message>(parsed).body, "hello");
  }
}

TEST(SipStreamFramer, ByteByByte) {
  StreamFramer framer;
  std::vector<std::string> got;
  for (char c : kOptions) {
    framer.feed(std::string_view(&c, 1));
    auto more = drain(framer);
    got.insert(got.end(), more.begin(), more.end());
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(framer.buffered(), 0u);
}

TEST(SipStreamFramer, DoubleCrlfIsAKeepAlivePing) {
  StreamFramer framer;
  framer.feed("\r\n\r\n");
  EXPECT_TRUE(drain(framer).empty());
  EXPECT_EQ(framer.takePings(), 1u);
  framer.feed("\r\n\r\n\r\n\r\n" + kOptions);
  EXPECT_EQ(drain(framer).size(), 1u);
  EXPECT_EQ(framer.takePings(), 2u);
  EXPECT_EQ(framer.takePings(), 0u);
}

TEST(SipStreamFramer, MissingOrBadContentLengthBreaksTheStream) {
  for (std::string header : {"l: 5", "Content-Length: -5", "Content-Length: five",
                             "Content-Length: 5\r\nContent-Length: 6"}) {
    std::string message = kOptions;
    message.replace(message.find("l: 5"), 4, header);
    if (header == "l: 5") {
      message.erase(message.find("l: 5\r\n"), 6);
    }
    StreamFramer framer;
    framer.feed(message);
    std::string out;
    Error error;
    EXPECT_EQ(framer.next(out, error), StreamFramer::Status::kError) << header;
    EXPECT_EQ(error.status, 400);
  }
}

TEST(SipStreamFramer, OversizedHeaderSectionIsRefusedWithoutWaiting) {
  Limits limits;
  limits.maxHeaderBytes = 1024;
  StreamFramer framer(limits);
  framer.feed("OPTIONS sip:x@y SIP/2.0\r\nX: " + std::string(2000, 'a'));
  std::string out;
  Error error;
  EXPECT_EQ(framer.next(out, error), StreamFramer::Status::kError);
}

TEST(SipStreamFramer, OversizedBodyIsRefused) {
  Limits limits;
  limits.maxMessageBytes = 4096;
  StreamFramer framer(limits);
  std::string message = kOptions;
  message.replace(message.find("l: 5"), 4, "l: 100000");
  framer.feed(message);
  std::string out;
  Error error;
  EXPECT_EQ(framer.next(out, error), StreamFramer::Status::kError);
}

}  // namespace
}  // namespace confab::sip
