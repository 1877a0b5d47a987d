// Metadata records from a controller leader, applied to a MetadataImage as a broker applies a
// FetchMetadataResponse (broker/cluster/controller_link.cc: the snapshot, if any, through
// FromSnapshot, then each entry through ApplyEntry) and as a follower controller applies its
// Raft log and snapshots (controller/service/metadata_state_machine.cc). Input: a serialized
// FetchMetadataResponse. Properties: applying never crashes, whatever the records say; and the
// image's snapshot rebuilds an image whose snapshot is the same.

#include <cstdio>
#include <string>

#include <google/protobuf/stubs/logging.h>

#include "protocol/metadata/controller_api.pb.h"
#include "protocol/metadata/image.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace sluice::metadata;

void CheckSnapshotRebuildsImage(const MetadataImage& image) {
  const MetadataSnapshot snapshot = ToSnapshot(image);
  absl::StatusOr<MetadataImage> rebuilt = FromSnapshot(snapshot);
  SLUICE_FUZZ_CHECK(rebuilt.ok());
  const MetadataSnapshot again = ToSnapshot(*rebuilt);
  if (again.SerializeAsString() != snapshot.SerializeAsString()) {
    std::fprintf(stderr, "snapshot:\n%s\nrebuilt from it:\n%s\n", snapshot.DebugString().c_str(),
                 again.DebugString().c_str());
    SLUICE_FUZZ_CHECK(!"the image's snapshot rebuilds the same image");
  }
}

}  // namespace

// Proto3 strings with invalid UTF-8 fail to parse (as in the processes) with a log line each.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FetchMetadataResponse response;
  if (!response.ParseFromArray(data, static_cast<int>(size))) return 0;
  // Offsets are Raft indexes, 1 and up. At offset 0 a registration's epoch 0 ("the record's
  // offset") leaves an epoch that no snapshot can state, so the property holds for real offsets.
  bool raft_offsets = true;
  MetadataImage image;
  if (response.has_snapshot()) {
    raft_offsets = response.snapshot().offset() >= 1;
    absl::StatusOr<MetadataImage> restored = FromSnapshot(response.snapshot());
    if (!restored.ok()) return 0;
    image = std::move(*restored);
  }
  for (const MetadataDelta& entry : response.entries()) {
    raft_offsets = raft_offsets && entry.offset() >= 1;
    image.ApplyEntry(entry.records(), entry.offset()).IgnoreError();
  }
  if (raft_offsets) CheckSnapshotRebuildsImage(image);
  return 0;
}
