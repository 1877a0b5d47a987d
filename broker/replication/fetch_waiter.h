#pragma once
// Fetches parked on a partition until it has something new for them: consumers wait for the
// high watermark to move, followers for the log end. One-shot: a woken fetch reads again and
// parks again if it still lacks data. Owner shard only, except Wake(), which a parked fetch
// implements thread-safely (it hops to its own connection thread).

#include <memory>
#include <vector>

namespace sluice::broker {

class FetchWaiter {
 public:
  virtual ~FetchWaiter() = default;
  virtual void Wake() = 0;
};

class FetchWaiters {
 public:
  void Add(const std::shared_ptr<FetchWaiter>& waiter) {
    // Pruning keeps an idle partition from collecting waiters of answered fetches.
    std::erase_if(waiters_, [](const std::weak_ptr<FetchWaiter>& w) { return w.expired(); });
    waiters_.push_back(waiter);
  }
  void WakeAll() {
    std::vector<std::weak_ptr<FetchWaiter>> waking;
    waking.swap(waiters_);
    for (auto& weak : waking) {
      if (auto waiter = weak.lock()) waiter->Wake();
    }
  }

 private:
  std::vector<std::weak_ptr<FetchWaiter>> waiters_;
};

}  // namespace sluice::broker
