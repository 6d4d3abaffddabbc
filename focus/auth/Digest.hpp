// Digest authentication for the requests we send (RFC 3261 §22, RFC 7616, RFC 8760): reading a
// 401/407 challenge and answering it with Authorization / Proxy-Authorization.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "focus/sip/Message.hpp"
#include "focus/sip/Result.hpp"

namespace confab::auth {

// The hash behind a challenge (RFC 7616 §3.3 "algorithm", RFC 8760 §2.1); the -sess forms mix the
// nonce and cnonce into HA1 (RFC 7616 §3.4.2).
enum class Algorithm : std::uint8_t {
  kMd5,
  kMd5Sess,
  kSha256,
  kSha256Sess,
  kSha512_256,
  kSha512_256Sess,
};

// The token as written in the algorithm parameter ("MD5", "SHA-256-sess", ...).
std::string_view algorithmName(Algorithm algorithm);

// One Digest challenge from a WWW-Authenticate or Proxy-Authenticate value (RFC 7616 §3.3).
struct Challenge {
  std::string realm;
  std::string nonce;
  std::optional<std::string> opaque;
  Algorithm algorithm = Algorithm::kMd5;
  // The algorithm parameter was present: we echo it then (an RFC 2069 server may not know it).
  bool algorithmGiven = false;
  // qop-options (RFC 7616 §3.3): none of them for an RFC 2069 server.
  bool qopGiven = false;
  bool qopAuth = false;
  bool qopAuthInt = false;
  bool stale = false;
  std::string domain;  // space-separated URIs, as given (informative for us)
  bool userhash = false;
};

// Upper bounds on what a peer may send in one challenge: larger is refused, not truncated.
inline constexpr std::size_t kMaxChallengeBytes = 4096;
inline constexpr std::size_t kMaxParamValueBytes = 1024;
inline constexpr std::size_t kMaxParams = 32;

// Parses one WWW-Authenticate / Proxy-Authenticate value. Refuses (with the reason) another
// scheme, a missing realm or nonce, an unknown algorithm, a duplicated parameter, an unterminated
// quoted string, control characters and anything over the bounds above; ignores unknown
// parameters and a second challenge after the first in the same value.
sip::Result<Challenge> parseChallenge(std::string_view value);

struct Credentials {
  std::string username;
  std::string password;
  std::string realm;  // the realm these are for; empty: any realm
};

// A header to put on the request: "Authorization" or "Proxy-Authorization" and its value.
struct Credential {
  std::string name;
  std::string value;
};

// The request-side inputs of a digest response (RFC 7616 §3.4.1).
struct DigestRequest {
  std::string_view method;
  std::string_view uri;   // the Request-URI as sent (RFC 3261 §22.4: the "uri" parameter)
  std::string_view body;  // for qop=auth-int only
};

// The Authorization value answering 'challenge' (RFC 7616 §3.4; without qop the RFC 2069 form
// of RFC 3261 §22.4). 'cnonce' and 'nc' are ignored without qop. Refuses what cannot be answered:
// -sess or userhash without qop, a qop list with neither auth nor auth-int, a username or
// password a quoted string cannot carry, a hash OpenSSL does not provide.
sip::Result<std::string> authorizationValue(const Challenge& challenge,
                                            const Credentials& credentials,
                                            const DigestRequest& request,
                                            std::string_view cnonce,
                                            std::uint32_t nc);

// Answers the challenges of one user agent's requests with one set of credentials, remembering
// what it answered: nc counts per nonce (RFC 7616 §3.4), a nonce refused once is not answered
// again unless the server says it was only stale (RFC 7616 §3.3), so a wrong password never loops.
class Client {
 public:
  // Makes a fresh client nonce for each answer; tests inject fixed ones.
  using CnonceSource = std::function<std::string()>;

  explicit Client(Credentials credentials, CnonceSource cnonce = {});

  // The header to add to the retry of 'request' after it got 'challenge' (a 401 with
  // WWW-Authenticate, or a 407 with Proxy-Authenticate; RFC 3261 §22.2, §22.3). The retry must
  // keep the method, Request-URI and body. Among several usable challenges the strongest hash
  // wins (SHA-512-256, SHA-256, then MD5), the topmost among equals (RFC 8760 §2.4 lets local
  // policy override the server's order). The error says why not: not a 401/407, no Digest
  // challenge we support, none for our realm, or the same nonce failed already.
  sip::Result<Credential> respond(const sip::Message& challenge, const sip::Message& request);

  // Headers for a new request from the challenges answered before (a registration refresh):
  // the same nonce with the next nc (RFC 7616 §3.4; RFC 3261 §22.3 lets a UA reuse them).
  // 'except' skips one header name (the one a retry gets from respond()).
  std::vector<Credential> authorize(const sip::Message& request, std::string_view except = {});

  // Forgets every challenge (the next request goes without credentials).
  void reset();

  [[nodiscard]] const Credentials& credentials() const { return credentials_; }

 private:
  struct Remembered {
    bool proxy = false;
    Challenge challenge;
    std::uint32_t nc = 0;  // the last nc sent with this nonce
  };
  struct Answered {
    std::string nonce;
    bool afterStale = false;
  };
  sip::Result<Credential> answer(Remembered& remembered, const sip::Message& request);
  std::string nextCnonce();

  Credentials credentials_;
  CnonceSource cnonce_;
  // At most one challenge per header (WWW-Authenticate, Proxy-Authenticate).
  std::vector<Remembered> remembered_;
  // The nonces answered through respond(), newest last, bounded.
  std::deque<Answered> answered_;
  static constexpr std::size_t kMaxAnswered = 16;
};

// Fresh random client nonce: 16 bytes from RAND_bytes, hex.
std::string randomCnonce();

}  // namespace confab::auth
