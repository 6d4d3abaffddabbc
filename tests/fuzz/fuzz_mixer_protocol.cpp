// Fuzzes the mixer control protocol's line parser (mixer/remote/Protocol.hpp), which reads what
// arrives over TCP on both sides. Checks what every line must hold: parse() answers with a
// message or an error naming the problem, and a message it accepted serializes to one line that
// parses again to the same line (what we send, we can read).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mixer/remote/Protocol.hpp"

namespace {

void check(bool condition) {
  if (!condition) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace remote = confab::mixer::remote;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // Each newline-separated piece is one line, as LineStream hands them over.
  std::size_t start = 0;
  while (start <= input.size()) {
    std::size_t end = input.find('\n', start);
    if (end == std::string_view::npos) {
      end = input.size();
    }
    auto parsed = remote::parse(input.substr(start, end - start));
    if (!parsed) {
      check(!parsed.error().message.empty());
    } else {
      const std::string line = remote::serialize(*parsed);
      check(!line.empty() && line.back() == '\n');
      check(line.find('\n') == line.size() - 1);
      check(line.size() <= remote::kMaxLineBytes);
      auto again = remote::parse(std::string_view(line).substr(0, line.size() - 1));
      check(again.ok());
      check((*again).index() == (*parsed).index());
      check(remote::serialize(*again) == line);
      check(remote::requestIdOf(*again) == remote::requestIdOf(*parsed));
    }
    start = end + 1;
  }
  return 0;
}
