#include "controller/raft/raft_storage_rocksdb.h"

#include <string_view>

namespace sluice::raft {
namespace {

constexpr std::string_view kLogFamily = "raft_log";
constexpr std::string_view kMetaFamily = "raft_meta";
constexpr std::string_view kSnapshotFamily = "raft_snapshot";
constexpr std::string_view kHardStateKey = "hard_state";
constexpr std::string_view kSnapshotKey = "snapshot";

// Big-endian, so byte order is index order.
std::string IndexKey(uint64_t index) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i) {
    key[static_cast<size_t>(i)] = static_cast<char>(index & 0xff);
    index >>= 8;
  }
  return key;
}

const std::string kEndOfLog = std::string(8, '\xff');

}  // namespace

absl::StatusOr<std::unique_ptr<RaftStorage>> RaftStorage::Open(const std::string& dir) {
  absl::StatusOr<std::unique_ptr<kv::KvStore>> store = kv::KvStore::Open(
      dir, {std::string(kLogFamily), std::string(kMetaFamily), std::string(kSnapshotFamily)});
  if (!store.ok()) return store.status();
  return std::unique_ptr<RaftStorage>(new RaftStorage(std::move(*store)));
}

absl::Status RaftStorage::Bootstrap(const pb::Configuration& initial) {
  absl::StatusOr<std::string> existing = store_->Get(kSnapshotFamily, kSnapshotKey);
  if (existing.ok()) return absl::OkStatus();
  if (!absl::IsNotFound(existing.status())) return existing.status();
  pb::Snapshot snapshot;
  *snapshot.mutable_meta()->mutable_config() = initial;
  return store_->Put(kSnapshotFamily, kSnapshotKey, snapshot.SerializeAsString());
}

absl::StatusOr<PersistentState> RaftStorage::Load() const {
  PersistentState state;
  absl::StatusOr<std::string> hs = store_->Get(kMetaFamily, kHardStateKey);
  if (hs.ok()) {
    if (!state.hard_state.ParseFromString(*hs)) return absl::DataLossError("bad raft hard state");
  } else if (!absl::IsNotFound(hs.status())) {
    return hs.status();
  }
  absl::StatusOr<std::string> snap = store_->Get(kSnapshotFamily, kSnapshotKey);
  if (snap.ok()) {
    if (!state.snapshot.ParseFromString(*snap)) return absl::DataLossError("bad raft snapshot");
  } else if (!absl::IsNotFound(snap.status())) {
    return snap.status();
  }
  uint64_t expected = state.snapshot.meta().index() + 1;
  absl::Status corrupt;
  absl::Status scan = store_->Scan(
      kLogFamily, IndexKey(expected), {}, [&](std::string_view key, std::string_view value) {
        pb::Entry e;
        if (key != IndexKey(expected) || !e.ParseFromArray(value.data(), static_cast<int>(value.size())) ||
            e.index() != expected) {
          corrupt = absl::DataLossError("raft log is broken at index " + std::to_string(expected));
          return false;
        }
        state.entries.push_back(std::move(e));
        ++expected;
        return true;
      });
  if (!scan.ok()) return scan;
  if (!corrupt.ok()) return corrupt;
  return state;
}

absl::Status RaftStorage::SaveReady(const Ready& ready, bool sync) {
  kv::WriteBatch batch;
  if (ready.snapshot.has_value()) {
    batch.Put(kSnapshotFamily, kSnapshotKey, ready.snapshot->SerializeAsString());
    batch.DeleteRange(kLogFamily, IndexKey(0), kEndOfLog);
  }
  if (!ready.entries.empty()) {
    batch.DeleteRange(kLogFamily, IndexKey(ready.entries.front().index()), kEndOfLog);
    for (const pb::Entry& e : ready.entries) {
      batch.Put(kLogFamily, IndexKey(e.index()), e.SerializeAsString());
    }
  }
  if (ready.hard_state.has_value()) {
    batch.Put(kMetaFamily, kHardStateKey, ready.hard_state->SerializeAsString());
  }
  if (batch.empty()) return absl::OkStatus();
  return store_->Write(batch, kv::WriteOptions{.sync = sync});
}

absl::Status RaftStorage::SaveCompaction(const pb::Snapshot& snapshot, bool sync) {
  kv::WriteBatch batch;
  batch.Put(kSnapshotFamily, kSnapshotKey, snapshot.SerializeAsString());
  batch.DeleteRange(kLogFamily, IndexKey(0), IndexKey(snapshot.meta().index() + 1));
  return store_->Write(batch, kv::WriteOptions{.sync = sync});
}

}  // namespace sluice::raft
