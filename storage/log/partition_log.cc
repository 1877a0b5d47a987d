#include "storage/log/partition_log.h"

#include <algorithm>
#include <climits>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "protocol/kafka/batch/record_reader.h"
#include "storage/log/checkpoint.h"
#include "storage/log/file.h"
#include "storage/log/leader_epoch_checkpoint.h"
#include "storage/log/segment.h"

namespace sluice::storage {
namespace {

constexpr std::string_view kLogStartCheckpoint = "log-start-offset.checkpoint";
constexpr std::string_view kRecoveryPointCheckpoint = "recovery-point.checkpoint";
constexpr std::string_view kLeaderEpochCheckpoint = "leader-epoch-checkpoint";
constexpr std::string_view kHighWatermarkCheckpoint = "high-watermark.checkpoint";
constexpr std::string_view kCleanShutdownMarker = "clean-shutdown";
constexpr std::string_view kCleanShutdownContents = "sluice-clean-shutdown 1\n";
constexpr std::string_view kCleanedSuffix = ".cleaned";
constexpr std::string_view kSwapSuffix = ".swap";

std::filesystem::path SegmentFile(const std::filesystem::path& dir, int64_t base_offset, std::string_view extension,
                                  std::string_view suffix = "") {
  return LogSegment::FilePath(dir, base_offset, absl::StrCat(ToAbsl(extension), ToAbsl(suffix)));
}

// Moves the ".swap" files of a committed replacement over the segment's files. The log goes
// last, so until it is in place a ".log.swap" remains and recovery repeats this. An index
// without a ".swap" twin is removed instead: it may belong to the old log, and is rebuilt.
absl::Status CompleteSwap(const std::filesystem::path& dir, int64_t base_offset) {
  for (std::string_view extension : LogSegment::kExtensions) {
    std::filesystem::path swap = SegmentFile(dir, base_offset, extension, kSwapSuffix);
    std::filesystem::path final_path = SegmentFile(dir, base_offset, extension);
    if (std::filesystem::exists(swap)) {
      SLUICE_RETURN_IF_ERROR(RenameFile(swap, final_path));
    } else if (extension != ".log") {
      SLUICE_RETURN_IF_ERROR(RemoveFileIfPresent(final_path));
    }
  }
  return SyncDirectory(dir);
}

// Offsets in a segment are stored relative to its base in 32 bits.
constexpr int64_t kMaxRelativeOffset = INT32_MAX;
// Index positions are 32-bit, so a segment stays below 2 GiB whatever segment.bytes says.
constexpr int64_t kMaxSegmentBytes = INT32_MAX;

// Reads an optional checkpoint: nullopt when absent or damaged (a crash mid-replace cannot
// damage it, but a bad disk can; recovery then falls back to safe defaults).
std::optional<int64_t> ReadCheckpointOrWarn(const std::filesystem::path& path) {
  auto value = ReadOffsetCheckpoint(path);
  if (value.ok()) return *value;
  if (value.status().code() != absl::StatusCode::kNotFound) log::Warn("ignoring {}: {}", path.string(), value.status());
  return std::nullopt;
}

// One header per batch of `batches`, checking that the framing covers the data exactly.
absl::StatusOr<std::vector<kafka::RecordBatchHeader>> ParseFraming(std::string_view batches) {
  std::vector<kafka::RecordBatchHeader> headers;
  for (size_t position = 0; position < batches.size();) {
    std::string_view rest = batches.substr(position);
    auto header = kafka::ParseBatchHeader(rest);
    if (!header.ok()) return absl::InvalidArgumentError(header.status().message());
    if (header->total_size() > static_cast<int64_t>(rest.size()) || header->last_offset_delta < 0) {
      return absl::InvalidArgumentError("record batch framing does not match the data");
    }
    headers.push_back(*header);
    position += static_cast<size_t>(header->total_size());
  }
  if (headers.empty()) return absl::InvalidArgumentError("no record batches to append");
  return headers;
}

// Patches partition_leader_epoch in place; it lies outside the CRC, which stays valid.
void SetPartitionLeaderEpoch(char* batch, int32_t epoch) {
  auto value = static_cast<uint32_t>(epoch);
  char* field = batch + kafka::batch_layout::kPartitionLeaderEpoch;
  for (int i = 3; i >= 0; --i) {
    field[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
}

}  // namespace

PartitionLog::PartitionLog(std::filesystem::path dir, LogConfig config, const Clock& clock,
                           std::shared_ptr<const KeyProvider> keys)
    : dir_(std::move(dir)), clock_(clock), keys_(std::move(keys)), config_(config) {}

PartitionLog::~PartitionLog() = default;

absl::StatusOr<std::unique_ptr<PartitionLog>> PartitionLog::Open(std::filesystem::path dir, LogConfig config,
                                                                  const Clock& clock, Shutdown shutdown,
                                                                  std::shared_ptr<const KeyProvider> keys) {
  std::unique_ptr<PartitionLog> log(new PartitionLog(std::move(dir), config, clock, std::move(keys)));
  SLUICE_RETURN_IF_ERROR(log->Load(shutdown));
  return log;
}

absl::Status PartitionLog::RecoverInterruptedReplacements() {
  std::error_code error;
  std::vector<std::filesystem::path> cleaned;
  std::vector<int64_t> committed;
  std::vector<std::filesystem::path> stray_swaps;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, error)) {
    std::string name = entry.path().filename().string();
    if (name.ends_with(kCleanedSuffix)) {
      cleaned.push_back(entry.path());
    } else if (name.ends_with(kSwapSuffix)) {
      auto base = LogSegment::ParseLogFileName(std::string_view(name).substr(0, name.size() - kSwapSuffix.size()));
      if (base) {
        committed.push_back(*base);
      } else {
        stray_swaps.push_back(entry.path());
      }
    }
  }
  if (error) return absl::InternalError(absl::StrCat("list ", dir_.string(), ": ", error.message()));
  // Not committed (no ".log.swap"): the old segment is still whole.
  for (const auto& path : cleaned) SLUICE_RETURN_IF_ERROR(RemoveFileIfPresent(path));
  for (int64_t base : committed) {
    log::Warn("completing interrupted replacement of segment {}", LogSegment::LogPath(dir_, base).string());
    SLUICE_RETURN_IF_ERROR(CompleteSwap(dir_, base));
  }
  // Index ".swap" files of a committed replacement were moved by CompleteSwap; any left belong
  // to one that never reached its commit point.
  for (const auto& path : stray_swaps) SLUICE_RETURN_IF_ERROR(RemoveFileIfPresent(path));
  if (!cleaned.empty() || !stray_swaps.empty()) SLUICE_RETURN_IF_ERROR(SyncDirectory(dir_));
  return absl::OkStatus();
}

absl::Status PartitionLog::Load(Shutdown shutdown) {
  std::error_code error;
  bool created = std::filesystem::create_directories(dir_, error);
  if (error) return absl::InternalError(absl::StrCat("create ", dir_.string(), ": ", error.message()));
  if (created) SLUICE_RETURN_IF_ERROR(SyncDirectory(dir_.parent_path()));
  SLUICE_RETURN_IF_ERROR(RecoverInterruptedReplacements());

  std::vector<int64_t> bases;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, error)) {
    std::string name = entry.path().filename().string();
    if (name.ends_with(".tmp")) {
      std::filesystem::remove(entry.path(), error);  // an interrupted checkpoint replacement
    } else if (auto base = LogSegment::ParseLogFileName(name)) {
      bases.push_back(*base);
    }
  }
  if (error) return absl::InternalError(absl::StrCat("list ", dir_.string(), ": ", error.message()));
  std::sort(bases.begin(), bases.end());

  const bool marked = std::filesystem::exists(dir_ / kCleanShutdownMarker);
  const bool clean = marked || shutdown == Shutdown::kVouchedClean;
  std::optional<int64_t> log_start = ReadCheckpointOrWarn(dir_ / kLogStartCheckpoint);
  std::optional<int64_t> recovery_point = ReadCheckpointOrWarn(dir_ / kRecoveryPointCheckpoint);
  recovery_point_ = recovery_point.value_or(0);
  const int64_t now = clock_.NowMs();

  for (size_t i = 0; i < bases.size(); ++i) {
    // After a crash, every segment that may hold offsets at or past the recovery point has its
    // headers checked and the batches from the recovery point on read and CRC-checked.
    bool may_hold_unflushed = i + 1 == bases.size() || bases[i + 1] > recovery_point_;
    bool recover = !clean && may_hold_unflushed;
    SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<LogSegment> segment,
                            LogSegment::Open(dir_, bases[i], now, recover, recovery_point_, config_.index_interval_bytes,
                                             keys_.get()));
    bool truncated = segment->truncated_by_recovery();
    if (!segments_.empty()) segments_.back()->Unpin();  // only the active segment keeps a descriptor
    segments_.push_back(std::move(segment));
    if (truncated) {
      // Later segments follow a torn write: they cannot be trusted to continue the log.
      for (size_t j = i + 1; j < bases.size(); ++j) {
        log::Warn("removing segment {} after a truncated segment", LogSegment::LogPath(dir_, bases[j]).string());
        SLUICE_RETURN_IF_ERROR(LogSegment::RemoveFiles(dir_, bases[j]));
      }
      break;
    }
  }
  if (segments_.empty()) {
    SLUICE_ASSIGN_OR_RETURN(auto segment, LogSegment::Create(dir_, log_start.value_or(0), now, "", keys_.get()));
    segments_.push_back(std::move(segment));
    directory_dirty_ = true;
  } else if (keys_ && !segments_.back()->encrypted() && !segments_.back()->empty()) {
    // Encryption was just turned on: the plaintext segment stays readable, appends go to a new one.
    SLUICE_RETURN_IF_ERROR(RollLocked(now));
  }

  const int64_t leo = LeoLocked();
  log_start_offset_ = std::clamp(log_start.value_or(0), segments_.front()->base_offset(), leo);
  recovery_point_ = std::min(recovery_point_, leo);
  std::vector<std::shared_ptr<LogSegment>> below_start;
  while (segments_.size() > 1 && segments_[1]->base_offset() <= log_start_offset_) {
    below_start.push_back(segments_.front());
    segments_.erase(segments_.begin());
  }
  SLUICE_RETURN_IF_ERROR(RemoveSegments(below_start));
  last_flush_ms_ = now;
  SLUICE_RETURN_IF_ERROR(LoadLeaderEpochs());
  checkpointed_high_watermark_ = ReadCheckpointOrWarn(dir_ / kHighWatermarkCheckpoint);
  initial_high_watermark_ = std::clamp(checkpointed_high_watermark_.value_or(log_start_offset_), log_start_offset_, leo);

  if (marked) {
    // From here on a crash must trigger recovery again (a vouching caller removes its marker).
    std::filesystem::remove(dir_ / kCleanShutdownMarker, error);
    if (error) return absl::InternalError(absl::StrCat("remove clean-shutdown marker: ", error.message()));
    SLUICE_RETURN_IF_ERROR(SyncDirectory(dir_));
  }
  return absl::OkStatus();
}

absl::Status PartitionLog::LoadLeaderEpochs() {
  auto checkpoint = ReadLeaderEpochCheckpoint(dir_ / kLeaderEpochCheckpoint);
  int64_t scan_from = log_start_offset_;
  std::vector<EpochEntry> on_disk;
  if (checkpoint.ok()) {
    on_disk = checkpoint->entries();
    epoch_cache_ = std::move(*checkpoint);
    // Start first, so that an entry moved up to the log start is also dropped when it is not
    // below the recovery point (already at most the log end), whose batches are scanned again.
    epoch_cache_.TruncateFromStart(log_start_offset_);
    epoch_cache_.TruncateFromEnd(recovery_point_);
    scan_from = recovery_point_;
  } else if (checkpoint.status().code() != absl::StatusCode::kNotFound) {
    log::Warn("ignoring {} and rebuilding it from the log: {}", (dir_ / kLeaderEpochCheckpoint).string(),
              checkpoint.status());
  }
  SLUICE_RETURN_IF_ERROR(ForEachBatchHeader(scan_from, [this](const kafka::RecordBatchHeader& header) {
    if (header.partition_leader_epoch >= 0) epoch_cache_.Assign(header.partition_leader_epoch, header.base_offset);
    return absl::OkStatus();
  }));
  epoch_cache_.TruncateFromStart(log_start_offset_);
  // A missing file is written at the next flush even when empty, so the next Open need not scan.
  if (!checkpoint.ok() || epoch_cache_.entries() != on_disk) ++epoch_cache_version_;
  return absl::OkStatus();
}

int64_t PartitionLog::LeoLocked() const { return segments_.back()->next_offset(); }

size_t PartitionLog::SegmentIndexLocked(int64_t offset) const {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), offset,
                             [](int64_t o, const std::shared_ptr<LogSegment>& s) { return o < s->base_offset(); });
  return it == segments_.begin() ? 0 : static_cast<size_t>(it - segments_.begin() - 1);
}

bool PartitionLog::ShouldRollLocked(int64_t append_bytes, int64_t last_offset, int64_t now_ms) const {
  const LogSegment& active = *segments_.back();
  if (active.empty()) return false;
  return active.size() + append_bytes > std::min(config_.segment_bytes, kMaxSegmentBytes) ||
         now_ms - active.created_ms() >= config_.segment_ms || active.IndexFull(config_.segment_index_bytes) ||
         last_offset - active.base_offset() > kMaxRelativeOffset;
}

absl::Status PartitionLog::RollLocked(int64_t now_ms) {
  SLUICE_RETURN_IF_ERROR(segments_.back()->WriteIndexes());
  // The old segment's descriptor goes first, so that a roll never needs a second one.
  segments_.back()->Unpin();
  auto segment = LogSegment::Create(dir_, LeoLocked(), now_ms, "", keys_.get());
  if (!segment.ok()) {
    (void)segments_.back()->Pin();  // when even this fails, it reads through the cache
    return segment.status();
  }
  segments_.push_back(std::move(*segment));
  directory_dirty_ = true;
  return absl::OkStatus();
}

absl::StatusOr<AppendResult> PartitionLog::Append(std::span<char> batches, int32_t leader_epoch) {
  // Header parsing and stamping (LogAppendTime recomputes CRCs) happen before taking the lock:
  // neither depends on the offsets the log assigns.
  SLUICE_ASSIGN_OR_RETURN(std::vector<kafka::RecordBatchHeader> headers,
                          ParseFraming(std::string_view(batches.data(), batches.size())));
  const bool append_time = config().log_append_time;
  const int64_t now = clock_.NowMs();
  size_t position = 0;
  for (auto& header : headers) {
    char* batch = batches.data() + position;
    if (append_time) {
      kafka::StampLogAppendTime(batch, now);
      header.attributes |= kafka::batch_layout::kTimestampTypeBit;
      header.max_timestamp = now;
    }
    // Always overwritten, as Kafka does: what a producer put there must not reach the epoch
    // cache when a recovering Open reads the headers.
    const int32_t stamped = std::max(leader_epoch, kNoLeaderEpoch);
    SetPartitionLeaderEpoch(batch, stamped);
    header.partition_leader_epoch = stamped;
    position += static_cast<size_t>(header.total_size());
  }

  std::unique_lock lock(mutex_);
  if (closed_) return absl::FailedPreconditionError("log " + dir_.string() + " is closed");
  if (leader_epoch >= 0 && leader_epoch < epoch_cache_.latest_epoch()) {
    return absl::FailedPreconditionError(absl::StrCat("leader epoch ", leader_epoch, " is older than epoch ",
                                                      epoch_cache_.latest_epoch(), " already in log ", dir_.string()));
  }
  const int64_t first_offset = LeoLocked();
  int64_t next = first_offset;
  position = 0;
  for (auto& header : headers) {
    kafka::SetBaseOffset(batches.data() + position, next);
    header.base_offset = next;
    next = header.last_offset() + 1;
    position += static_cast<size_t>(header.total_size());
  }
  SLUICE_RETURN_IF_ERROR(AppendLocked(std::string_view(batches.data(), batches.size()), headers, now));
  if (leader_epoch >= 0) AssignEpochLocked(leader_epoch, first_offset);
  return AppendResult{first_offset, next - 1, append_time ? now : -1};
}

absl::StatusOr<AppendResult> PartitionLog::AppendAsFollower(std::string_view batches) {
  SLUICE_ASSIGN_OR_RETURN(std::vector<kafka::RecordBatchHeader> headers, ParseFraming(batches));
  if (headers.front().base_offset < 0) {
    return absl::InvalidArgumentError(absl::StrCat("negative base offset ", headers.front().base_offset));
  }
  // The leader's offsets are outside input: every batch must end below the largest offset, so
  // that its last offset and the log end after it are representable.
  for (const auto& header : headers) {
    if (header.base_offset >= INT64_MAX - header.last_offset_delta) {
      return absl::InvalidArgumentError(absl::StrCat("batch at offset ", header.base_offset, " with last offset delta ",
                                                     header.last_offset_delta, " ends past the largest offset"));
    }
  }
  for (size_t i = 1; i < headers.size(); ++i) {
    if (headers[i].base_offset <= headers[i - 1].last_offset()) {
      return absl::InvalidArgumentError(absl::StrCat("batch at offset ", headers[i].base_offset,
                                                     " does not follow the batch ending at offset ",
                                                     headers[i - 1].last_offset()));
    }
  }
  const int64_t first_offset = headers.front().base_offset;
  const int64_t last_offset = headers.back().last_offset();
  const int64_t now = clock_.NowMs();

  std::unique_lock lock(mutex_);
  if (closed_) return absl::FailedPreconditionError("log " + dir_.string() + " is closed");
  const int64_t leo = LeoLocked();
  if (first_offset < leo) {
    return absl::FailedPreconditionError(absl::StrCat("follower append at offset ", first_offset,
                                                      " is below the log end ", leo, " of ", dir_.string()));
  }
  // A rolled segment starts at the log end and stores offsets relative to it in 32 bits.
  if (last_offset - leo > kMaxRelativeOffset) {
    return absl::InvalidArgumentError(absl::StrCat("follower append ends at offset ", last_offset,
                                                   ", too far past the log end ", leo));
  }
  SLUICE_RETURN_IF_ERROR(AppendLocked(batches, headers, now));
  for (const auto& header : headers) {
    if (header.partition_leader_epoch >= 0) AssignEpochLocked(header.partition_leader_epoch, header.base_offset);
  }
  return AppendResult{first_offset, last_offset, -1};
}

absl::Status PartitionLog::AppendLocked(std::string_view batches, std::span<const kafka::RecordBatchHeader> headers,
                                        int64_t now_ms) {
  if (ShouldRollLocked(static_cast<int64_t>(batches.size()), headers.back().last_offset(), now_ms)) {
    SLUICE_RETURN_IF_ERROR(RollLocked(now_ms));
  }
  return segments_.back()->Append(batches, headers, config_.index_interval_bytes);
}

void PartitionLog::AssignLeaderEpoch(int32_t epoch, int64_t start_offset) {
  std::unique_lock lock(mutex_);
  AssignEpochLocked(epoch, start_offset);
}

void PartitionLog::AssignEpochLocked(int32_t epoch, int64_t start_offset) {
  if (epoch_cache_.Assign(epoch, start_offset)) ++epoch_cache_version_;
}

absl::StatusOr<ReadResult> PartitionLog::Read(int64_t fetch_offset, int64_t max_bytes, int64_t max_offset,
                                              bool min_one_batch) const {
  std::shared_lock lock(mutex_);
  const int64_t leo = LeoLocked();
  if (fetch_offset < log_start_offset_ || fetch_offset > leo) {
    return absl::OutOfRangeError(absl::StrCat("offset ", fetch_offset, " is outside [", log_start_offset_, ", ",
                                              leo, "]"));
  }
  ReadResult result;
  result.next_offset = leo;
  int64_t offset = fetch_offset;
  for (size_t i = SegmentIndexLocked(fetch_offset); i < segments_.size(); ++i) {
    const LogSegment& segment = *segments_[i];
    SLUICE_ASSIGN_OR_RETURN(auto start, segment.FindBatch(offset));
    if (!start) continue;
    SLUICE_ASSIGN_OR_RETURN(LogBytes file, segment.Bytes());
    kafka::FileSlice slice{.file = file.file(), .position = start->position, .size = 0};
    int64_t position = start->position;
    kafka::RecordBatchHeader header = start->header;  // FindBatch already read the first one
    bool stop = false;
    while (position < segment.size()) {
      if (position != start->position) {
        SLUICE_ASSIGN_OR_RETURN(header, segment.ReadHeaderAt(file, position));
      }
      bool fits = result.bytes + header.total_size() <= max_bytes || (result.bytes == 0 && min_one_batch);
      if (header.last_offset() >= max_offset || !fits) {
        stop = true;
        result.next_offset = header.base_offset;
        break;
      }
      slice.size += header.total_size();
      result.bytes += header.total_size();
      position += header.total_size();
      // Skip whole batches the index vouches for instead of reading each header.
      int64_t room = std::min(max_bytes - result.bytes, segment.size() - position);
      auto skip_to = segment.IndexedPositionWithin(position + room, max_offset);
      if (skip_to && *skip_to > position) {
        slice.size += *skip_to - position;
        result.bytes += *skip_to - position;
        position = *skip_to;
      }
    }
    if (slice.size > 0 && file.encrypted()) {
      // Not zero-filled first: the read overwrites every byte.
      const auto size = static_cast<size_t>(slice.size);
      std::shared_ptr<char[]> plaintext = std::make_shared_for_overwrite<char[]>(size);
      SLUICE_RETURN_IF_ERROR(file.Read(plaintext.get(), size, slice.position));
      result.chunks.push_back(kafka::RecordsChunk{.memory = std::string_view(plaintext.get(), size), .owner = plaintext});
    } else if (slice.size > 0) {
      result.chunks.push_back(kafka::RecordsChunk{.file = std::move(slice)});
    }
    if (stop) break;
    if (i + 1 < segments_.size()) offset = segments_[i + 1]->base_offset();
  }
  return result;
}

int64_t PartitionLog::log_start_offset() const {
  std::shared_lock lock(mutex_);
  return log_start_offset_;
}

int64_t PartitionLog::log_end_offset() const {
  std::shared_lock lock(mutex_);
  return LeoLocked();
}

int64_t PartitionLog::recovery_point() const {
  std::shared_lock lock(mutex_);
  return recovery_point_;
}

int64_t PartitionLog::size_bytes() const {
  std::shared_lock lock(mutex_);
  int64_t total = 0;
  for (const auto& segment : segments_) total += segment->size();
  return total;
}

size_t PartitionLog::segment_count() const {
  std::shared_lock lock(mutex_);
  return segments_.size();
}

EpochEndOffset PartitionLog::EndOffsetForEpoch(int32_t epoch) const {
  std::shared_lock lock(mutex_);
  return epoch_cache_.EndOffsetFor(epoch, LeoLocked());
}

int32_t PartitionLog::latest_epoch() const {
  std::shared_lock lock(mutex_);
  return epoch_cache_.latest_epoch();
}

int32_t PartitionLog::EpochForOffset(int64_t offset) const {
  std::shared_lock lock(mutex_);
  return epoch_cache_.EpochForOffset(offset);
}

std::vector<EpochEntry> PartitionLog::leader_epoch_entries() const {
  std::shared_lock lock(mutex_);
  return epoch_cache_.entries();
}

absl::Status PartitionLog::CheckpointHighWatermark(int64_t high_watermark) {
  if (high_watermark < 0) return absl::InvalidArgumentError(absl::StrCat("negative high watermark ", high_watermark));
  std::lock_guard guard(high_watermark_mutex_);
  {
    std::shared_lock lock(mutex_);
    if (closed_) return absl::FailedPreconditionError("log " + dir_.string() + " is closed");
  }
  if (checkpointed_high_watermark_ == high_watermark) return absl::OkStatus();
  SLUICE_RETURN_IF_ERROR(WriteOffsetCheckpoint(dir_ / kHighWatermarkCheckpoint, high_watermark));
  checkpointed_high_watermark_ = high_watermark;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<OffsetAndTimestamp>> PartitionLog::OffsetForTimestamp(int64_t timestamp) const {
  std::shared_lock lock(mutex_);
  std::string batch;
  for (const auto& segment : segments_) {
    SLUICE_ASSIGN_OR_RETURN(auto location, segment->FindTimestamp(timestamp));
    if (!location) continue;
    // Batches are found by their max timestamp; the answer is the first record inside one that
    // is at or past the log start and late enough, so later batches may still be needed.
    SLUICE_ASSIGN_OR_RETURN(LogBytes file, segment->Bytes());
    for (int64_t position = location->position; position < segment->size();) {
      SLUICE_ASSIGN_OR_RETURN(kafka::RecordBatchHeader header, segment->ReadHeaderAt(file, position));
      if (header.max_timestamp >= timestamp && header.last_offset() >= log_start_offset_) {
        batch.resize(static_cast<size_t>(header.total_size()));
        SLUICE_RETURN_IF_ERROR(file.Read(batch.data(), batch.size(), position));
        std::optional<OffsetAndTimestamp> found;
        absl::Status status = kafka::ForEachRecord(batch, [&](const kafka::RecordView& record) {
          if (record.offset < log_start_offset_ || record.timestamp < timestamp) return absl::OkStatus();
          found = OffsetAndTimestamp{record.offset, record.timestamp};
          return absl::CancelledError("found");
        });
        if (found) return found;
        if (!status.ok()) {
          return absl::DataLossError(absl::StrCat("reading batch at ", position, " of ",
                                                  segment->log_path().string(), ": ", status.message()));
        }
      }
      position += header.total_size();
    }
  }
  return std::optional<OffsetAndTimestamp>();
}

std::optional<OffsetAndTimestamp> PartitionLog::MaxTimestamp() const {
  std::shared_lock lock(mutex_);
  std::optional<OffsetAndTimestamp> best;
  for (const auto& segment : segments_) {
    if (segment->max_timestamp() >= 0 && (!best || segment->max_timestamp() > best->timestamp)) {
      best = OffsetAndTimestamp{segment->offset_of_max_timestamp(), segment->max_timestamp()};
    }
  }
  return best;
}

absl::StatusOr<std::vector<PartitionLog::FileRange>> PartitionLog::RangesFrom(int64_t from_offset) const {
  std::vector<FileRange> ranges;
  std::shared_lock lock(mutex_);
  for (size_t i = SegmentIndexLocked(from_offset); i < segments_.size(); ++i) {
    const LogSegment& segment = *segments_[i];
    SLUICE_ASSIGN_OR_RETURN(auto start, segment.FindBatch(std::max(from_offset, segment.base_offset())));
    if (!start) continue;
    SLUICE_ASSIGN_OR_RETURN(LogBytes file, segment.Bytes());
    ranges.push_back(FileRange{std::make_shared<const LogBytes>(std::move(file)), start->position, segment.size()});
  }
  return ranges;
}

absl::Status PartitionLog::ForEachBatch(
    int64_t from_offset,
    const std::function<absl::Status(const kafka::RecordBatchHeader&, std::string_view batch_bytes)>& fn) const {
  // The ranges are snapshotted under the lock and read without it, so `fn` may take its time.
  SLUICE_ASSIGN_OR_RETURN(std::vector<FileRange> ranges, RangesFrom(from_offset));
  std::string batch;
  for (const FileRange& range : ranges) {
    for (int64_t position = range.start; position < range.end;) {
      SLUICE_ASSIGN_OR_RETURN(kafka::RecordBatchHeader header, ReadBatchHeader(*range.file, position, range.end));
      batch.resize(static_cast<size_t>(header.total_size()));
      SLUICE_RETURN_IF_ERROR(range.file->Read(batch.data(), batch.size(), position));
      SLUICE_RETURN_IF_ERROR(fn(header, batch));
      position += header.total_size();
    }
  }
  return absl::OkStatus();
}

absl::Status PartitionLog::ForEachBatchHeader(
    int64_t from_offset, const std::function<absl::Status(const kafka::RecordBatchHeader&)>& fn) const {
  SLUICE_ASSIGN_OR_RETURN(std::vector<FileRange> ranges, RangesFrom(from_offset));
  for (const FileRange& range : ranges) {
    for (int64_t position = range.start; position < range.end;) {
      SLUICE_ASSIGN_OR_RETURN(kafka::RecordBatchHeader header, ReadBatchHeader(*range.file, position, range.end));
      SLUICE_RETURN_IF_ERROR(fn(header));
      position += header.total_size();
    }
  }
  return absl::OkStatus();
}

absl::Status PartitionLog::ForEachBatchHeader(
    int64_t from_offset,
    const std::function<absl::Status(const kafka::RecordBatchHeader&, std::string_view control_batch)>& fn) const {
  SLUICE_ASSIGN_OR_RETURN(std::vector<FileRange> ranges, RangesFrom(from_offset));
  std::string control;
  for (const FileRange& range : ranges) {
    for (int64_t position = range.start; position < range.end;) {
      SLUICE_ASSIGN_OR_RETURN(kafka::RecordBatchHeader header, ReadBatchHeader(*range.file, position, range.end));
      control.clear();
      if (header.is_control()) {
        control.resize(static_cast<size_t>(header.total_size()));
        SLUICE_RETURN_IF_ERROR(range.file->Read(control.data(), control.size(), position));
      }
      SLUICE_RETURN_IF_ERROR(fn(header, control));
      position += header.total_size();
    }
  }
  return absl::OkStatus();
}

absl::Status PartitionLog::Flush() {
  std::lock_guard maintenance(maintenance_mutex_);
  return FlushHoldingMaintenance();
}

absl::Status PartitionLog::FlushHoldingMaintenance() {
  int64_t target;
  bool sync_directory;
  std::vector<std::shared_ptr<File>> files;
  std::optional<std::vector<EpochEntry>> epochs;  // set when the epoch checkpoint is stale
  uint64_t epoch_version = 0;
  {
    std::unique_lock lock(mutex_);
    if (closed_) return absl::OkStatus();
    target = LeoLocked();
    // Taken with `target`: every entry for an offset below it is included.
    if (epoch_cache_version_ != epoch_checkpoint_version_) {
      epochs = epoch_cache_.entries();
      epoch_version = epoch_cache_version_;
    }
    for (const auto& segment : segments_) {
      if (segment->next_offset() <= recovery_point_ && segment != segments_.back()) continue;
      SLUICE_RETURN_IF_ERROR(segment->WriteIndexes());
      SLUICE_ASSIGN_OR_RETURN(auto segment_files, segment->TakeFilesToSync());
      files.insert(files.end(), segment_files.begin(), segment_files.end());
    }
    sync_directory = directory_dirty_;
    directory_dirty_ = false;
  }
  for (const auto& file : files) SLUICE_RETURN_IF_ERROR(file->Sync());
  if (sync_directory) SLUICE_RETURN_IF_ERROR(SyncDirectory(dir_));
  // Before the recovery point: Open trusts the epoch checkpoint below the recovery point.
  if (epochs) SLUICE_RETURN_IF_ERROR(WriteLeaderEpochCheckpoint(dir_ / kLeaderEpochCheckpoint, *epochs));
  SLUICE_RETURN_IF_ERROR(WriteOffsetCheckpoint(dir_ / kRecoveryPointCheckpoint, target));
  std::unique_lock lock(mutex_);
  recovery_point_ = std::max(recovery_point_, target);
  if (epochs) epoch_checkpoint_version_ = std::max(epoch_checkpoint_version_, epoch_version);
  last_flush_ms_ = clock_.NowMs();
  return absl::OkStatus();
}

bool PartitionLog::FlushDue(int64_t now_ms) const {
  std::shared_lock lock(mutex_);
  if (closed_) return false;
  int64_t unflushed = LeoLocked() - recovery_point_;
  return unflushed > 0 && (unflushed >= config_.flush_messages || now_ms - last_flush_ms_ >= config_.flush_ms);
}

absl::Status PartitionLog::ApplyRetention(int64_t now_ms, int64_t max_offset) {
  std::lock_guard maintenance(maintenance_mutex_);
  std::vector<std::shared_ptr<LogSegment>> doomed;
  int64_t log_start;
  {
    std::unique_lock lock(mutex_);
    if (closed_) return absl::OkStatus();
    // Data at or past `max_offset` (the high watermark) may still be needed by replicas.
    auto deletable = [&](size_t i) { return segments_[i]->next_offset() <= max_offset; };
    size_t count = 0;
    if (config_.retention_ms >= 0) {
      while (count < segments_.size() && !segments_[count]->empty() && deletable(count) &&
             now_ms - segments_[count]->RetentionTimestampMs() > config_.retention_ms) {
        ++count;
      }
      if (count == segments_.size()) SLUICE_RETURN_IF_ERROR(RollLocked(now_ms));
    }
    if (config_.retention_bytes >= 0) {
      int64_t remaining = 0;
      for (size_t i = count; i < segments_.size(); ++i) remaining += segments_[i]->size();
      while (count + 1 < segments_.size() && deletable(count) &&
             remaining - segments_[count]->size() >= config_.retention_bytes) {
        remaining -= segments_[count]->size();
        ++count;
      }
    }
    if (count == 0) return absl::OkStatus();
    doomed.assign(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(count));
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(count));
    log_start_offset_ = std::max(log_start_offset_, segments_.front()->base_offset());
    log_start = log_start_offset_;
    if (epoch_cache_.TruncateFromStart(log_start)) ++epoch_cache_version_;
  }
  // The checkpoint goes first: a crash before the files are gone leaves segments below the
  // log start, which Open removes.
  SLUICE_RETURN_IF_ERROR(WriteOffsetCheckpoint(dir_ / kLogStartCheckpoint, log_start));
  return RemoveSegments(doomed);
}

absl::Status PartitionLog::RemoveSegments(const std::vector<std::shared_ptr<LogSegment>>& segments) {
  for (const auto& segment : segments) SLUICE_RETURN_IF_ERROR(segment->Remove());
  return absl::OkStatus();
}

absl::Status PartitionLog::TruncateTo(int64_t offset) {
  std::lock_guard maintenance(maintenance_mutex_);
  std::unique_lock lock(mutex_);
  if (closed_) return absl::FailedPreconditionError("log " + dir_.string() + " is closed");
  if (offset >= LeoLocked()) {
    // No batch goes, but an epoch this replica started as leader without appending anything
    // (AssignLeaderEpoch) does, as in Kafka: a follower that kept it would keep fetching with
    // an epoch its leader never had and be told to truncate here forever.
    if (epoch_cache_.TruncateFromEnd(LeoLocked())) {
      ++epoch_cache_version_;
      SLUICE_RETURN_IF_ERROR(WriteEpochCheckpointLocked());
    }
    return absl::OkStatus();
  }
  // Nothing below `offset` survives: start over there.
  if (offset <= log_start_offset_ || offset <= segments_.front()->base_offset()) return RestartAtLocked(offset);
  std::vector<std::shared_ptr<LogSegment>> doomed;
  while (segments_.back()->base_offset() >= offset) {
    doomed.push_back(segments_.back());
    segments_.pop_back();
  }
  SLUICE_RETURN_IF_ERROR(RemoveSegments(doomed));
  SLUICE_RETURN_IF_ERROR(segments_.back()->Pin());  // active again
  SLUICE_RETURN_IF_ERROR(segments_.back()->TruncateTo(offset, config_.index_interval_bytes));
  const int64_t leo = LeoLocked();  // `offset` rounded down to a batch boundary
  cleaned_through_offset_ = std::min(cleaned_through_offset_, leo);
  // Rare (replication divergence), so the checkpoints are written under the lock: data appended
  // after the truncation must never sit below a stale recovery point, and the epoch checkpoint
  // must not name epochs the log no longer has.
  if (epoch_cache_.TruncateFromEnd(leo)) {
    ++epoch_cache_version_;
    SLUICE_RETURN_IF_ERROR(WriteEpochCheckpointLocked());
  }
  if (recovery_point_ > leo) {
    recovery_point_ = leo;
    SLUICE_RETURN_IF_ERROR(WriteOffsetCheckpoint(dir_ / kRecoveryPointCheckpoint, recovery_point_));
  }
  return absl::OkStatus();
}

absl::Status PartitionLog::TruncateFullyAndStartAt(int64_t offset) {
  if (offset < 0) return absl::InvalidArgumentError(absl::StrCat("negative log start ", offset));
  std::lock_guard maintenance(maintenance_mutex_);
  std::unique_lock lock(mutex_);
  if (closed_) return absl::FailedPreconditionError("log " + dir_.string() + " is closed");
  return RestartAtLocked(offset);
}

absl::Status PartitionLog::RestartAtLocked(int64_t offset) {
  // The log start goes first: old segments that a crash leaves behind are then below it (or the
  // log stays as it was when `offset` is lower), and Open removes or keeps them accordingly.
  SLUICE_RETURN_IF_ERROR(WriteOffsetCheckpoint(dir_ / kLogStartCheckpoint, offset));
  absl::Status removed = RemoveSegments(segments_);
  auto segment = removed.ok() ? LogSegment::Create(dir_, offset, clock_.NowMs(), "", keys_.get())
                              : absl::StatusOr<std::unique_ptr<LogSegment>>(removed);
  if (!segment.ok()) {
    // Some of the open segments may have lost their files: appending to them would be lost.
    log::Error("log {} refuses writes after a failed restart at {}: {}", dir_.string(), offset, segment.status());
    closed_ = true;
    return segment.status();
  }
  segments_.clear();
  segments_.push_back(std::move(*segment));
  directory_dirty_ = true;
  log_start_offset_ = offset;
  recovery_point_ = offset;  // an empty log has nothing to flush
  cleaned_through_offset_ = std::min(cleaned_through_offset_, offset);
  if (epoch_cache_.Clear()) ++epoch_cache_version_;
  // Each write syncs the directory too, making the removals and the new segment durable.
  SLUICE_RETURN_IF_ERROR(WriteEpochCheckpointLocked());
  return WriteOffsetCheckpoint(dir_ / kRecoveryPointCheckpoint, recovery_point_);
}

absl::Status PartitionLog::WriteEpochCheckpointLocked() {
  SLUICE_RETURN_IF_ERROR(WriteLeaderEpochCheckpoint(dir_ / kLeaderEpochCheckpoint, epoch_cache_.entries()));
  epoch_checkpoint_version_ = epoch_cache_version_;
  return absl::OkStatus();
}

absl::Status PartitionLog::AdvanceLogStartOffset(int64_t offset) {
  std::lock_guard maintenance(maintenance_mutex_);
  std::vector<std::shared_ptr<LogSegment>> doomed;
  {
    std::unique_lock lock(mutex_);
    if (closed_) return absl::FailedPreconditionError("log " + dir_.string() + " is closed");
    if (offset > LeoLocked()) {
      return absl::OutOfRangeError(absl::StrCat("log start ", offset, " beyond log end ", LeoLocked()));
    }
    if (offset <= log_start_offset_) return absl::OkStatus();
    log_start_offset_ = offset;
    if (epoch_cache_.TruncateFromStart(offset)) ++epoch_cache_version_;
    while (segments_.size() > 1 && segments_[1]->base_offset() <= offset) {
      doomed.push_back(segments_.front());
      segments_.erase(segments_.begin());
    }
  }
  SLUICE_RETURN_IF_ERROR(WriteOffsetCheckpoint(dir_ / kLogStartCheckpoint, offset));
  return RemoveSegments(doomed);
}

std::vector<SegmentSummary> PartitionLog::ClosedSegments() const {
  std::shared_lock lock(mutex_);
  std::vector<SegmentSummary> out;
  for (size_t i = 0; i + 1 < segments_.size(); ++i) {
    out.push_back(SegmentSummary{segments_[i]->base_offset(), segments_[i]->next_offset(), segments_[i]->size()});
  }
  return out;
}

absl::Status PartitionLog::ReplaceSegment(int64_t base_offset, int64_t next_offset, std::string_view batches,
                                          std::span<const kafka::RecordBatchHeader> headers) {
  std::lock_guard maintenance(maintenance_mutex_);
  // Closed segments change only under the maintenance mutex, so this check stays true below.
  auto find = [&]() -> std::optional<size_t> {
    for (size_t i = 0; i + 1 < segments_.size(); ++i) {
      if (segments_[i]->base_offset() == base_offset && segments_[i]->next_offset() == next_offset) return i;
    }
    return std::nullopt;
  };
  int32_t index_interval_bytes;
  {
    std::shared_lock lock(mutex_);
    if (closed_) return absl::FailedPreconditionError("log " + dir_.string() + " is closed");
    if (!find()) {
      return absl::FailedPreconditionError(absl::StrCat("no closed segment [", base_offset, ", ", next_offset, ")"));
    }
    index_interval_bytes = config_.index_interval_bytes;
  }
  for (const auto& header : headers) {
    if (header.base_offset < base_offset || header.last_offset() >= next_offset) {
      return absl::InvalidArgumentError("replacement batch outside the segment's offsets");
    }
  }
  const int64_t now = clock_.NowMs();

  if (batches.empty()) {
    // Nothing survives: dropping the segment loses no record, and reads skip to the next one.
    std::shared_ptr<LogSegment> doomed;
    {
      std::unique_lock lock(mutex_);
      size_t i = *find();
      doomed = segments_[i];
      segments_.erase(segments_.begin() + static_cast<std::ptrdiff_t>(i));
    }
    return doomed->Remove();
  }

  {
    SLUICE_ASSIGN_OR_RETURN(auto cleaned, LogSegment::Create(dir_, base_offset, now, kCleanedSuffix, keys_.get()));
    SLUICE_RETURN_IF_ERROR(cleaned->Append(batches, headers, index_interval_bytes));
    SLUICE_RETURN_IF_ERROR(cleaned->WriteIndexes());
    SLUICE_ASSIGN_OR_RETURN(auto files, cleaned->TakeFilesToSync());
    for (const auto& file : files) SLUICE_RETURN_IF_ERROR(file->Sync());
  }
  // The log's rename is the commit point: it comes last (kExtensions order).
  for (std::string_view extension : LogSegment::kExtensions) {
    SLUICE_RETURN_IF_ERROR(RenameFile(SegmentFile(dir_, base_offset, extension, kCleanedSuffix),
                                      SegmentFile(dir_, base_offset, extension, kSwapSuffix)));
  }
  SLUICE_RETURN_IF_ERROR(SyncDirectory(dir_));
  // Readers keep the old segment's descriptors, so the files can be replaced before the swap.
  SLUICE_RETURN_IF_ERROR(CompleteSwap(dir_, base_offset));
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<LogSegment> replacement,
                          LogSegment::Open(dir_, base_offset, now, /*recover=*/false, /*checked_from=*/0,
                                                           index_interval_bytes, keys_.get()));
  replacement->Unpin();  // a closed segment
  std::unique_lock lock(mutex_);
  segments_[*find()] = std::move(replacement);
  return absl::OkStatus();
}

int64_t PartitionLog::cleaned_through_offset() const {
  std::shared_lock lock(mutex_);
  return cleaned_through_offset_;
}

void PartitionLog::set_cleaned_through_offset(int64_t offset) {
  std::unique_lock lock(mutex_);
  cleaned_through_offset_ = offset;
}

void PartitionLog::UpdateConfig(LogConfig config) {
  std::unique_lock lock(mutex_);
  config_ = config;
}

LogConfig PartitionLog::config() const {
  std::shared_lock lock(mutex_);
  return config_;
}

absl::Status PartitionLog::Close(Shutdown marker) {
  std::lock_guard maintenance(maintenance_mutex_);
  SLUICE_RETURN_IF_ERROR(FlushHoldingMaintenance());
  {
    std::unique_lock lock(mutex_);
    // Closed already, by Delete or by a failed restart whose files cannot be trusted: never
    // mark it clean, and tell a vouching caller.
    if (closed_) return absl::FailedPreconditionError("log " + dir_.string() + " was already closed");
    closed_ = true;
  }
  if (marker == Shutdown::kVouchedClean) return absl::OkStatus();
  return WriteFileAtomically(dir_ / kCleanShutdownMarker, kCleanShutdownContents);
}

absl::Status PartitionLog::Delete() {
  std::lock_guard maintenance(maintenance_mutex_);
  {
    std::unique_lock lock(mutex_);
    closed_ = true;
  }
  std::error_code error;
  std::filesystem::remove_all(dir_, error);
  if (error) return absl::InternalError(absl::StrCat("remove ", dir_.string(), ": ", error.message()));
  return absl::OkStatus();
}

}  // namespace sluice::storage
