#include "broker/txn/broker_channels.h"

namespace sluice::broker::txn {

void BrokerChannels::Stop() {
  stopped_ = true;
  for (auto& [id, channel] : channels_) {
    if (channel.connection) channel.connection->Abandon();
  }
  channels_.clear();
}

void BrokerChannels::Enqueue(int32_t broker_id, Pending pending) {
  if (stopped_) return;
  Channel& channel = channels_[broker_id];
  if (!channel.connection) channel.connection = std::make_shared<LeaderConnection>(io_, security_);
  channel.queue.push_back(std::move(pending));
  Pump(broker_id);
}

void BrokerChannels::Pump(int32_t broker_id) {
  auto it = channels_.find(broker_id);
  if (stopped_ || it == channels_.end()) return;
  Channel& channel = it->second;
  while (!channel.busy && !channel.queue.empty()) {
    Pending pending = std::move(channel.queue.front());
    channel.queue.pop_front();
    auto image = metadata_.Current();
    const metadata::BrokerInfo* info = image->FindBroker(broker_id);
    if (info == nullptr || info->fenced) {
      pending.done(absl::UnavailableError("broker " + std::to_string(broker_id) + " is not live"));
      continue;
    }
    channel.busy = true;
    channel.connection->Call(info->host, static_cast<uint16_t>(info->port), std::move(pending.bytes),
                             pending.timeout_ms,
                             [this, broker_id, done = std::move(pending.done)](absl::StatusOr<std::string_view> frame) {
                               done(frame);
                               auto still = channels_.find(broker_id);
                               if (stopped_ || still == channels_.end()) return;
                               still->second.busy = false;
                               Pump(broker_id);
                             });
    return;
  }
}

}  // namespace sluice::broker::txn
