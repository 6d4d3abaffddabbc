// libFuzzer target for the SDP parser and offer/answer: whatever parses must print back to text
// that parses to the same print, and any answer we make to it must itself parse.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "focus/sdp/OfferAnswer.hpp"
#include "focus/sdp/SessionDescription.hpp"

namespace {

// Deterministic "random" bytes: the fuzzer needs repeatable runs.
bool fixedBytes(std::span<std::uint8_t> out) {
  std::uint8_t x = 0x5A;
  for (auto& b : out) {
    x = static_cast<std::uint8_t>(x * 33U + 7U);
    b = x;
  }
  return true;
}

const confab::sdp::LocalMedia& localMedia() {
  static const confab::sdp::LocalMedia local = [] {
    confab::sdp::LocalMedia l;
    l.address = "192.0.2.1";
    l.rtpPort = 20000;
    l.sessionId = 1234;
    l.sessionVersion = 1;
    l.randomBytes = fixedBytes;
    return l;
  }();
  return local;
}

void check(bool condition) {
  if (!condition) {
    std::abort();
  }
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace confab::sdp;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = SessionDescription::parse(text);
  if (!parsed) {
    check(parsed.error().status == 400 && !parsed.error().reason.empty());
    return 0;
  }
  // Printing is stable: parse(print(x)) prints the same.
  const std::string printed = parsed->serialize();
  auto reparsed = SessionDescription::parse(printed);
  check(reparsed.ok());
  check(reparsed->serialize() == printed);

  // As an offer from a caller.
  auto negotiated = answer(*parsed, localMedia());
  if (negotiated) {
    check(negotiated->answer.media.size() == parsed->media.size());
    check(negotiated->mediaIndex < parsed->media.size());
    auto answerText = negotiated->answer.serialize();
    auto answerParsed = SessionDescription::parse(answerText);
    check(answerParsed.ok());
    // The answer must be one we ourselves would accept as an answer to that offer.
    check(acceptAnswer(*parsed, *answerParsed).ok());
  } else {
    check(negotiated.error().status == 488);
  }

  // As an answer to our own offer (the offerless INVITE case).
  const auto ours = offer(localMedia());
  auto accepted = acceptAnswer(ours, *parsed);
  if (!accepted) {
    check(accepted.error().status == 488);
  }
  return 0;
}
