#pragma once
// Helpers for the storage log tests: unique temp directories, batch construction, slice reading.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "protocol/kafka/batch/record_batch_builder.h"
#include "protocol/kafka/batch/validate.h"
#include "storage/log/partition_log.h"

namespace sluice::storage::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sluice-log-test-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string MakeBatch(int records, int64_t timestamp, size_t value_size = 20,
                             kafka::Compression compression = kafka::Compression::kNone) {
  kafka::RecordBatchBuilder builder(kafka::RecordBatchBuilder::Options{.compression = compression});
  for (int i = 0; i < records; ++i) {
    std::string key = std::to_string(i);
    builder.Add(key, std::string(value_size, static_cast<char>('a' + i % 26)), timestamp + i);
  }
  return builder.Build().value();
}

// A batch as a leader stored it: offsets from `base_offset`, stamped with `epoch`.
inline std::string MakeLeaderBatch(int64_t base_offset, int32_t epoch, int records, int64_t timestamp = 1000,
                                   size_t value_size = 20) {
  kafka::RecordBatchBuilder builder(
      kafka::RecordBatchBuilder::Options{.base_offset = base_offset, .partition_leader_epoch = epoch});
  for (int i = 0; i < records; ++i) builder.Add(std::to_string(i), std::string(value_size, 'v'), timestamp + i);
  return builder.Build().value();
}

// Appends a copy of `batch` as the leader of `leader_epoch` and returns the result (the copy
// is patched by the log).
inline AppendResult AppendCopy(PartitionLog& log, std::string batch, int32_t leader_epoch = kNoLeaderEpoch) {
  auto result = log.Append(std::span<char>(batch.data(), batch.size()), leader_epoch);
  REQUIRE(result.ok());
  return *result;
}

inline AppendResult AppendFollower(PartitionLog& log, const std::string& batches) {
  auto result = log.AppendAsFollower(batches);
  REQUIRE(result.ok());
  return *result;
}

inline std::string ReadSlices(const ReadResult& result) {
  std::string out;
  for (const auto& chunk : result.chunks) {
    if (!chunk.is_file()) {
      out += chunk.memory;  // decrypted from an encrypted segment
      continue;
    }
    const kafka::FileSlice& slice = chunk.file;
    std::string part(static_cast<size_t>(slice.size), '\0');
    REQUIRE(::pread(slice.file->fd(), part.data(), part.size(), slice.position) == slice.size);
    out += part;
  }
  REQUIRE(static_cast<int64_t>(out.size()) == result.bytes);
  return out;
}

// Headers of the batches a read returned, validated (CRC included).
inline std::vector<kafka::RecordBatchHeader> ReadHeaders(const ReadResult& result) {
  if (result.bytes == 0) return {};
  auto headers = kafka::ValidateBatches(ReadSlices(result), 1 << 30);
  REQUIRE(headers.ok());
  return *headers;
}

}  // namespace sluice::storage::testing
