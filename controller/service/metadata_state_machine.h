#pragma once
// The committed side of the controller: applies committed Raft entries (each a MetadataEntry)
// to the MetadataImage at offset = the entry's Raft index, keeps the most recent entries in
// memory to serve brokers' FetchMetadata, and turns the image into snapshots and back.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

#include "absl/status/status.h"
#include "protocol/metadata/controller_api.pb.h"
#include "protocol/metadata/image.h"

namespace sluice::controller {

class MetadataStateMachine {
 public:
  explicit MetadataStateMachine(size_t tail_entries) : tail_entries_(tail_entries) {}

  // Applies one committed entry. Never fails: an entry or record that cannot apply is logged
  // and skipped, the same way on every controller and broker, so a bad record cannot stop
  // the log from being replayed.
  void Apply(uint64_t index, const std::string& data);
  // Serialized MetadataSnapshot of the image.
  std::string TakeSnapshot() const;
  // Replaces the image with a serialized MetadataSnapshot; the tail restarts empty.
  absl::Status Restore(const std::string& data);

  const metadata::MetadataImage& image() const { return image_; }

  // Committed entries after `after_offset` (at most max_entries), or, when those are no longer
  // all kept in memory, the whole image as a snapshot.
  metadata::FetchMetadataResponse Fetch(int64_t after_offset, size_t max_entries) const;

 private:
  size_t tail_entries_;
  metadata::MetadataImage image_;
  std::deque<metadata::MetadataDelta> tail_;
  // Every entry with records after this offset is in tail_.
  int64_t tail_base_ = -1;
};

}  // namespace sluice::controller
