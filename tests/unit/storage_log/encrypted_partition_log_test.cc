// PartitionLog over encrypted segments: reads, restarts, crash recovery, truncation, timestamps,
// and turning encryption on and off.
#include <catch2/catch.hpp>

#include <fstream>

#include "storage/encryption/local_key_file.h"
#include "storage/encryption/segment_format.h"
#include "storage/log/segment.h"
#include "storage/log/segment_keys.h"
#include "tests/unit/storage_log/log_test_util.h"

using namespace sluice;
using namespace sluice::storage;
using namespace sluice::storage::testing;

namespace {

std::shared_ptr<const KeyProvider> Keys() {
  auto keys = LocalKeyFile::Parse("k1 " + std::string(64, '1') + "\n", "test.keys");
  REQUIRE(keys.ok());
  return *keys;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A batch whose values are `marker` repeated: easy to look for in raw files.
std::string MarkedBatch(const std::string& marker, int records, int64_t timestamp) {
  kafka::RecordBatchBuilder builder(kafka::RecordBatchBuilder::Options{});
  for (int i = 0; i < records; ++i) builder.Add(std::to_string(i), marker, timestamp + i);
  return builder.Build().value();
}

bool AnyFileContains(const std::filesystem::path& dir, const std::string& needle) {
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (ReadFile(entry.path()).find(needle) != std::string::npos) return true;
  }
  return false;
}

struct Fixture {
  TempDir dir;
  ManualClock clock;
  LogConfig config = [] {
    LogConfig c;
    c.segment_bytes = 20000;
    c.index_interval_bytes = 500;
    return c;
  }();
  std::filesystem::path log_dir() const { return dir.path() / "t-0"; }
  absl::StatusOr<std::unique_ptr<PartitionLog>> TryOpen(std::shared_ptr<const KeyProvider> keys) {
    return PartitionLog::Open(log_dir(), config, clock, PartitionLog::Shutdown::kAsMarked, std::move(keys));
  }
  std::unique_ptr<PartitionLog> Open(std::shared_ptr<const KeyProvider> keys) {
    auto log = TryOpen(std::move(keys));
    REQUIRE(log.ok());
    return std::move(*log);
  }
};

const std::string kMarker = "PLAINTEXT-MARKER-0123456789";

}  // namespace

TEST_CASE("an encrypted log stores no plaintext, reads into memory and survives restarts") {
  Fixture f;
  auto keys = Keys();
  std::string written;
  {
    auto log = f.Open(keys);
    for (int i = 0; i < 200; ++i) {
      std::string batch = MarkedBatch(kMarker, 5, 1000 + i * 10);
      AppendCopy(*log, batch);
    }
    REQUIRE(log->segment_count() > 2);
    auto all = log->Read(0, 1 << 30, INT64_MAX, false);
    REQUIRE(all.ok());
    for (const auto& chunk : all->chunks) CHECK(!chunk.is_file());  // decrypted, no sendfile
    written = ReadSlices(*all);
    CHECK(ReadHeaders(*all).size() == 200);
    REQUIRE(log->Close().ok());
  }
  CHECK(!AnyFileContains(f.log_dir(), kMarker));
  CHECK(written.find(kMarker) != std::string::npos);
  auto log = f.Open(keys);
  CHECK(log->log_end_offset() == 1000);
  CHECK(ReadSlices(log->Read(0, 1 << 30, INT64_MAX, false).value()) == written);
  // Reads from any offset start at the batch holding it, through the index.
  for (int64_t offset : {0, 1, 499, 500, 777, 999}) {
    auto headers = ReadHeaders(log->Read(offset, 3000, INT64_MAX, true).value());
    REQUIRE(!headers.empty());
    CHECK(headers.front().base_offset <= offset);
    CHECK(headers.front().last_offset() >= offset);
  }
  auto found = log->OffsetForTimestamp(1000 + 120 * 10 + 2);
  REQUIRE(found.ok());
  REQUIRE(*found);
  CHECK((*found)->offset == 120 * 5 + 2);
  CHECK(log->MaxTimestamp()->offset == 999);
}

TEST_CASE("an encrypted log recovers from a crash with a torn tail") {
  Fixture f;
  auto keys = Keys();
  {
    auto log = f.Open(keys);
    for (int i = 0; i < 10; ++i) AppendCopy(*log, MarkedBatch(kMarker, 3, 1000));
    REQUIRE(log->Flush().ok());
    // No Close: a crash. Cut the last chunk short.
  }
  const auto path = LogSegment::LogPath(f.log_dir(), 0);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 10);
  auto log = f.Open(keys);
  CHECK(log->log_end_offset() == 27);
  CHECK(ReadHeaders(log->Read(0, 1 << 30, INT64_MAX, false).value()).size() == 9);
  CHECK(AppendCopy(*log, MarkedBatch(kMarker, 3, 2000)).base_offset == 27);
  REQUIRE(log->Close().ok());
  CHECK(ReadHeaders(f.Open(keys)->Read(0, 1 << 30, INT64_MAX, false).value()).size() == 10);
}

TEST_CASE("truncating an encrypted log to any batch boundary, then appending, reads back") {
  Fixture f;
  f.config.segment_bytes = 1 << 20;
  auto keys = Keys();
  auto log = f.Open(keys);
  // Batches larger than a chunk, so that batch boundaries fall inside chunks.
  for (int i = 0; i < 8; ++i) AppendCopy(*log, MakeLeaderBatch(i * 10, 1, 10, 1000, 9000), 1);
  for (int64_t offset : {75, 42, 30, 11, 0}) {
    INFO("truncate to " << offset);
    REQUIRE(log->TruncateTo(offset).ok());
    const int64_t leo = log->log_end_offset();
    CHECK(leo == offset / 10 * 10);
    CHECK(ReadHeaders(log->Read(0, 1 << 30, INT64_MAX, false).value()).size() == static_cast<size_t>(leo / 10));
    AppendFollower(*log, MakeLeaderBatch(leo, 2, 10, 1000, 9000));
    REQUIRE(log->Close().ok());
    log = f.Open(keys);
    CHECK(log->log_end_offset() == leo + 10);
    auto headers = ReadHeaders(log->Read(0, 1 << 30, INT64_MAX, false).value());
    CHECK(headers.size() == static_cast<size_t>(leo / 10 + 1));
    CHECK(headers.back().partition_leader_epoch == 2);
  }
}

TEST_CASE("turning encryption on keeps plaintext segments readable and encrypts what comes next") {
  Fixture f;
  {
    auto log = f.Open(nullptr);
    for (int i = 0; i < 5; ++i) AppendCopy(*log, MarkedBatch("old-plaintext-value", 3, 1000));
    REQUIRE(log->Close().ok());
  }
  auto keys = Keys();
  {
    auto log = f.Open(keys);
    REQUIRE(log->segment_count() == 2);  // the plaintext active segment was rolled
    for (int i = 0; i < 5; ++i) AppendCopy(*log, MarkedBatch(kMarker, 3, 2000));
    auto all = log->Read(0, 1 << 30, INT64_MAX, false).value();
    CHECK(ReadHeaders(all).size() == 10);
    CHECK(all.chunks.front().is_file());   // plaintext: sendfile as before
    CHECK(!all.chunks.back().is_file());   // encrypted: decrypted into memory
    REQUIRE(log->Close().ok());
  }
  CHECK(!AnyFileContains(f.log_dir(), kMarker));
  CHECK(AnyFileContains(f.log_dir(), "old-plaintext-value"));
  CHECK(ReadHeaders(f.Open(keys)->Read(0, 1 << 30, INT64_MAX, false).value()).size() == 10);

  // Turning it off again: the encrypted segment cannot be read, and the log says why.
  auto refused = f.TryOpen(nullptr);
  REQUIRE(!refused.ok());
  CHECK(refused.status().code() == absl::StatusCode::kFailedPrecondition);
  const std::string message(refused.status().message());
  CHECK(message.find("00000000000000000015.log") != std::string::npos);
  CHECK(message.find("'k1'") != std::string::npos);
  CHECK(message.find("log.encryption.enable") != std::string::npos);
}

TEST_CASE("an empty plaintext segment becomes encrypted when encryption is on") {
  Fixture f;
  { REQUIRE(f.Open(nullptr)->Close().ok()); }
  auto keys = Keys();
  auto log = f.Open(keys);
  AppendCopy(*log, MarkedBatch(kMarker, 3, 1000));
  CHECK(log->segment_count() == 1);
  REQUIRE(log->Close().ok());
  const std::string raw = ReadFile(LogSegment::LogPath(f.log_dir(), 0));
  CHECK(encrypted_segment::HasMagic(raw));
  CHECK(raw.find(kMarker) == std::string::npos);
}

TEST_CASE("retention and a raised log start delete encrypted segments like plaintext ones") {
  Fixture f;
  f.config.segment_bytes = 2000;
  f.config.retention_bytes = 5000;
  f.config.retention_ms = -1;  // by size only: the batches' timestamps are long past
  auto keys = Keys();
  auto log = f.Open(keys);
  for (int i = 0; i < 40; ++i) AppendCopy(*log, MarkedBatch(kMarker, 5, 1000 + i));
  const size_t before = log->segment_count();
  REQUIRE(log->ApplyRetention(f.clock.NowMs(), INT64_MAX).ok());
  CHECK(log->segment_count() < before);
  CHECK(log->size_bytes() <= 5000 + 2000);
  CHECK(log->log_start_offset() > 0);
  REQUIRE(log->AdvanceLogStartOffset(log->log_end_offset() - 3).ok());
  auto headers = ReadHeaders(log->Read(log->log_start_offset(), 1 << 20, INT64_MAX, true).value());
  REQUIRE(!headers.empty());
  CHECK(headers.back().last_offset() == log->log_end_offset() - 1);
}

TEST_CASE("the start-up check rewraps data keys under the active key and refuses what it cannot read") {
  Fixture f;
  f.config.segment_bytes = 2000;
  const std::string k1 = "k1 " + std::string(64, '1') + "\n";
  const std::string k2 = "k2 " + std::string(64, '2') + "\n";
  auto parse = [](const std::string& text) -> std::shared_ptr<const KeyProvider> {
    return LocalKeyFile::Parse(text, "test.keys").value();
  };
  {
    auto log = f.Open(parse(k1));
    for (int i = 0; i < 30; ++i) AppendCopy(*log, MarkedBatch(kMarker, 5, 1000));
    REQUIRE(log->Close().ok());
  }
  auto summary = PrepareSegmentKeys(f.dir.path(), parse(k1).get());
  REQUIRE(summary.ok());
  CHECK(summary->encrypted > 1);
  CHECK(summary->rewrapped == 0);

  auto rotated = PrepareSegmentKeys(f.dir.path(), parse(k1 + k2).get());
  REQUIRE(rotated.ok());
  CHECK(rotated->rewrapped == rotated->encrypted);
  CHECK(PrepareSegmentKeys(f.dir.path(), parse(k1 + k2).get())->rewrapped == 0);
  CHECK(ReadHeaders(f.Open(parse(k2))->Read(0, 1 << 30, INT64_MAX, false).value()).size() == 30);

  const std::string wrong_k2 = "k2 " + std::string(64, '3') + "\n";
  for (const auto& [keys, expected] : std::vector<std::pair<std::shared_ptr<const KeyProvider>, std::string>>{
           {parse(wrong_k2), "cannot unwrap its data key with master key id 'k2'"},
           {parse(k1), "master key id 'k2' is not in test.keys"},
           {nullptr, "is encrypted (master key id 'k2') but log.encryption.enable is false"}}) {
    auto refused = PrepareSegmentKeys(f.dir.path(), keys.get());
    REQUIRE(!refused.ok());
    CHECK(refused.status().code() == absl::StatusCode::kFailedPrecondition);
    const std::string message(refused.status().message());
    INFO(message);
    CHECK(message.find(expected) != std::string::npos);
    CHECK(message.find(".log") != std::string::npos);
  }
}
