#include "focus/auth/Digest.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <initializer_list>
#include <stdexcept>
#include <utility>

#include "focus/sip/Grammar.hpp"

namespace confab::auth {

namespace {

using sip::grammar::isTokenChar;
using sip::grammar::isWs;

constexpr std::array<std::pair<Algorithm, std::string_view>, 6> kAlgorithms{{
    {Algorithm::kMd5, "MD5"},
    {Algorithm::kMd5Sess, "MD5-sess"},
    {Algorithm::kSha256, "SHA-256"},
    {Algorithm::kSha256Sess, "SHA-256-sess"},
    {Algorithm::kSha512_256, "SHA-512-256"},
    {Algorithm::kSha512_256Sess, "SHA-512-256-sess"},
}};

bool isSession(Algorithm a) {
  return a == Algorithm::kMd5Sess || a == Algorithm::kSha256Sess ||
         a == Algorithm::kSha512_256Sess;
}

// Our preference among hashes: RFC 8760 adds SHA-256 and SHA-512/256 to replace the obsolete
// MD5. -sess forms rank with their hash.
int strength(Algorithm a) {
  switch (a) {
    case Algorithm::kMd5:
    case Algorithm::kMd5Sess:
      return 1;
    case Algorithm::kSha256:
    case Algorithm::kSha256Sess:
      return 2;
    case Algorithm::kSha512_256:
    case Algorithm::kSha512_256Sess:
      return 3;
  }
  return 0;
}

const EVP_MD* digestOf(Algorithm a) {
  switch (a) {
    case Algorithm::kMd5:
    case Algorithm::kMd5Sess:
      return EVP_md5();
    case Algorithm::kSha256:
    case Algorithm::kSha256Sess:
      return EVP_sha256();
    case Algorithm::kSha512_256:
    case Algorithm::kSha512_256Sess:
      return EVP_sha512_256();
  }
  return nullptr;
}

// Lower-case hex of the hash of 'parts' joined with ':' (RFC 7616 §3.4.1 H(data), KD(secret,
// data) = H(secret ":" data)); nothing when OpenSSL lacks the hash (MD5 in a FIPS build).
std::optional<std::string> hexHash(Algorithm a, std::initializer_list<std::string_view> parts) {
  const EVP_MD* md = digestOf(a);
  if (md == nullptr) {
    return std::nullopt;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) {
    return std::nullopt;
  }
  bool ok = EVP_DigestInit_ex(ctx, md, nullptr) == 1;
  bool first = true;
  for (std::string_view part : parts) {
    if (!first) {
      ok = ok && EVP_DigestUpdate(ctx, ":", 1) == 1;
    }
    first = false;
    ok = ok && EVP_DigestUpdate(ctx, part.data(), part.size()) == 1;
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int length = 0;
  ok = ok && EVP_DigestFinal_ex(ctx, out.data(), &length) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) {
    return std::nullopt;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[out[i] >> 4]);
    hex.push_back(kHex[out[i] & 0x0f]);
  }
  return hex;
}

bool isControl(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u < 0x20 && c != '\t') || u == 0x7f;
}

bool hasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), isControl);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

// A peer's text in one of our error reasons: short and printable.
std::string shown(std::string_view s) {
  constexpr std::size_t kMax = 40;
  std::string out;
  for (char c : s.substr(0, kMax)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u >= 0x7f || c == '"' ? '?' : c);
  }
  if (s.size() > kMax) {
    out += "...";
  }
  return "\"" + out + "\"";
}

// RFC 3261 §25.1 quoted-string with quoted-pair for '"' and '\'.
std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

sip::Error refused(std::string reason) {
  return sip::Error{400, "digest challenge: " + std::move(reason)};
}

// Reads auth-params (RFC 7616 §3.3, RFC 7235 §2.1) from 'text' at 'pos'.
class ParamScanner {
 public:
  explicit ParamScanner(std::string_view text) : text_(text) {}

  [[nodiscard]] bool atEnd() const { return pos_ >= text_.size(); }
  [[nodiscard]] char peek() const { return text_[pos_]; }
  [[nodiscard]] std::size_t pos() const { return pos_; }
  void skip() { ++pos_; }
  void skipWs() {
    while (!atEnd() && isWs(peek())) {
      ++pos_;
    }
  }
  void skipSeparators() {
    while (!atEnd() && (isWs(peek()) || peek() == ',')) {
      ++pos_;
    }
  }
  std::string_view token() {
    const std::size_t start = pos_;
    while (!atEnd() && isTokenChar(peek())) {
      ++pos_;
    }
    return text_.substr(start, pos_ - start);
  }
  // A quoted-string (the opening quote is next) with its quoted-pairs resolved.
  sip::Result<std::string> quotedString(std::string_view name) {
    ++pos_;
    std::string out;
    while (!atEnd()) {
      char c = peek();
      ++pos_;
      if (c == '"') {
        return out;
      }
      if (c == '\\') {
        if (atEnd()) {
          break;
        }
        c = peek();
        ++pos_;
      }
      if (isControl(c)) {
        return refused(std::string(name) + " holds a control character");
      }
      if (out.size() == kMaxParamValueBytes) {
        return refused(std::string(name) + " is longer than " +
                       std::to_string(kMaxParamValueBytes) + " bytes");
      }
      out.push_back(c);
    }
    return refused(std::string(name) + " has no closing quote");
  }
  // A bare value: a token, leniently anything up to a blank, comma or quote (base64 nonces are
  // sent unquoted by some servers).
  sip::Result<std::string> bareValue(std::string_view name) {
    const std::size_t start = pos_;
    while (!atEnd() && !isWs(peek()) && peek() != ',' && peek() != '"') {
      if (isControl(peek())) {
        return refused(std::string(name) + " holds a control character");
      }
      ++pos_;
    }
    if (pos_ == start) {
      return refused(std::string(name) + " has no value");
    }
    if (pos_ - start > kMaxParamValueBytes) {
      return refused(std::string(name) + " is longer than " + std::to_string(kMaxParamValueBytes) +
                     " bytes");
    }
    return std::string(text_.substr(start, pos_ - start));
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

std::optional<Algorithm> algorithmFrom(std::string_view token) {
  for (const auto& [algorithm, name] : kAlgorithms) {
    if (sip::iequals(token, name)) {
      return algorithm;
    }
  }
  return std::nullopt;
}

// Stores one parameter's value in the challenge; unknown names are ignored (RFC 7616 §3.3).
std::optional<sip::Error> store(Challenge& c,
                                std::string_view lname,
                                std::string value,
                                bool& sawRealm) {
  if (lname == "realm") {
    c.realm = std::move(value);
    sawRealm = true;
  } else if (lname == "nonce") {
    c.nonce = std::move(value);
  } else if (lname == "opaque") {
    c.opaque = std::move(value);
  } else if (lname == "algorithm") {
    auto algorithm = algorithmFrom(value);
    if (!algorithm) {
      return refused("unsupported algorithm " + shown(value));
    }
    c.algorithm = *algorithm;
    c.algorithmGiven = true;
  } else if (lname == "qop") {
    // qop-options = "qop" EQUAL LDQUOT qop-value *("," qop-value) RDQUOT; unknown values ignored.
    c.qopGiven = true;
    std::string_view rest = value;
    while (!rest.empty()) {
      const auto end = rest.find_first_of(", \t");
      const auto item = rest.substr(0, end);
      c.qopAuth = c.qopAuth || sip::iequals(item, "auth");
      c.qopAuthInt = c.qopAuthInt || sip::iequals(item, "auth-int");
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    }
  } else if (lname == "stale") {
    c.stale = sip::iequals(value, "true");
  } else if (lname == "domain") {
    c.domain = std::move(value);
  } else if (lname == "userhash") {
    c.userhash = sip::iequals(value, "true");
  }
  return std::nullopt;
}

}  // namespace

std::string_view algorithmName(Algorithm algorithm) {
  for (const auto& [a, name] : kAlgorithms) {
    if (a == algorithm) {
      return name;
    }
  }
  return "MD5";
}

sip::Result<Challenge> parseChallenge(std::string_view value) {
  if (value.size() > kMaxChallengeBytes) {
    return refused("longer than " + std::to_string(kMaxChallengeBytes) + " bytes");
  }
  ParamScanner scan(value);
  scan.skipWs();
  const std::string_view scheme = scan.token();
  if (scheme.empty()) {
    return refused("no scheme");
  }
  if (!sip::iequals(scheme, "Digest")) {
    return refused("scheme " + shown(scheme) + " is not Digest");
  }
  if (!scan.atEnd() && !isWs(scan.peek())) {
    return refused("expected a blank after Digest");
  }
  Challenge challenge;
  bool sawRealm = false;
  std::vector<std::string> seen;
  while (true) {
    scan.skipSeparators();
    if (scan.atEnd()) {
      break;
    }
    const std::size_t start = scan.pos();
    const std::string_view name = scan.token();
    if (name.empty()) {
      return refused("expected a parameter name at byte " + std::to_string(start));
    }
    scan.skipWs();
    if (scan.atEnd() || scan.peek() != '=') {
      if (!seen.empty()) {
        break;  // "token token=": the next challenge's scheme (RFC 7235 §4.1 lists challenges)
      }
      return refused("expected '=' after " + shown(name));
    }
    scan.skip();
    scan.skipWs();
    if (scan.atEnd()) {
      return refused(shown(name) + " has no value");
    }
    std::string lname = lower(name);
    auto parsed = scan.peek() == '"' ? scan.quotedString(lname) : scan.bareValue(lname);
    if (!parsed) {
      return parsed.error();
    }
    // RFC 7235 §2.1: each parameter name only once per challenge.
    if (std::find(seen.begin(), seen.end(), lname) != seen.end()) {
      return refused(shown(name) + " given twice");
    }
    if (seen.size() == kMaxParams) {
      return refused("more than " + std::to_string(kMaxParams) + " parameters");
    }
    seen.push_back(lname);
    if (auto error = store(challenge, lname, std::move(parsed.value()), sawRealm)) {
      return *error;
    }
    // A missing comma before the next parameter is tolerated: the loop reads on.
  }
  // Without realm or nonce there is nothing to answer: both go into the response (RFC 7616
  // §3.4.1, §3.4.2).
  if (!sawRealm) {
    return refused("no realm");
  }
  if (challenge.nonce.empty()) {
    return refused("no nonce");
  }
  return challenge;
}

sip::Result<std::string> authorizationValue(const Challenge& challenge,
                                            const Credentials& credentials,
                                            const DigestRequest& request,
                                            std::string_view cnonce,
                                            std::uint32_t nc) {
  if (hasControl(credentials.username) || hasControl(credentials.password)) {
    return sip::Error{500, "digest: the username or password holds a control character"};
  }
  if (hasControl(request.uri) || hasControl(request.method)) {
    return sip::Error{500, "digest: the request URI or method holds a control character"};
  }
  const Algorithm a = challenge.algorithm;
  // RFC 7616 §3.4: the client picks one offered qop; auth when offered, auth-int otherwise.
  std::string_view qop;
  if (challenge.qopGiven) {
    if (challenge.qopAuth) {
      qop = "auth";
    } else if (challenge.qopAuthInt) {
      qop = "auth-int";
    } else {
      return refused("qop offers neither auth nor auth-int");
    }
  }
  // RFC 2617 §3.2.2: cnonce and nc exist only with qop, and the -sess HA1 and the userhash need a
  // cnonce or the RFC 7616 form; an RFC 2069 challenge cannot ask for them.
  if (qop.empty() && (isSession(a) || challenge.userhash)) {
    return refused(std::string(algorithmName(a)) + (challenge.userhash ? " with userhash" : "") +
                   " without qop");
  }
  if (!qop.empty() && (cnonce.empty() || hasControl(cnonce) ||
                       cnonce.find_first_of("\"\\") != std::string_view::npos)) {
    return sip::Error{500, "digest: unusable cnonce"};
  }
  const sip::Error noHash{500, "digest: " + std::string(algorithmName(a)) + " is not available"};

  // RFC 7616 §3.4.2: A1 = unq(username) ":" unq(realm) ":" passwd, and for -sess
  // H(that) ":" unq(nonce) ":" unq(cnonce).
  auto ha1 = hexHash(a, {credentials.username, challenge.realm, credentials.password});
  if (ha1 && isSession(a)) {
    ha1 = hexHash(a, {*ha1, challenge.nonce, cnonce});
  }
  // RFC 7616 §3.4.3: A2 = Method ":" request-uri, and ":" H(entity-body) for auth-int.
  std::optional<std::string> ha2;
  if (qop == "auth-int") {
    if (auto bodyHash = hexHash(a, {request.body})) {
      ha2 = hexHash(a, {request.method, request.uri, *bodyHash});
    }
  } else {
    ha2 = hexHash(a, {request.method, request.uri});
  }
  if (!ha1 || !ha2) {
    return noHash;
  }
  std::array<char, 9> ncText{};
  std::snprintf(ncText.data(), ncText.size(), "%08x", static_cast<unsigned>(nc));
  // RFC 7616 §3.4.1: response = KD(H(A1), nonce:nc:cnonce:qop:H(A2)); RFC 2069 (RFC 3261 §22.4
  // keeps it): KD(H(A1), nonce:H(A2)).
  auto response = qop.empty()
                      ? hexHash(a, {*ha1, challenge.nonce, *ha2})
                      : hexHash(a, {*ha1, challenge.nonce, ncText.data(), cnonce, qop, *ha2});
  // RFC 7616 §3.4.4: with userhash the username is H(unq(username) ":" unq(realm)).
  auto username = challenge.userhash ? hexHash(a, {credentials.username, challenge.realm})
                                     : std::optional<std::string>(credentials.username);
  if (!response || !username) {
    return noHash;
  }

  // The parameter order of RFC 3261 §22.4's example.
  std::string out = "Digest username=" + quoted(*username) + ", realm=" + quoted(challenge.realm) +
                    ", nonce=" + quoted(challenge.nonce) + ", uri=" + quoted(request.uri);
  if (!qop.empty()) {
    out += ", qop=" + std::string(qop) + ", nc=" + ncText.data() + ", cnonce=" + quoted(cnonce);
  }
  out += ", response=" + quoted(*response);
  if (challenge.opaque) {
    out += ", opaque=" + quoted(*challenge.opaque);
  }
  // Echoed only when the server named one: an RFC 2069 server may not know the parameter.
  if (challenge.algorithmGiven) {
    out += ", algorithm=" + std::string(algorithmName(a));
  }
  if (challenge.userhash) {
    out += ", userhash=true";
  }
  return out;
}

std::string randomCnonce() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    // A guessable cnonce weakens every answer: no fallback.
    throw std::runtime_error("RAND_bytes failed: no random cnonce");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0x0f]);
  }
  return out;
}

Client::Client(Credentials credentials, CnonceSource cnonce)
    : credentials_(std::move(credentials)), cnonce_(std::move(cnonce)) {}

std::string Client::nextCnonce() {
  return cnonce_ ? cnonce_() : randomCnonce();
}

sip::Result<Credential> Client::respond(const sip::Message& challenge,
                                        const sip::Message& request) {
  // RFC 3261 §22.2: a UAS asks with 401 and WWW-Authenticate; §22.3: a proxy with 407 and
  // Proxy-Authenticate.
  const bool proxy = challenge.status == 407;
  if (challenge.status != 401 && !proxy) {
    return sip::Error{500, "digest: " + std::to_string(challenge.status) +
                               " is not a challenge (401 or 407)"};
  }
  const std::string_view field = proxy ? "Proxy-Authenticate" : "WWW-Authenticate";
  if (credentials_.username.empty()) {
    return sip::Error{401, "no credentials to answer the " + std::to_string(challenge.status)};
  }
  std::optional<Challenge> best;
  std::optional<sip::Error> firstProblem;
  std::optional<std::string> otherRealm;
  for (std::string_view value : challenge.headers(field)) {
    auto parsed = parseChallenge(value);
    if (!parsed) {
      if (!firstProblem) {
        firstProblem = parsed.error();
      }
      continue;
    }
    if (!credentials_.realm.empty() && parsed->realm != credentials_.realm) {
      otherRealm = parsed->realm;
      continue;
    }
    // One we could not answer (e.g. -sess without qop) does not hide a weaker one we can.
    auto probe = authorizationValue(*parsed, credentials_, {request.method, "sip:x", ""}, "x", 1);
    if (!probe) {
      if (!firstProblem) {
        firstProblem = probe.error();
      }
      continue;
    }
    // RFC 8760 §2.4: the topmost one we support, unless local policy says otherwise; ours
    // prefers the stronger hash, the topmost among equals.
    if (!best || strength(parsed->algorithm) > strength(best->algorithm)) {
      best = std::move(parsed.value());
    }
  }
  if (!best) {
    if (otherRealm) {
      return sip::Error{401, "no credentials for realm " + shown(*otherRealm) +
                                 " (ours are for " + shown(credentials_.realm) + ")"};
    }
    if (firstProblem) {
      return sip::Error{401, "no usable challenge: " + firstProblem->reason};
    }
    return sip::Error{401, std::to_string(challenge.status) + " without " + std::string(field)};
  }

  // RFC 7616 §3.3: a nonce answered already and challenged again means the credentials were
  // refused, unless the server says stale (the password was right, the nonce old): retrying
  // would loop. A stale answer for the same nonce is tried once.
  auto known = std::find_if(answered_.begin(), answered_.end(),
                            [&](const Answered& a) { return a.nonce == best->nonce; });
  if (known != answered_.end() && (!best->stale || known->afterStale)) {
    return sip::Error{403, "credentials for realm " + shown(best->realm) + " refused"};
  }
  if (known != answered_.end()) {
    known->afterStale = true;
  } else {
    answered_.push_back(Answered{best->nonce, false});
    if (answered_.size() > kMaxAnswered) {
      answered_.pop_front();
    }
  }

  auto slot = std::find_if(remembered_.begin(), remembered_.end(),
                           [&](const Remembered& r) { return r.proxy == proxy; });
  if (slot == remembered_.end()) {
    remembered_.push_back(Remembered{proxy, std::move(*best), 0});
    slot = remembered_.end() - 1;
  } else {
    *slot = Remembered{proxy, std::move(*best), 0};
  }
  return answer(*slot, request);
}

sip::Result<Credential> Client::answer(Remembered& remembered, const sip::Message& request) {
  ++remembered.nc;
  auto value = authorizationValue(remembered.challenge, credentials_,
                                  DigestRequest{request.method, request.requestUri.str(),
                                                request.body},
                                  nextCnonce(), remembered.nc);
  if (!value) {
    return value.error();
  }
  return Credential{remembered.proxy ? "Proxy-Authorization" : "Authorization",
                    std::move(value.value())};
}

std::vector<Credential> Client::authorize(const sip::Message& request, std::string_view except) {
  std::vector<Credential> out;
  for (auto& remembered : remembered_) {
    const std::string_view name = remembered.proxy ? "Proxy-Authorization" : "Authorization";
    if (name == except) {
      continue;
    }
    if (auto credential = answer(remembered, request)) {
      out.push_back(std::move(credential.value()));
    }
  }
  return out;
}

void Client::reset() {
  remembered_.clear();
  answered_.clear();
}

}  // namespace confab::auth
