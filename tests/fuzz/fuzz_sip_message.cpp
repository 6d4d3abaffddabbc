// libFuzzer target for the SIP parser: datagram parse, stream framing in two pieces, and the
// property that whatever we accept we serialize into something we accept again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "focus/sip/Parser.hpp"
#include "focus/sip/Response.hpp"

using namespace confab::sip;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto result = parseMessage(bytes, true);
  if (auto* message = std::get_if<Message>(&result)) {
    auto again = parseMessage(message->serialize(), false);
    if (!std::holds_alternative<Message>(again)) {
      std::abort();  // we produced something we refuse
    }
    if (message->isRequest()) {
      (void)makeResponse(*message, 200, {}, "tag").serialize();
    }
  } else if (auto* failure = std::get_if<ParseFailure>(&result); failure && failure->partial) {
    (void)errorResponse(*failure->partial, failure->error, "tag").serialize();
  }
  // The same bytes as a stream, cut in two at a point chosen by the first byte.
  StreamFramer framer;
  const std::size_t cut = size == 0 ? 0 : data[0] % (size + 1);
  framer.feed(bytes.substr(0, cut));
  std::string out;
  Error error;
  while (framer.next(out, error) == StreamFramer::Status::kMessage) {
    (void)parseMessage(out, false);
  }
  framer.feed(bytes.substr(cut));
  while (framer.next(out, error) == StreamFramer::Status::kMessage) {
    (void)parseMessage(out, false);
  }
  return 0;
}
