#pragma once
// Writes a transaction's commit or abort markers (WriteTxnMarkers, API 27) to the leader of
// every partition of the transaction. Partitions are grouped by their leader in the current
// metadata, one request per leader; a partition whose leader is unknown or answered with a
// retriable error (NOT_LEADER_OR_FOLLOWER, a broken connection, ...) is tried again with the
// leader the metadata names then, with a growing pause, until every partition has its marker.
// A partition whose topic no longer exists needs no marker. Runs on the coordinator thread.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "broker/cluster/metadata_cache.h"
#include "broker/txn/broker_channels.h"
#include "broker/txn/transaction_metadata.h"

namespace sluice::broker::txn {

struct MarkerJob {
  int64_t producer_id = kNoProducerId;
  int16_t producer_epoch = kNoProducerEpoch;
  bool commit = false;
  int32_t coordinator_epoch = 0;
  std::set<TopicPartition> partitions;
};

class TxnMarkerSender {
 public:
  TxnMarkerSender(asio::io_context& io, MetadataCache& metadata, BrokerChannels& channels)
      : io_(io), metadata_(metadata), channels_(channels) {}

  // `done(true)` once every partition has the marker; `done(false)` when a leader refused it
  // because a newer coordinator or producer epoch exists there (this coordinator is stale).
  // One job per `key` (the transactional id); a new one replaces the old.
  void Send(const std::string& key, MarkerJob job, std::function<void(bool)> done);
  // Forgets the job (its `done` never runs), e.g. when the coordinator loses the partition.
  void Cancel(const std::string& key);
  void Stop();

 private:
  struct Pending {
    MarkerJob job;
    std::set<TopicPartition> remaining;
    std::function<void(bool)> done;
    int outstanding = 0;  // requests in flight this round
    bool fenced = false;
    int64_t backoff_ms = 50;
    std::unique_ptr<asio::steady_timer> timer;
  };

  void Round(const std::string& key, const std::shared_ptr<Pending>& pending);
  void RoundDone(const std::string& key, const std::shared_ptr<Pending>& pending);
  bool Current(const std::string& key, const std::shared_ptr<Pending>& pending) const;

  asio::io_context& io_;
  MetadataCache& metadata_;
  BrokerChannels& channels_;
  std::map<std::string, std::shared_ptr<Pending>> jobs_;
};

}  // namespace sluice::broker::txn
