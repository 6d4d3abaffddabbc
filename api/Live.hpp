// What the API sees and steers of the running bridge beyond the policy store: the focus, which
// owns the live conferences and tells the mixer (the API never reaches the mixer itself). The
// router works without it (unit tests, fuzzing answer the store routes only); confab passes
// one.
#pragma once

#include <filesystem>

#include "focus/register/Registration.hpp"
#include "focus/room/Uas.hpp"
#include "focus/transport/TransportLayer.hpp"
#include "mixer/engine/Control.hpp"

namespace confab::api {

struct Live {
  room::Uas& calls;
  // Recordings are written here, on the machine the mixer runs on.
  std::filesystem::path recordings;
  // Only files in this folder may be played into rooms (by name, never by path).
  std::filesystem::path media;
  // The room addresses the focus registers with PBXs (--register); null: none shown.
  const std::vector<std::unique_ptr<registration::Registration>>* registrations = nullptr;
  // What the SIP transports received, refused and dropped; null: not shown.
  const transport::TransportCounters* transport = nullptr;
};

}  // namespace confab::api
