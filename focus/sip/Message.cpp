#include "focus/sip/Message.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "focus/sip/Grammar.hpp"

namespace confab::sip {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

namespace {

struct KnownHeader {
  std::string_view canonical;
  char compact;  // RFC 3261 §7.3.3 and later extensions; 0 when none
  bool list;     // comma-separated list values (RFC 3261 §7.3.1)
};

constexpr std::array kKnownHeaders{
    KnownHeader{"Accept", 0, true},           KnownHeader{"Accept-Contact", 'a', true},
    KnownHeader{"Accept-Encoding", 0, true},  KnownHeader{"Accept-Language", 0, true},
    KnownHeader{"Alert-Info", 0, true},       KnownHeader{"Allow", 0, true},
    KnownHeader{"Allow-Events", 'u', true},   KnownHeader{"Authorization", 0, false},
    KnownHeader{"Call-ID", 'i', false},       KnownHeader{"Call-Info", 0, true},
    KnownHeader{"Contact", 'm', true},        KnownHeader{"Content-Disposition", 0, false},
    KnownHeader{"Content-Encoding", 'e', true}, KnownHeader{"Content-Language", 0, true},
    KnownHeader{"Content-Length", 'l', false}, KnownHeader{"Content-Type", 'c', false},
    KnownHeader{"CSeq", 0, false},            KnownHeader{"Date", 0, false},
    KnownHeader{"Error-Info", 0, true},       KnownHeader{"Event", 'o', false},
    KnownHeader{"Expires", 0, false},         KnownHeader{"From", 'f', false},
    KnownHeader{"Identity", 'y', false},      KnownHeader{"In-Reply-To", 0, true},
    KnownHeader{"Max-Forwards", 0, false},    KnownHeader{"Min-Expires", 0, false},
    KnownHeader{"Min-SE", 0, false},          KnownHeader{"MIME-Version", 0, false},
    KnownHeader{"Organization", 0, false},    KnownHeader{"Path", 0, true},
    KnownHeader{"Priority", 0, false},        KnownHeader{"Proxy-Authenticate", 0, false},
    KnownHeader{"Proxy-Authorization", 0, false}, KnownHeader{"Proxy-Require", 0, true},
    KnownHeader{"RAck", 0, false},            KnownHeader{"Reason", 0, true},
    KnownHeader{"Record-Route", 0, true},     KnownHeader{"Refer-To", 'r', false},
    KnownHeader{"Referred-By", 'b', false},   KnownHeader{"Reject-Contact", 'j', true},
    KnownHeader{"Reply-To", 0, false},        KnownHeader{"Request-Disposition", 'd', true},
    KnownHeader{"Require", 0, true},          KnownHeader{"Retry-After", 0, false},
    KnownHeader{"Route", 0, true},            KnownHeader{"RSeq", 0, false},
    KnownHeader{"Server", 0, false},          KnownHeader{"Service-Route", 0, true},
    KnownHeader{"Session-Expires", 'x', false}, KnownHeader{"Subject", 's', false},
    KnownHeader{"Subscription-State", 0, false}, KnownHeader{"Supported", 'k', true},
    KnownHeader{"Timestamp", 0, false},       KnownHeader{"To", 't', false},
    KnownHeader{"Unsupported", 0, true},      KnownHeader{"User-Agent", 0, false},
    KnownHeader{"Via", 'v', true},            KnownHeader{"Warning", 0, true},
    KnownHeader{"WWW-Authenticate", 0, false},
};

const KnownHeader* findKnown(std::string_view name) {
  if (name.size() == 1) {
    const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(name[0])));
    for (const auto& h : kKnownHeaders) {
      if (h.compact == c) {
        return &h;
      }
    }
  }
  for (const auto& h : kKnownHeaders) {
    if (iequals(h.canonical, name)) {
      return &h;
    }
  }
  return nullptr;
}

}  // namespace

std::string canonicalHeaderName(std::string_view name) {
  const KnownHeader* known = findKnown(name);
  return known ? std::string(known->canonical) : std::string(name);
}

bool isListHeader(std::string_view canonicalName) {
  const KnownHeader* known = findKnown(canonicalName);
  return known != nullptr && known->list;
}

bool isStandardMethod(std::string_view method) {
  constexpr std::array<std::string_view, 14> kStandardMethods{
      "INVITE",    "ACK",    "BYE",     "CANCEL", "OPTIONS", "REGISTER", "PRACK",
      "SUBSCRIBE", "NOTIFY", "PUBLISH", "INFO",   "REFER",   "MESSAGE",  "UPDATE"};
  return std::find(kStandardMethods.begin(), kStandardMethods.end(), method) !=
         kStandardMethods.end();
}

Message Message::request(std::string method, Uri requestUri) {
  Message m;
  m.method = std::move(method);
  m.requestUri = std::move(requestUri);
  return m;
}

Message Message::response(int status, std::string reason) {
  Message m;
  m.status = status;
  m.reason = std::move(reason);
  return m;
}

const std::string* Message::header(std::string_view name) const {
  const std::string canonical = canonicalHeaderName(name);
  for (const auto& h : fields) {
    if (iequals(h.name, canonical)) {
      return &h.value;
    }
  }
  return nullptr;
}

std::vector<std::string_view> Message::headers(std::string_view name) const {
  const std::string canonical = canonicalHeaderName(name);
  std::vector<std::string_view> out;
  for (const auto& h : fields) {
    if (iequals(h.name, canonical)) {
      out.emplace_back(h.value);
    }
  }
  return out;
}

void Message::add(std::string_view name, std::string value) {
  fields.push_back(Header{canonicalHeaderName(name), std::move(value)});
}

void Message::set(std::string_view name, std::string value) {
  const std::string canonical = canonicalHeaderName(name);
  auto first = std::find_if(fields.begin(), fields.end(),
                            [&](const Header& h) { return iequals(h.name, canonical); });
  if (first == fields.end()) {
    fields.push_back(Header{canonical, std::move(value)});
    return;
  }
  first->value = std::move(value);
  fields.erase(std::remove_if(std::next(first), fields.end(),
                              [&](const Header& h) { return iequals(h.name, canonical); }),
               fields.end());
}

void Message::remove(std::string_view name) {
  const std::string canonical = canonicalHeaderName(name);
  fields.erase(std::remove_if(fields.begin(), fields.end(),
                              [&](const Header& h) { return iequals(h.name, canonical); }),
               fields.end());
}

bool Message::hasToken(std::string_view name, std::string_view token) const {
  for (auto value : headers(name)) {
    // List headers are stored one value per entry, but values we did not split (or that a
    // caller added whole) may still hold commas.
    std::size_t start = 0;
    while (start <= value.size()) {
      auto comma = value.find(',', start);
      auto item = grammar::trim(value.substr(start, comma == value.npos ? value.npos : comma - start));
      if (iequals(item, token)) {
        return true;
      }
      if (comma == value.npos) {
        break;
      }
      start = comma + 1;
    }
  }
  return false;
}

Result<Via> Message::topVia() const {
  const std::string* v = header("Via");
  if (v == nullptr) {
    return badRequest("missing Via");
  }
  return Via::parse(*v);
}

Result<NameAddr> Message::from() const {
  const std::string* v = header("From");
  if (v == nullptr) {
    return badRequest("missing From");
  }
  return NameAddr::parse(*v);
}

Result<NameAddr> Message::to() const {
  const std::string* v = header("To");
  if (v == nullptr) {
    return badRequest("missing To");
  }
  return NameAddr::parse(*v);
}

Result<CSeq> Message::cseq() const {
  const std::string* v = header("CSeq");
  if (v == nullptr) {
    return badRequest("missing CSeq");
  }
  return CSeq::parse(*v);
}

std::string Message::callId() const {
  const std::string* v = header("Call-ID");
  return v ? *v : std::string();
}

std::optional<std::string> Message::contentType() const {
  const std::string* v = header("Content-Type");
  if (v == nullptr) {
    return std::nullopt;
  }
  std::string type(grammar::trim(std::string_view(*v).substr(0, v->find(';'))));
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return type;
}

std::string Message::serialize() const {
  std::string out;
  out.reserve(512 + body.size());
  if (isRequest()) {
    out += method;
    out += ' ';
    out += requestUri.str();
    out += " SIP/2.0\r\n";
  } else {
    out += "SIP/2.0 ";
    out += std::to_string(status);
    out += ' ';
    out += reason;
    out += "\r\n";
  }
  for (const auto& h : fields) {
    out += h.name;
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
  out += "Content-Length: ";
  out += std::to_string(body.size());
  out += "\r\n\r\n";
  out += body;
  return out;
}

}  // namespace confab::sip
