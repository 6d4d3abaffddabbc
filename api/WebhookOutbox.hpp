// The webhooks' outbox writer (issue 13 item 3): each change of the conference model, and each key
// pressed in a conference, becomes the same JSON the event stream sends, written to the policy
// store once per webhook that wants it before the focus goes on, so that an event accepted is
// delivered even across a restart. Talking events are left out: several a second per room is
// too much for a durable write each. Runs on the focus's thread, with that thread's store.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "api/Webhook.hpp"
#include "focus/conference/Model.hpp"
#include "focus/room/Uas.hpp"
#include "policy/Store.hpp"

namespace confab::api {

class WebhookOutbox final : public conference::Listener, public room::ActivityListener {
 public:
  // Hears that events were queued for a webhook (the sender, to deliver them).
  class Listener {
   public:
    virtual void onQueued(int64_t webhookId) = 0;

   protected:
    ~Listener() = default;
  };
  using Log = std::function<void(const std::string& line)>;
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  WebhookOutbox(policy::Store& store,
                WebhookCounters& counters,
                Listener* listener = nullptr,
                Log log = {},
                Clock clock = {});

  // conference::Listener
  void onChange(const conference::Change& change) override;
  // room::ActivityListener: keys only.
  void onTalking(const room::Call& call, bool talking) override;
  void onKeyPressed(const room::Call& call, char key) override;

  [[nodiscard]] uint64_t writeFailures() const { return writeFailures_; }

 private:
  void enqueue(int64_t tenant, std::string_view type, const std::string& event);

  policy::Store& store_;
  WebhookCounters& counters_;
  Listener* listener_;
  Log log_;
  Clock clock_;
  // The tenant of each running conference, for key events (which name only the call).
  std::map<std::string, int64_t, std::less<>> tenants_;
  // Counted as the event hub counts (talking included), so that an event's "seq" is the one the
  // event stream gives the same event.
  uint64_t seq_ = 0;
  uint64_t writeFailures_ = 0;
};

}  // namespace confab::api
