#include "broker/txn/txn_marker_sender.h"

#include "common/absl_compat.h"
#include "common/log.h"
#include "protocol/kafka/messages/write_txn_markers.h"

namespace sluice::broker::txn {
namespace {

using kafka::ErrorCode;

constexpr int16_t kWriteTxnMarkersVersion = 1;
constexpr int64_t kRequestTimeoutMs = 30000;
constexpr int64_t kMaxBackoffMs = 1000;

}  // namespace

void TxnMarkerSender::Send(const std::string& key, MarkerJob job, std::function<void(bool)> done) {
  auto pending = std::make_shared<Pending>();
  pending->remaining = job.partitions;
  pending->job = std::move(job);
  pending->done = std::move(done);
  pending->timer = std::make_unique<asio::steady_timer>(io_);
  if (auto old = jobs_.find(key); old != jobs_.end()) old->second->timer->cancel();
  jobs_[key] = pending;
  Round(key, pending);
}

void TxnMarkerSender::Cancel(const std::string& key) {
  auto it = jobs_.find(key);
  if (it == jobs_.end()) return;
  it->second->timer->cancel();
  jobs_.erase(it);
}

void TxnMarkerSender::Stop() {
  for (auto& [key, pending] : jobs_) pending->timer->cancel();
  jobs_.clear();
}

bool TxnMarkerSender::Current(const std::string& key, const std::shared_ptr<Pending>& pending) const {
  auto it = jobs_.find(key);
  return it != jobs_.end() && it->second == pending;
}

void TxnMarkerSender::Round(const std::string& key, const std::shared_ptr<Pending>& pending) {
  auto image = metadata_.Current();
  std::map<int32_t, std::map<std::string, std::vector<int32_t>>> by_leader;
  for (auto it = pending->remaining.begin(); it != pending->remaining.end();) {
    const auto& [topic, partition] = *it;
    auto info = image->FindTopic(topic);
    if (!info || partition < 0 || partition >= static_cast<int32_t>(info->partitions.size())) {
      log::Info("transaction {}: {}-{} no longer exists; it needs no marker", key, topic, partition);
      it = pending->remaining.erase(it);
      continue;
    }
    const int32_t leader = info->partitions[partition].leader;
    if (leader >= 0) by_leader[leader][topic].push_back(partition);
    ++it;
  }
  pending->outstanding = static_cast<int>(by_leader.size());
  if (by_leader.empty()) return RoundDone(key, pending);
  for (auto& [leader, topics] : by_leader) {
    kafka::WriteTxnMarkersRequest request;
    kafka::WriteTxnMarkersRequest::WritableTxnMarker marker;
    marker.producer_id = pending->job.producer_id;
    marker.producer_epoch = pending->job.producer_epoch;
    marker.transaction_result = pending->job.commit;
    marker.coordinator_epoch = pending->job.coordinator_epoch;
    for (auto& [topic, partitions] : topics) marker.topics.push_back({.name = topic, .partition_indexes = partitions});
    request.markers.push_back(std::move(marker));
    channels_.Call<kafka::WriteTxnMarkersRequest, kafka::WriteTxnMarkersResponse>(
        leader, kWriteTxnMarkersVersion, request, kRequestTimeoutMs,
        [this, key, pending, leader](absl::StatusOr<kafka::WriteTxnMarkersResponse> response) {
          if (!Current(key, pending)) return;
          if (!response.ok()) {
            log::Warn("transaction {}: markers to broker {} failed ({}); retrying", key, leader, response.status());
          } else {
            for (const auto& result : response->markers) {
              for (const auto& topic : result.topics) {
                for (const auto& p : topic.partitions) {
                  const auto error = static_cast<ErrorCode>(p.error_code);
                  if (error == ErrorCode::kNone) {
                    pending->remaining.erase({topic.name, p.partition_index});
                  } else if (error == ErrorCode::kInvalidProducerEpoch ||
                             error == ErrorCode::kTransactionCoordinatorFenced) {
                    log::Warn("transaction {}: {}-{} refused its marker: {}", key, topic.name, p.partition_index,
                              kafka::ErrorName(error));
                    pending->fenced = true;
                  } else {
                    log::Info("transaction {}: marker for {}-{} failed ({}); retrying", key, topic.name,
                              p.partition_index, kafka::ErrorName(error));
                  }
                }
              }
            }
          }
          if (--pending->outstanding == 0) RoundDone(key, pending);
        });
  }
}

void TxnMarkerSender::RoundDone(const std::string& key, const std::shared_ptr<Pending>& pending) {
  if (pending->fenced || pending->remaining.empty()) {
    auto done = std::move(pending->done);
    jobs_.erase(key);
    done(!pending->fenced);
    return;
  }
  pending->timer->expires_after(std::chrono::milliseconds(pending->backoff_ms));
  pending->backoff_ms = std::min(kMaxBackoffMs, pending->backoff_ms * 2);
  pending->timer->async_wait([this, key, pending](const asio::error_code& ec) {
    if (!ec && Current(key, pending)) Round(key, pending);
  });
}

}  // namespace sluice::broker::txn
