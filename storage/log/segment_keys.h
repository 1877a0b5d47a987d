#pragma once
// The start-up check of encryption at rest, run before any log opens: every encrypted segment
// must be readable with the configured master keys, and master-key rotation happens here.

#include <cstddef>
#include <filesystem>

#include "absl/status/statusor.h"
#include "storage/encryption/key_provider.h"

namespace sluice::storage {

struct SegmentKeySummary {
  size_t encrypted = 0;  // encrypted segment logs found
  size_t rewrapped = 0;  // of which rewrapped under the active master key
  size_t plaintext = 0;  // plaintext segment logs found
};

// Looks at every segment log (".log", and ".log.swap" of an interrupted compaction) in the
// partition directories under `data_dir`. With `keys`: each data key must unwrap under the key
// id its header names, and those wrapped under another key than the active one are rewrapped
// under it (data untouched, crash-safe: see EncryptedLog::CheckAndRewrap). Without `keys`, an
// encrypted segment is an error. kFailedPrecondition names the segment and key id.
absl::StatusOr<SegmentKeySummary> PrepareSegmentKeys(const std::filesystem::path& data_dir, const KeyProvider* keys);

}  // namespace sluice::storage
