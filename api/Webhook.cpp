#include "api/Webhook.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <boost/url/parse.hpp>
#include <cctype>

namespace confab::api {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool isLocalhostName(std::string_view host) {
  // RFC 6761 §6.3: "localhost." and names under it are the loopback.
  const std::string name = lower(host);
  return name == "localhost" || name == "localhost." || name.ends_with(".localhost") ||
         name.ends_with(".localhost.");
}

}  // namespace

std::optional<WebhookUrl> parseWebhookUrl(std::string_view url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed || (lower(parsed->scheme()) != "http" && lower(parsed->scheme()) != "https") ||
      !parsed->has_authority() || parsed->encoded_host().empty() || parsed->has_userinfo()) {
    return std::nullopt;
  }
  WebhookUrl out;
  out.tls = lower(parsed->scheme()) == "https";
  out.port = out.tls ? 443 : 80;
  if (parsed->host_type() == boost::urls::host_type::ipv6) {
    out.host = parsed->host_ipv6_address().to_string();
  } else {
    out.host = parsed->host();
  }
  if (parsed->has_port()) {
    if (parsed->port_number() == 0) {
      return std::nullopt;
    }
    out.port = parsed->port_number();
  }
  out.target = std::string(parsed->encoded_path());
  if (out.target.empty()) {
    out.target = "/";
  }
  if (parsed->has_query()) {
    out.target += "?" + std::string(parsed->encoded_query());
  }
  return out;
}

std::optional<std::string> webhookUrlProblem(std::string_view url, bool allowPrivate) {
  if (url.size() > kMaxWebhookUrl) {
    return "at most " + std::to_string(kMaxWebhookUrl) + " bytes";
  }
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) {
    return "not an absolute URL (RFC 3986)";
  }
  if (lower(parsed->scheme()) != "http" && lower(parsed->scheme()) != "https") {
    return "the scheme must be http or https";
  }
  if (!parsed->has_authority() || parsed->encoded_host().empty()) {
    return "no host";
  }
  if (parsed->has_userinfo()) {
    return "no user name or password in the URL";
  }
  if (parsed->has_port() && parsed->port_number() == 0) {
    return "no port 0";
  }
  auto target = parseWebhookUrl(url);
  if (!target) {
    return "not an http or https URL with a host";
  }
  if (!allowPrivate) {
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(target->host, ec);
    if ((!ec && isPrivateAddress(address)) || isLocalhostName(target->host)) {
      return "a loopback, private or link-local address (the operator allows those with "
             "--api-webhooks-private)";
    }
  }
  return std::nullopt;
}

bool isPrivateAddress(const boost::asio::ip::address& address) {
  if (address.is_v6()) {
    const auto v6 = address.to_v6();
    if (v6.is_v4_mapped()) {
      return isPrivateAddress(boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6));
    }
    const auto bytes = v6.to_bytes();
    return v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() ||
           (bytes[0] & 0xfe) == 0xfc ||                      // fc00::/7, RFC 4193
           (bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80);  // fe80::/10, RFC 4291
  }
  const auto b = address.to_v4().to_bytes();
  return b[0] == 0 ||                             // "this network", 0.0.0.0 included
         b[0] == 127 ||                           // loopback
         b[0] == 10 ||                            // RFC 1918
         (b[0] == 172 && (b[1] & 0xf0) == 16) ||  // RFC 1918
         (b[0] == 192 && b[1] == 168) ||          // RFC 1918
         (b[0] == 100 && (b[1] & 0xc0) == 64) ||  // RFC 6598 shared (carrier NAT)
         (b[0] == 169 && b[1] == 254) ||          // RFC 3927 link-local (cloud metadata)
         b[0] >= 224;                             // multicast and reserved
}

std::string hmacSha256Hex(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &length);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kDigits[mac[i] >> 4];
    out += kDigits[mac[i] & 0x0f];
  }
  return out;
}

std::string webhookSignature(std::string_view secret, int64_t timestamp, std::string_view body) {
  std::string signed_ = std::to_string(timestamp);
  signed_ += '.';
  signed_ += body;
  return "v1=" + hmacSha256Hex(secret, signed_);
}

std::optional<std::chrono::milliseconds> Backoff::next(unsigned attempts,
                                                       std::chrono::milliseconds age,
                                                       double jitter) const {
  if (age >= giveUpAfter) {
    return std::nullopt;
  }
  std::chrono::milliseconds delay = first;
  for (unsigned i = 1; i < attempts && delay < cap; ++i) {
    delay *= 2;
  }
  delay = std::min(delay, cap);
  delay += std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(delay.count()) * 0.1 *
                                                          std::clamp(jitter, 0.0, 1.0)));
  return delay;
}

}  // namespace confab::api
