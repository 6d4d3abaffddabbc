// The rooms callers reach, read from the policy store at call time: the tenant that owns the
// Request-URI's domain, then its room with that user part. Each lookup is one query on
// the SIP thread's own connection (SQLite in WAL mode: an operator's write never makes it wait).
#pragma once

#include "policy/Room.hpp"
#include "policy/Store.hpp"

namespace confab::policy {

class StoreRooms final : public RoomSource {
 public:
  // 'defaultTenant': the tenant whose rooms keep their plain number as their live name (the
  // command line's rooms); other tenants' rooms are named USER@TENANT.
  // 'requireSrtp': every room refuses plain RTP (the bridge's --require-srtp).
  StoreRooms(const Store& store, int64_t defaultTenant, bool requireSrtp = false)
      : store_(store), default_(defaultTenant), requireSrtp_(requireSrtp) {}

  [[nodiscard]] std::optional<Room> find(std::string_view user,
                                         std::string_view domain) const override;
  [[nodiscard]] std::optional<Role> checkPin(const Room& room, std::string_view pin) const override;

  // The call-time view of a stored room.
  [[nodiscard]] static Room toRoom(const StoredRoom& stored,
                                   const Tenant& tenant,
                                   bool defaultTenant);

 private:
  const Store& store_;
  int64_t default_;
  bool requireSrtp_;
};

}  // namespace confab::policy
