#pragma once
// A copy of the audit trail in a Kafka topic (`audit.log.topic`), the CloudTrail analogue that
// consumers, sinks and SIEMs read like any other topic. Each broker produces its lines (JSON,
// keyed by the broker id) with acks=all to one partition of the topic, which it creates on first
// use. The audit file stays the complete record: lines wait here while the topic cannot take
// them, at most kMaxQueuedLines, then the oldest are dropped with a log line. Delivery is at
// least once: a Produce retried after a lost answer may write lines twice.

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "broker/cluster/controller_link.h"
#include "broker/cluster/metadata_cache.h"
#include "broker/replication/leader_connection.h"
#include "broker/replication/replication_options.h"

namespace sluice::broker::audit {

class AuditTopic : public std::enable_shared_from_this<AuditTopic> {
 public:
  struct Options {
    std::string topic;
    int32_t partitions = 1;
    int32_t replication_factor = 3;  // fewer when fewer brokers are live
    int32_t broker_id = 0;
  };
  static constexpr size_t kMaxQueuedLines = 100'000;

  // Runs on `io` (not a shard: the controller link's loop); connects to the partition leader
  // with the inter-broker listener's `security`.
  AuditTopic(asio::io_context& io, Options options, MetadataCache& metadata, ControllerLink& controller,
             const ReplicationOptions::InterBrokerSecurity& security);

  // Thread-safe: newline-terminated lines, as the audit file received them.
  void Append(std::string_view lines);
  // On `io`'s thread or after it stopped; lines still queued stay only in the file.
  void Stop();

 private:
  void Pump();
  void EnsureTopic();
  void Send(const metadata::BrokerInfo& leader, int32_t partition);
  void OnProduced(absl::StatusOr<std::string_view> frame, int32_t correlation_id);
  void RetryLater();

  asio::io_context& io_;
  const Options options_;
  MetadataCache& metadata_;
  ControllerLink& controller_;
  std::shared_ptr<LeaderConnection> connection_;
  asio::steady_timer retry_;

  std::mutex mu_;
  std::deque<std::string> queue_;  // lines without their newline
  uint64_t dropped_ = 0;

  // io thread only.
  bool busy_ = false;  // a Produce or a CreateTopics in flight, or a retry pending
  bool stopped_ = false;
  std::vector<std::string> in_flight_;
  int32_t next_correlation_id_ = 1;
};

}  // namespace sluice::broker::audit
