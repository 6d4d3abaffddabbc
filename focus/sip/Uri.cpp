#include "focus/sip/Uri.hpp"

#include <algorithm>
#include <cctype>

#include "focus/sip/Grammar.hpp"
#include "focus/sip/Message.hpp"

namespace confab::sip {

using namespace grammar;

const Param* findParam(const std::vector<Param>& params, std::string_view name) {
  for (const auto& p : params) {
    if (iequals(p.name, name)) {
      return &p;
    }
  }
  return nullptr;
}

std::string unescape(std::string_view text) {
  auto hex = [](char c) {
    return isDigit(c) ? c - '0' : (c >= 'a' ? c - 'a' + 10 : c - 'A' + 10);
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && isHex(text[i + 1]) && isHex(text[i + 2])) {
      out.push_back(static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

namespace {

bool validHostname(std::string_view h) {
  // hostname = *( domainlabel "." ) toplabel [ "." ]; labels of alphanum and '-'. Accept the
  // IPv4 dotted form through the same rule (it is a subset).
  if (h.empty() || h.size() > 255) {
    return false;
  }
  return std::all_of(h.begin(), h.end(),
                     [](char c) { return isAlnum(c) || c == '-' || c == '.' || c == '_'; });
}

bool validIpv6Reference(std::string_view h) {
  if (h.size() < 3 || h.front() != '[' || h.back() != ']') {
    return false;
  }
  h = h.substr(1, h.size() - 2);
  return std::all_of(h.begin(), h.end(), [](char c) { return isHex(c) || c == ':' || c == '.'; }) &&
         h.find(':') != std::string_view::npos;
}

}  // namespace

Result<std::pair<std::string, std::optional<uint16_t>>> parseHostPort(std::string_view text) {
  std::string_view host;
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) {
      return badRequest("unterminated IPv6 reference");
    }
    host = text.substr(0, close + 1);
    rest = text.substr(close + 1);
    if (!validIpv6Reference(host)) {
      return badRequest("invalid IPv6 reference");
    }
  } else {
    auto colon = text.find(':');
    host = text.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view{} : text.substr(colon);
    if (!validHostname(host)) {
      return badRequest("invalid host");
    }
  }
  std::optional<uint16_t> port;
  if (!rest.empty()) {
    if (rest.front() != ':') {
      return badRequest("invalid host");
    }
    auto value = parseDecimal(rest.substr(1), 65535);
    if (!value) {
      return badRequest("invalid port");
    }
    port = static_cast<uint16_t>(*value);
  }
  std::string lowered(host);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::pair{std::move(lowered), port};
}

namespace {

// ;name[=value] list of a URI (uri-parameters), each checked against paramchar.
Result<std::vector<Param>> parseUriParams(std::string_view text) {
  std::vector<Param> params;
  while (!text.empty()) {
    // text starts with ';'
    text.remove_prefix(1);
    auto end = text.find(';');
    std::string_view item = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end);
    auto eq = item.find('=');
    std::string_view name = item.substr(0, eq);
    if (name.empty() || !isEscapedRun(name, isParamChar)) {
      return badRequest("invalid URI parameter");
    }
    Param p{std::string(name), std::nullopt};
    if (eq != std::string_view::npos) {
      std::string_view value = item.substr(eq + 1);
      if (!isEscapedRun(value, isParamChar)) {
        return badRequest("invalid URI parameter value");
      }
      p.value = std::string(value);
    }
    params.push_back(std::move(p));
  }
  return params;
}

Result<std::vector<Param>> parseUriHeaders(std::string_view text) {
  std::vector<Param> headers;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find('&', start);
    std::string_view item = text.substr(start, end == std::string_view::npos ? text.npos : end - start);
    auto eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return badRequest("invalid URI header");
    }
    std::string_view name = item.substr(0, eq);
    std::string_view value = item.substr(eq + 1);
    if (!isEscapedRun(name, isHeaderChar) || !isEscapedRun(value, isHeaderChar)) {
      return badRequest("invalid URI header");
    }
    headers.push_back(Param{std::string(name), std::string(value)});
    if (end == std::string_view::npos) {
      break;
    }
    start = end + 1;
  }
  return headers;
}

}  // namespace

Result<Uri> Uri::parse(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return badRequest("URI has no scheme");
  }
  std::string_view scheme = text.substr(0, colon);
  // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )  (RFC 3261 §25.1)
  if (!isAlpha(scheme.front()) ||
      !std::all_of(scheme.begin(), scheme.end(),
                   [](char c) { return isAlnum(c) || c == '+' || c == '-' || c == '.'; })) {
    return badRequest("invalid URI scheme");
  }
  Uri uri;
  uri.schemeText.assign(scheme);
  std::transform(uri.schemeText.begin(), uri.schemeText.end(), uri.schemeText.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string_view rest = text.substr(colon + 1);
  if (uri.schemeText == "sip" || uri.schemeText == "sips") {
    uri.scheme = uri.schemeText == "sip" ? Scheme::kSip : Scheme::kSips;
  } else if (uri.schemeText == "tel") {
    uri.scheme = Scheme::kTel;
  } else {
    uri.scheme = Scheme::kOther;
    // Any other absoluteURI is kept opaque; it must still be free of blanks and controls.
    if (rest.empty() || std::any_of(rest.begin(), rest.end(), [](char c) {
          return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '<' || c == '>' ||
                 c == '"';
        })) {
      return badRequest("invalid URI");
    }
    uri.opaque.assign(rest);
    return uri;
  }

  if (uri.scheme == Scheme::kTel) {
    // RFC 3966: telephone-subscriber *( ";" par ); we keep the number and its parameters.
    auto semi = rest.find(';');
    std::string_view number = rest.substr(0, semi);
    if (number.empty() || !isEscapedRun(number, [](char c) {
          return isHex(c) || c == '+' || c == '-' || c == '.' || c == '(' || c == ')' ||
                 c == '*' || c == '#';
        })) {
      return badRequest("invalid tel URI");
    }
    uri.opaque.assign(number);
    uri.user.assign(number);
    if (semi != std::string_view::npos) {
      auto params = parseUriParams(rest.substr(semi));
      if (!params) {
        return params.error();
      }
      uri.params = std::move(*params);
    }
    return uri;
  }

  // sip / sips: [ userinfo "@" ] hostport uri-parameters [ headers ]. The user part may hold
  // '?', ';' and ':' (user-unreserved), while neither parameters nor headers may hold a bare '@',
  // so the last '@' ends the userinfo (RFC 4475 §3.1.1.2).
  auto at = rest.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    // a ':' starts the password.
    auto pw = userinfo.find(':');
    std::string_view user = userinfo.substr(0, pw);
    if (user.empty() || !isEscapedRun(user, isUserChar)) {
      return badRequest("invalid URI user part");
    }
    uri.user.assign(user);
    if (pw != std::string_view::npos) {
      std::string_view password = userinfo.substr(pw + 1);
      if (!isEscapedRun(password, isPasswordChar)) {
        return badRequest("invalid URI password");
      }
      uri.password = std::string(password);
    }
  }
  auto question = rest.find('?');
  std::string_view beforeHeaders = rest.substr(0, question);
  auto semi = beforeHeaders.find(';');
  if (!beforeHeaders.empty() && beforeHeaders.front() == '[') {
    auto close = beforeHeaders.find(']');
    semi = close == std::string_view::npos ? semi : beforeHeaders.find(';', close);
  }
  auto hostPort = parseHostPort(beforeHeaders.substr(0, semi));
  if (!hostPort) {
    return Error{400, "URI has an " + hostPort.error().reason};
  }
  uri.host = std::move(hostPort->first);
  uri.port = hostPort->second;
  if (semi != std::string_view::npos) {
    auto params = parseUriParams(beforeHeaders.substr(semi));
    if (!params) {
      return params.error();
    }
    uri.params = std::move(*params);
  }
  if (question != std::string_view::npos) {
    auto headers = parseUriHeaders(rest.substr(question + 1));
    if (!headers) {
      return headers.error();
    }
    uri.headers = std::move(*headers);
  }
  return uri;
}

std::string Uri::str() const {
  std::string out = schemeText;
  out.push_back(':');
  if (scheme == Scheme::kOther) {
    return out + opaque;
  }
  if (scheme == Scheme::kTel) {
    out += opaque;
  } else {
    if (!user.empty()) {
      out += user;
      if (password) {
        out += ':';
        out += *password;
      }
      out += '@';
    }
    out += hostPort();
  }
  for (const auto& p : params) {
    out += ';';
    out += p.name;
    if (p.value) {
      out += '=';
      out += *p.value;
    }
  }
  for (std::size_t i = 0; i < headers.size(); ++i) {
    out += i == 0 ? '?' : '&';
    out += headers[i].name;
    out += '=';
    out += headers[i].value.value_or("");
  }
  return out;
}

std::string Uri::unescapedUser() const { return unescape(user); }

std::string Uri::hostPort() const {
  std::string out = host;
  if (port) {
    out += ':';
    out += std::to_string(*port);
  }
  return out;
}

}  // namespace confab::sip
