#pragma once
// Durable Raft state in RocksDB (storage/kv): the log, the hard state (term, vote, commit) and
// the latest snapshot, each in its own column family. Every save is one atomic batch, synced
// before it returns when `sync` is set, so a crash leaves either the old or the new state.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "controller/raft/raft.h"
#include "controller/raft/raft.pb.h"
#include "storage/kv/kv_store.h"

namespace sluice::raft {

class RaftStorage {
 public:
  static absl::StatusOr<std::unique_ptr<RaftStorage>> Open(const std::string& dir);

  // Writes the index-0 snapshot naming the initial voters, unless state already exists.
  absl::Status Bootstrap(const pb::Configuration& initial);
  // Everything Raft::Create needs; DataLoss when the stored log has a gap.
  absl::StatusOr<PersistentState> Load() const;
  // The durable parts of a Ready: snapshot (replacing the whole log), entries (replacing the
  // log from their first index on) and hard state.
  absl::Status SaveReady(const Ready& ready, bool sync = true);
  // A snapshot the host took itself: stored with the log prefix it covers removed.
  absl::Status SaveCompaction(const pb::Snapshot& snapshot, bool sync = true);

 private:
  explicit RaftStorage(std::unique_ptr<kv::KvStore> store) : store_(std::move(store)) {}
  std::unique_ptr<kv::KvStore> store_;
};

}  // namespace sluice::raft
