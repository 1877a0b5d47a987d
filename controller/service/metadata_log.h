#pragma once
// The controller's committed metadata records, durable in RocksDB (key = big-endian offset).
// With a single voter an append is committed once it is synced; the Raft quorum replaces this
// with its replicated log without changing the controller above it.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/metadata/metadata.pb.h"

namespace rocksdb {
class DB;
}

namespace sluice::controller {

class MetadataLog {
 public:
  static absl::StatusOr<std::unique_ptr<MetadataLog>> Open(const std::filesystem::path& dir);
  ~MetadataLog();

  // Appends records atomically and syncs; returns the offset of the last one.
  absl::StatusOr<int64_t> Append(const std::vector<metadata::Record>& records);
  // Records with offsets in [from, from + max_records).
  absl::StatusOr<std::vector<metadata::Record>> Read(int64_t from, size_t max_records) const;
  int64_t end_offset() const { return end_offset_; }  // next offset to assign

 private:
  explicit MetadataLog(std::unique_ptr<rocksdb::DB> db, int64_t end_offset);
  std::unique_ptr<rocksdb::DB> db_;
  int64_t end_offset_;
};

}  // namespace sluice::controller
