#include "mixer/srtp/Library.hpp"

#include <srtp2/srtp.h>

#include <array>
#include <mutex>

#include "mixer/srtp/AesIcm.hpp"
#include "mixer/srtp/HmacSha1.hpp"

namespace confab::srtp {

namespace {

// Names in the order of srtp_err_status_t (srtp2/srtp.h), which is stable across libsrtp 2.x.
constexpr std::array<std::string_view, 28> kStatusNames = {
    "ok",         "fail",      "bad_param",   "alloc_fail",  "dealloc_fail", "init_fail",
    "terminus",   "auth_fail", "cipher_fail", "replay_fail", "replay_old",   "algo_fail",
    "no_such_op", "no_ctx",    "cant_check",  "key_expired", "socket_err",   "signal_err",
    "nonce_bad",  "read_fail", "write_fail",  "parse_err",   "encode_err",   "semaphore_err",
    "pfkey_err",  "bad_mki",   "pkt_idx_old", "pkt_idx_adv"};
static_assert(srtp_err_status_pkt_idx_adv == kStatusNames.size() - 1);

}  // namespace

bool Library::initialize(std::string* error) {
  // libsrtp keeps one global crypto kernel; srtp_init() is not safe to race, so call_once guards
  // it and remembers the outcome for every later caller.
  static std::once_flag once;
  static srtp_err_status_t initStatus = srtp_err_status_ok;
  std::call_once(once, [] {
    initStatus = srtp_init();
    if (initStatus == srtp_err_status_ok) {
      // Allocation-free HMAC-SHA1 and AES-NI counter mode; when refused (no AES-NI, a failed
      // self-test), libsrtp's own stay and work as before.
      installHmacSha1();
      installAesIcm();
    }
  });
  if (initStatus != srtp_err_status_ok) {
    if (error != nullptr) {
      *error = "srtp_init failed: ";
      *error += statusName(initStatus);
    }
    return false;
  }
  return true;
}

std::string_view Library::statusName(int status) {
  if (status < 0 || static_cast<std::size_t>(status) >= kStatusNames.size()) {
    return "unknown";
  }
  return kStatusNames[static_cast<std::size_t>(status)];
}

std::string_view Library::version() {
  const char* version = srtp_get_version_string();
  return version != nullptr ? std::string_view(version) : std::string_view();
}

}  // namespace confab::srtp
