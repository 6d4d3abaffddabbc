// A value or the reason it could not be had: parsers and checks on the signalling path return
// this instead of throwing. One place (focus/sip/Response.cpp) turns reasons into SIP responses.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace confab::sip {

// Why a message or a part of it was refused: the SIP status the element answers with and a
// reason phrase that names the problem (RFC 3261 §21.4: "400 Bad Request ... the reason phrase
// SHOULD identify the syntax problem in more detail").
struct Error {
  int status = 400;
  std::string reason;  // the detail: what was wrong, for people (not the bare reason phrase)
  // RFC 3261 §20.43 warn-code for the Warning header the detail travels in (errorResponse):
  // 3xx codes say what in a session description was unacceptable, 399 is anything else.
  int warnCode = 399;
};

template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  [[nodiscard]] const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

inline Error badRequest(std::string reason) { return Error{400, std::move(reason)}; }

}  // namespace confab::sip
