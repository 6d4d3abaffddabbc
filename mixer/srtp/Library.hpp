// The one place that talks to libsrtp2's process-wide state: srtp_init() exactly once, and
// libsrtp's status codes as text. Everything else in confab::srtp goes through here first.
#pragma once

#include <string>
#include <string_view>

namespace confab::srtp {

class Library {
 public:
  Library() = delete;

  // Initialises libsrtp (its crypto kernel and the self-tests of each cipher) once per process,
  // whichever thread asks first; later calls return the first call's outcome. False, with the
  // reason in *error when given, if libsrtp could not start. srtp_shutdown() is never called:
  // sessions may live until exit, and the kernel holds only static tables.
  static bool initialize(std::string* error = nullptr);

  // libsrtp's srtp_err_status_t value as a short name ("auth_fail"); never allocates, so the
  // packet path may use it for rate-limited logging.
  static std::string_view statusName(int status);

  // libsrtp's version string, "libsrtp2 2.5.0".
  static std::string_view version();
};

}  // namespace confab::srtp
