#include "broker/txn/producer_id_manager.h"

#include <optional>

namespace sluice::broker {

void ProducerIdManager::Next(Done done) {
  std::optional<int64_t> id;
  bool fetch = false;
  {
    std::lock_guard lock(mutex_);
    if (next_ < end_) {
      id = next_++;
    } else {
      waiting_.push_back(std::move(done));
      fetch = !fetching_;
      fetching_ = true;
    }
  }
  // Callbacks run outside the lock: they may ask for more ids.
  if (id) return done(*id);
  if (fetch) fetch_block_([this](absl::StatusOr<std::pair<int64_t, int32_t>> block) { OnBlock(std::move(block)); });
}

void ProducerIdManager::OnBlock(absl::StatusOr<std::pair<int64_t, int32_t>> block) {
  std::vector<std::pair<Done, absl::StatusOr<int64_t>>> answers;
  bool fetch_again = false;
  {
    std::lock_guard lock(mutex_);
    fetching_ = false;
    if (block.ok()) {
      next_ = block->first;
      end_ = block->first + block->second;
    }
    std::vector<Done> still_waiting;
    for (auto& done : waiting_) {
      if (!block.ok()) {
        answers.emplace_back(std::move(done), block.status());
      } else if (next_ < end_) {
        answers.emplace_back(std::move(done), next_++);
      } else {
        still_waiting.push_back(std::move(done));
      }
    }
    waiting_ = std::move(still_waiting);
    fetch_again = fetching_ = !waiting_.empty();
  }
  for (auto& [done, result] : answers) done(std::move(result));
  if (fetch_again) fetch_block_([this](absl::StatusOr<std::pair<int64_t, int32_t>> b) { OnBlock(std::move(b)); });
}

}  // namespace sluice::broker
