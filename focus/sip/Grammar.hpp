// Character classes and small scanners from the RFC 3261 §25.1 ABNF, shared by the parsers.
#pragma once

#include <string_view>

namespace confab::sip::grammar {

constexpr bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool isDigit(char c) { return c >= '0' && c <= '9'; }
constexpr bool isAlnum(char c) { return isAlpha(c) || isDigit(c); }
constexpr bool isHex(char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
constexpr bool isWs(char c) { return c == ' ' || c == '\t'; }

// token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
constexpr bool isTokenChar(char c) {
  switch (c) {
    case '-': case '.': case '!': case '%': case '*': case '_':
    case '+': case '`': case '\'': case '~':
      return true;
    default:
      return isAlnum(c);
  }
}
// unreserved = alphanum / mark;  mark = - _ . ! ~ * ' ( )
constexpr bool isUnreserved(char c) {
  switch (c) {
    case '-': case '_': case '.': case '!': case '~': case '*': case '\'': case '(': case ')':
      return true;
    default:
      return isAlnum(c);
  }
}
// user-unreserved = & = + $ , ; ? /
constexpr bool isUserChar(char c) {
  switch (c) {
    case '&': case '=': case '+': case '$': case ',': case ';': case '?': case '/':
      return true;
    default:
      return isUnreserved(c);
  }
}
// password = *( unreserved / escaped / & = + $ , )
constexpr bool isPasswordChar(char c) {
  switch (c) {
    case '&': case '=': case '+': case '$': case ',':
      return true;
    default:
      return isUnreserved(c);
  }
}
// paramchar = param-unreserved / unreserved / escaped;  param-unreserved = [ ] / : & + $
constexpr bool isParamChar(char c) {
  switch (c) {
    case '[': case ']': case '/': case ':': case '&': case '+': case '$':
      return true;
    default:
      return isUnreserved(c);
  }
}
// hnv-unreserved = [ ] / ? : + $
constexpr bool isHeaderChar(char c) {
  switch (c) {
    case '[': case ']': case '/': case '?': case ':': case '+': case '$':
      return true;
    default:
      return isUnreserved(c);
  }
}

inline bool isToken(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (!isTokenChar(c)) {
      return false;
    }
  }
  return true;
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && isWs(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && isWs(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// Checks that every character is allowed by 'allowed' or is a %HH escape.
template <class Pred>
bool isEscapedRun(std::string_view s, Pred allowed) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size() || !isHex(s[i + 1]) || !isHex(s[i + 2])) {
        return false;
      }
      i += 2;
    } else if (!allowed(s[i])) {
      return false;
    }
  }
  return true;
}

}  // namespace confab::sip::grammar
