// Base64 (RFC 4648 §4) for the SDES inline keys of a=crypto (RFC 4568 §6.1).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace confab::sdp {

// Standard alphabet, with '=' padding.
std::string base64Encode(std::span<const std::uint8_t> bytes);

// Accepts the standard alphabet with or without trailing '=' padding (some SIP clients drop it);
// nothing on any other character, misplaced padding or a length no encoder produces.
std::optional<std::vector<std::uint8_t>> base64Decode(std::string_view text);

}  // namespace confab::sdp
