#include "focus/sip/Headers.hpp"

#include <algorithm>
#include <cctype>

#include "focus/sip/Grammar.hpp"
#include "focus/sip/Message.hpp"

namespace confab::sip {

using namespace grammar;

std::optional<uint64_t> parseDecimal(std::string_view text, uint64_t max) {
  if (text.empty()) {
    return std::nullopt;
  }
  // Leading zeros are allowed ("0068", RFC 4475 §3.1.1.1) and carry no value.
  while (text.size() > 1 && text.front() == '0') {
    text.remove_prefix(1);
  }
  uint64_t value = 0;
  for (char c : text) {
    if (!isDigit(c)) {
      return std::nullopt;
    }
    const auto digit = static_cast<uint64_t>(c - '0');
    if (digit > max || value > (max - digit) / 10) {
      return std::nullopt;
    }
    value = value * 10 + digit;
  }
  return value;
}

namespace {

// Reads a quoted-string starting at text[pos] == '"'. Returns the unquoted content and moves pos
// past the closing quote; nullopt when the quote is never closed (RFC 4475 §3.1.2.6).
std::optional<std::string> readQuoted(std::string_view text, std::size_t& pos) {
  std::string out;
  ++pos;
  while (pos < text.size()) {
    char c = text[pos];
    if (c == '\\') {
      if (pos + 1 >= text.size()) {
        return std::nullopt;
      }
      out.push_back(text[pos + 1]);
      pos += 2;
    } else if (c == '"') {
      ++pos;
      return out;
    } else if (c == '\r' || c == '\n') {
      return std::nullopt;
    } else {
      out.push_back(c);
      ++pos;
    }
  }
  return std::nullopt;
}

void skipWs(std::string_view text, std::size_t& pos) {
  while (pos < text.size() && isWs(text[pos])) {
    ++pos;
  }
}

// *( SEMI generic-param ), generic-param = token [ EQUAL gen-value ],
// gen-value = token / host / quoted-string. LWS is allowed around ';' and '='.
Result<std::vector<Param>> parseHeaderParams(std::string_view text) {
  std::vector<Param> params;
  std::size_t pos = 0;
  skipWs(text, pos);
  while (pos < text.size()) {
    if (text[pos] != ';') {
      return badRequest("unexpected character after value");
    }
    ++pos;
    skipWs(text, pos);
    std::size_t start = pos;
    while (pos < text.size() && isTokenChar(text[pos])) {
      ++pos;
    }
    if (pos == start) {
      return badRequest("empty parameter");
    }
    Param p{std::string(text.substr(start, pos - start)), std::nullopt};
    skipWs(text, pos);
    if (pos < text.size() && text[pos] == '=') {
      ++pos;
      skipWs(text, pos);
      if (pos < text.size() && text[pos] == '"') {
        std::size_t quoteStart = pos;
        if (!readQuoted(text, pos)) {
          return badRequest("unterminated quoted parameter");
        }
        p.value = std::string(text.substr(quoteStart, pos - quoteStart));
      } else {
        start = pos;
        // host values may be IPv6 references: allow '[' ']' ':' as well as token characters.
        while (pos < text.size() &&
               (isTokenChar(text[pos]) || text[pos] == '[' || text[pos] == ']' ||
                text[pos] == ':')) {
          ++pos;
        }
        if (pos == start) {
          return badRequest("empty parameter value");
        }
        p.value = std::string(text.substr(start, pos - start));
      }
      skipWs(text, pos);
    }
    params.push_back(std::move(p));
  }
  return params;
}

void appendParams(std::string& out, const std::vector<Param>& params) {
  for (const auto& p : params) {
    out += ';';
    out += p.name;
    if (p.value) {
      out += '=';
      out += *p.value;
    }
  }
}

void setParamIn(std::vector<Param>& params, std::string_view name,
                std::optional<std::string> value) {
  for (auto& p : params) {
    if (iequals(p.name, name)) {
      p.value = std::move(value);
      return;
    }
  }
  params.push_back(Param{std::string(name), std::move(value)});
}

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

}  // namespace

Result<Via> Via::parse(std::string_view value) {
  value = trim(value);
  std::size_t pos = 0;
  auto readToken = [&]() {
    skipWs(value, pos);
    std::size_t start = pos;
    while (pos < value.size() && isTokenChar(value[pos])) {
      ++pos;
    }
    std::string_view t = value.substr(start, pos - start);
    skipWs(value, pos);
    return t;
  };
  auto expectSlash = [&]() {
    if (pos < value.size() && value[pos] == '/') {
      ++pos;
      return true;
    }
    return false;
  };
  // sent-protocol = protocol-name SLASH protocol-version SLASH transport (RFC 3261 §20.42)
  std::string_view name = readToken();
  if (name.empty() || !expectSlash()) {
    return badRequest("malformed Via sent-protocol");
  }
  std::string_view version = readToken();
  if (version.empty() || !expectSlash()) {
    return badRequest("malformed Via sent-protocol");
  }
  std::string_view transport = readToken();
  if (transport.empty()) {
    return badRequest("malformed Via transport");
  }
  Via via;
  via.protocol = upper(name) + "/" + std::string(version);
  via.transport = upper(transport);
  skipWs(value, pos);
  std::size_t start = pos;
  // sent-by ends at the first ';' or blank outside an IPv6 reference.
  bool inBracket = false;
  while (pos < value.size()) {
    char c = value[pos];
    if (c == '[') {
      inBracket = true;
    } else if (c == ']') {
      inBracket = false;
    } else if (!inBracket && (c == ';' || isWs(c))) {
      break;
    }
    ++pos;
  }
  std::string_view sentBy = value.substr(start, pos - start);
  // LWS is allowed around the ':' of sent-by's port in practice; keep strict otherwise.
  auto hostPort = parseHostPort(sentBy);
  if (sentBy.empty() || !hostPort) {
    return badRequest("malformed Via sent-by");
  }
  via.host = std::move(hostPort->first);
  via.port = hostPort->second;
  auto params = parseHeaderParams(value.substr(pos));
  if (!params) {
    return badRequest("malformed Via parameters: " + params.error().reason);
  }
  via.params = std::move(*params);
  return via;
}

std::string Via::str() const {
  std::string out = protocol + "/" + transport + " " + host;
  if (port) {
    out += ':';
    out += std::to_string(*port);
  }
  appendParams(out, params);
  return out;
}

std::string Via::branch() const {
  const Param* p = param("branch");
  return p && p->value ? *p->value : std::string();
}

void Via::setParam(std::string_view name, std::optional<std::string> value) {
  setParamIn(params, name, std::move(value));
}

Result<NameAddr> NameAddr::parse(std::string_view value) {
  value = trim(value);
  NameAddr na;
  if (value == "*") {
    na.star = true;
    return na;
  }
  std::size_t pos = 0;
  std::string_view addrSpec;
  // Find '<' outside a quoted display name.
  std::size_t laquot = std::string_view::npos;
  if (!value.empty() && value.front() == '"') {
    std::size_t q = 0;
    auto display = readQuoted(value, q);
    if (!display) {
      return badRequest("unterminated quoted display name");
    }
    na.displayName = std::move(*display);
    skipWs(value, q);
    if (q >= value.size() || value[q] != '<') {
      return badRequest("display name without <URI>");
    }
    laquot = q;
  } else {
    laquot = value.find('<');
    if (laquot != std::string_view::npos) {
      // display-name = *(token LWS): unquoted names may only hold tokens (RFC 4475 §3.1.2.15).
      std::string_view display = trim(value.substr(0, laquot));
      for (char c : display) {
        if (!isTokenChar(c) && !isWs(c)) {
          return badRequest("invalid character in unquoted display name");
        }
      }
      if (!display.empty()) {
        na.displayName = std::string(display);
      }
    }
  }
  if (laquot != std::string_view::npos) {
    auto raquot = value.find('>', laquot);
    if (raquot == std::string_view::npos) {
      return badRequest("missing '>'");
    }
    addrSpec = value.substr(laquot + 1, raquot - laquot - 1);
    pos = raquot + 1;
    if (addrSpec.empty() || isWs(addrSpec.front()) || isWs(addrSpec.back())) {
      // RFC 4475 §3.1.2.14: no blanks inside the angle brackets.
      return badRequest("blank inside <URI>");
    }
  } else {
    // addr-spec form: the URI may hold no ';', ',' or '?' (RFC 3261 §20.10); what follows ';'
    // are header parameters.
    auto semi = value.find(';');
    addrSpec = trim(value.substr(0, semi));
    pos = semi == std::string_view::npos ? value.size() : semi;
    if (addrSpec.find_first_of(",? \t") != std::string_view::npos) {
      return badRequest("URI with '?' or ',' must be in <>");
    }
  }
  auto uri = Uri::parse(addrSpec);
  if (!uri) {
    return uri.error();
  }
  na.uri = std::move(*uri);
  auto params = parseHeaderParams(value.substr(pos));
  if (!params) {
    return params.error();
  }
  na.params = std::move(*params);
  return na;
}

std::string NameAddr::str() const {
  if (star) {
    return "*";
  }
  std::string out;
  if (displayName) {
    out += '"';
    for (char c : *displayName) {
      if (c == '"' || c == '\\') {
        out += '\\';
      }
      out += c;
    }
    out += "\" ";
  }
  out += '<';
  out += uri.str();
  out += '>';
  appendParams(out, params);
  return out;
}

std::string NameAddr::tag() const {
  const Param* p = param("tag");
  return p && p->value ? *p->value : std::string();
}

void NameAddr::setParam(std::string_view name, std::optional<std::string> value) {
  setParamIn(params, name, std::move(value));
}

Result<CSeq> CSeq::parse(std::string_view value) {
  value = trim(value);
  std::size_t pos = 0;
  while (pos < value.size() && isDigit(value[pos])) {
    ++pos;
  }
  auto number = parseDecimal(value.substr(0, pos), 0xFFFFFFFFull);
  if (!number) {
    return badRequest("invalid CSeq number");
  }
  std::string_view method = trim(value.substr(pos));
  if (pos == value.size() || !isWs(value[pos]) || !isToken(method)) {
    return badRequest("invalid CSeq method");
  }
  return CSeq{static_cast<uint32_t>(*number), std::string(method)};
}

std::string CSeq::str() const { return std::to_string(number) + " " + method; }

}  // namespace confab::sip
