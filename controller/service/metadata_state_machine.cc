#include "controller/service/metadata_state_machine.h"

#include <algorithm>

#include "common/absl_compat.h"
#include "common/log.h"

namespace sluice::controller {

void MetadataStateMachine::Apply(uint64_t index, const std::string& data) {
  const int64_t offset = static_cast<int64_t>(index);
  metadata::MetadataEntry entry;
  if (!entry.ParseFromString(data)) {
    log::Error("controller: metadata log entry {} is not a MetadataEntry; skipped", offset);
    return;
  }
  if (entry.records_size() == 0) return;
  if (absl::Status status = image_.ApplyEntry(entry.records(), offset); !status.ok()) {
    log::Error("controller: a record of metadata log entry {} did not apply and was skipped: {}", offset, status);
  }
  metadata::MetadataDelta delta;
  delta.set_offset(offset);
  *delta.mutable_records() = std::move(*entry.mutable_records());
  tail_.push_back(std::move(delta));
  while (tail_.size() > tail_entries_) {
    tail_base_ = tail_.front().offset();
    tail_.pop_front();
  }
}

std::string MetadataStateMachine::TakeSnapshot() const { return metadata::ToSnapshot(image_).SerializeAsString(); }

absl::Status MetadataStateMachine::Restore(const std::string& data) {
  metadata::MetadataSnapshot snapshot;
  if (!snapshot.ParseFromString(data)) return absl::DataLossError("metadata snapshot does not parse");
  absl::StatusOr<metadata::MetadataImage> image = metadata::FromSnapshot(snapshot);
  if (!image.ok()) return image.status();
  image_ = std::move(*image);
  tail_.clear();
  tail_base_ = image_.offset();
  return absl::OkStatus();
}

metadata::FetchMetadataResponse MetadataStateMachine::Fetch(int64_t after_offset, size_t max_entries) const {
  metadata::FetchMetadataResponse response;
  response.set_committed_offset(image_.offset());
  if (after_offset >= image_.offset()) return response;
  if (after_offset < tail_base_) {
    *response.mutable_snapshot() = metadata::ToSnapshot(image_);
    return response;
  }
  auto next = std::partition_point(tail_.begin(), tail_.end(),
                                   [&](const metadata::MetadataDelta& delta) { return delta.offset() <= after_offset; });
  for (; next != tail_.end() && static_cast<size_t>(response.entries_size()) < max_entries; ++next) {
    *response.add_entries() = *next;
  }
  return response;
}

}  // namespace sluice::controller
