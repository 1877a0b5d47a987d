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
#include "storage/log/segment.h"

namespace sluice::storage {
namespace {

constexpr std::string_view kLogStartCheckpoint = "log-start-offset.checkpoint";
constexpr std::string_view kRecoveryPointCheckpoint = "recovery-point.checkpoint";
constexpr std::string_view kCleanShutdownMarker = "clean-shutdown";
constexpr std::string_view kCleanShutdownContents = "sluice-clean-shutdown 1\n";
constexpr std::string_view kCleanedSuffix = ".cleaned";
constexpr std::string_view kSwapSuffix = ".swap";

absl::Status RenameFile(const std::filesystem::path& from, const std::filesystem::path& to) {
  std::error_code error;
  std::filesystem::rename(from, to, error);
  if (error) return absl::InternalError(absl::StrCat("rename ", from.string(), " to ", to.string(), ": ", error.message()));
  return absl::OkStatus();
}

absl::Status RemoveFileIfPresent(const std::filesystem::path& path) {
  std::error_code error;
  std::filesystem::remove(path, error);
  if (error) return absl::InternalError(absl::StrCat("remove ", path.string(), ": ", error.message()));
  return absl::OkStatus();
}

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

}  // namespace

PartitionLog::PartitionLog(std::filesystem::path dir, LogConfig config, const Clock& clock)
    : dir_(std::move(dir)), clock_(clock), config_(config) {}

PartitionLog::~PartitionLog() = default;

absl::StatusOr<std::unique_ptr<PartitionLog>> PartitionLog::Open(std::filesystem::path dir, LogConfig config,
                                                                  const Clock& clock) {
  std::unique_ptr<PartitionLog> log(new PartitionLog(std::move(dir), config, clock));
  SLUICE_RETURN_IF_ERROR(log->Load());
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

absl::Status PartitionLog::Load() {
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

  const bool clean = std::filesystem::exists(dir_ / kCleanShutdownMarker);
  std::optional<int64_t> log_start = ReadCheckpointOrWarn(dir_ / kLogStartCheckpoint);
  std::optional<int64_t> recovery_point = ReadCheckpointOrWarn(dir_ / kRecoveryPointCheckpoint);
  recovery_point_ = recovery_point.value_or(0);
  const int64_t now = clock_.NowMs();

  for (size_t i = 0; i < bases.size(); ++i) {
    // After a crash, every segment that may hold offsets at or past the recovery point is
    // re-validated batch by batch.
    bool may_hold_unflushed = i + 1 == bases.size() || bases[i + 1] > recovery_point_;
    bool verify_all = !clean && may_hold_unflushed;
    SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<LogSegment> segment,
                            LogSegment::Open(dir_, bases[i], now, verify_all, config_.index_interval_bytes));
    bool truncated = segment->truncated_by_recovery();
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
    SLUICE_ASSIGN_OR_RETURN(auto segment, LogSegment::Create(dir_, log_start.value_or(0), now));
    segments_.push_back(std::move(segment));
    directory_dirty_ = true;
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

  if (clean) {
    // From here on a crash must trigger recovery again.
    std::filesystem::remove(dir_ / kCleanShutdownMarker, error);
    if (error) return absl::InternalError(absl::StrCat("remove clean-shutdown marker: ", error.message()));
    SLUICE_RETURN_IF_ERROR(SyncDirectory(dir_));
  }
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
  SLUICE_ASSIGN_OR_RETURN(auto segment, LogSegment::Create(dir_, LeoLocked(), now_ms));
  segments_.push_back(std::move(segment));
  directory_dirty_ = true;
  return absl::OkStatus();
}

absl::StatusOr<AppendResult> PartitionLog::Append(std::span<char> batches) {
  // Header parsing and LogAppendTime stamping (which recomputes CRCs) happen before taking the
  // lock: neither depends on the offsets the log assigns.
  std::vector<kafka::RecordBatchHeader> headers;
  const bool append_time = config().log_append_time;
  const int64_t now = clock_.NowMs();
  for (size_t position = 0; position < batches.size();) {
    std::string_view rest(batches.data() + position, batches.size() - position);
    auto header = kafka::ParseBatchHeader(rest);
    if (!header.ok()) return absl::InvalidArgumentError(header.status().message());
    if (header->total_size() > static_cast<int64_t>(rest.size()) || header->last_offset_delta < 0) {
      return absl::InvalidArgumentError("record batch framing does not match the data");
    }
    if (append_time) {
      kafka::StampLogAppendTime(batches.data() + position, now);
      header->attributes |= kafka::batch_layout::kTimestampTypeBit;
      header->max_timestamp = now;
    }
    headers.push_back(*header);
    position += static_cast<size_t>(header->total_size());
  }
  if (headers.empty()) return absl::InvalidArgumentError("no record batches to append");

  std::unique_lock lock(mutex_);
  if (closed_) return absl::FailedPreconditionError("log " + dir_.string() + " is closed");
  const int64_t first_offset = LeoLocked();
  int64_t next = first_offset;
  size_t position = 0;
  for (auto& header : headers) {
    kafka::SetBaseOffset(batches.data() + position, next);
    header.base_offset = next;
    next = header.last_offset() + 1;
    position += static_cast<size_t>(header.total_size());
  }
  if (ShouldRollLocked(static_cast<int64_t>(batches.size()), next - 1, now)) SLUICE_RETURN_IF_ERROR(RollLocked(now));
  SLUICE_RETURN_IF_ERROR(segments_.back()->Append(std::string_view(batches.data(), batches.size()), headers,
                                                  config_.index_interval_bytes));
  return AppendResult{first_offset, next - 1, append_time ? now : -1};
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
  int64_t offset = fetch_offset;
  for (size_t i = SegmentIndexLocked(fetch_offset); i < segments_.size(); ++i) {
    const LogSegment& segment = *segments_[i];
    SLUICE_ASSIGN_OR_RETURN(auto start, segment.FindBatch(offset));
    if (!start) continue;
    kafka::FileSlice slice{.file = segment.log_file(), .position = start->position, .size = 0};
    int64_t position = start->position;
    kafka::RecordBatchHeader header = start->header;  // FindBatch already read the first one
    bool stop = false;
    while (position < segment.size()) {
      if (position != start->position) {
        SLUICE_ASSIGN_OR_RETURN(header, segment.ReadHeaderAt(position));
      }
      bool fits = result.bytes + header.total_size() <= max_bytes || (result.bytes == 0 && min_one_batch);
      if (header.last_offset() >= max_offset || !fits) {
        stop = true;
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
    if (slice.size > 0) result.slices.push_back(std::move(slice));
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

absl::StatusOr<std::optional<OffsetAndTimestamp>> PartitionLog::OffsetForTimestamp(int64_t timestamp) const {
  std::shared_lock lock(mutex_);
  std::string batch;
  for (const auto& segment : segments_) {
    SLUICE_ASSIGN_OR_RETURN(auto location, segment->FindTimestamp(timestamp));
    if (!location) continue;
    // Batches are found by their max timestamp; the answer is the first record inside one that
    // is at or past the log start and late enough, so later batches may still be needed.
    for (int64_t position = location->position; position < segment->size();) {
      SLUICE_ASSIGN_OR_RETURN(kafka::RecordBatchHeader header, segment->ReadHeaderAt(position));
      if (header.max_timestamp >= timestamp && header.last_offset() >= log_start_offset_) {
        batch.resize(static_cast<size_t>(header.total_size()));
        SLUICE_RETURN_IF_ERROR(segment->log_file()->ReadExact(batch.data(), batch.size(), position));
        std::optional<OffsetAndTimestamp> found;
        absl::Status status = kafka::ForEachRecord(batch, [&](const kafka::RecordView& record) {
          if (record.offset < log_start_offset_ || record.timestamp < timestamp) return absl::OkStatus();
          found = OffsetAndTimestamp{record.offset, record.timestamp};
          return absl::CancelledError("found");
        });
        if (found) return found;
        if (!status.ok()) {
          return absl::DataLossError(absl::StrCat("reading batch at ", position, " of ",
                                                  segment->log_file()->path().string(), ": ", status.message()));
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

absl::Status PartitionLog::ForEachBatch(
    int64_t from_offset,
    const std::function<absl::Status(const kafka::RecordBatchHeader&, std::string_view batch_bytes)>& fn) const {
  // Snapshot the files and ranges under the lock, then read without it so `fn` may take its time.
  struct Range {
    std::shared_ptr<File> file;
    int64_t start;
    int64_t end;
  };
  std::vector<Range> ranges;
  {
    std::shared_lock lock(mutex_);
    for (size_t i = SegmentIndexLocked(from_offset); i < segments_.size(); ++i) {
      const LogSegment& segment = *segments_[i];
      SLUICE_ASSIGN_OR_RETURN(auto start, segment.FindBatch(std::max(from_offset, segment.base_offset())));
      if (start) ranges.push_back(Range{segment.log_file(), start->position, segment.size()});
    }
  }
  std::string batch;
  for (const Range& range : ranges) {
    for (int64_t position = range.start; position < range.end;) {
      SLUICE_ASSIGN_OR_RETURN(kafka::RecordBatchHeader header, ReadBatchHeader(*range.file, position, range.end));
      batch.resize(static_cast<size_t>(header.total_size()));
      SLUICE_RETURN_IF_ERROR(range.file->ReadExact(batch.data(), batch.size(), position));
      SLUICE_RETURN_IF_ERROR(fn(header, batch));
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
  {
    std::unique_lock lock(mutex_);
    if (closed_) return absl::OkStatus();
    target = LeoLocked();
    for (const auto& segment : segments_) {
      if (segment->next_offset() <= recovery_point_ && segment != segments_.back()) continue;
      SLUICE_RETURN_IF_ERROR(segment->WriteIndexes());
      auto segment_files = segment->FilesToSync();
      files.insert(files.end(), segment_files.begin(), segment_files.end());
    }
    sync_directory = directory_dirty_;
    directory_dirty_ = false;
  }
  for (const auto& file : files) SLUICE_RETURN_IF_ERROR(file->Sync());
  if (sync_directory) SLUICE_RETURN_IF_ERROR(SyncDirectory(dir_));
  SLUICE_RETURN_IF_ERROR(WriteOffsetCheckpoint(dir_ / kRecoveryPointCheckpoint, target));
  std::unique_lock lock(mutex_);
  recovery_point_ = std::max(recovery_point_, target);
  last_flush_ms_ = clock_.NowMs();
  return absl::OkStatus();
}

bool PartitionLog::FlushDue(int64_t now_ms) const {
  std::shared_lock lock(mutex_);
  if (closed_) return false;
  int64_t unflushed = LeoLocked() - recovery_point_;
  return unflushed > 0 && (unflushed >= config_.flush_messages || now_ms - last_flush_ms_ >= config_.flush_ms);
}

absl::Status PartitionLog::ApplyRetention(int64_t now_ms) {
  std::lock_guard maintenance(maintenance_mutex_);
  std::vector<std::shared_ptr<LogSegment>> doomed;
  int64_t log_start;
  {
    std::unique_lock lock(mutex_);
    if (closed_) return absl::OkStatus();
    size_t count = 0;
    if (config_.retention_ms >= 0) {
      while (count < segments_.size() && !segments_[count]->empty() &&
             now_ms - segments_[count]->RetentionTimestampMs() > config_.retention_ms) {
        ++count;
      }
      if (count == segments_.size()) SLUICE_RETURN_IF_ERROR(RollLocked(now_ms));
    }
    if (config_.retention_bytes >= 0) {
      int64_t remaining = 0;
      for (size_t i = count; i < segments_.size(); ++i) remaining += segments_[i]->size();
      while (count + 1 < segments_.size() && remaining - segments_[count]->size() >= config_.retention_bytes) {
        remaining -= segments_[count]->size();
        ++count;
      }
    }
    if (count == 0) return absl::OkStatus();
    doomed.assign(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(count));
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(count));
    log_start_offset_ = std::max(log_start_offset_, segments_.front()->base_offset());
    log_start = log_start_offset_;
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
  if (offset >= LeoLocked()) return absl::OkStatus();
  std::vector<std::shared_ptr<LogSegment>> doomed;
  if (offset <= log_start_offset_ || offset <= segments_.front()->base_offset()) {
    // Nothing below `offset` survives: start over there.
    doomed = segments_;
    segments_.clear();
    SLUICE_RETURN_IF_ERROR(RemoveSegments(doomed));
    SLUICE_ASSIGN_OR_RETURN(auto segment, LogSegment::Create(dir_, offset, clock_.NowMs()));
    segments_.push_back(std::move(segment));
    directory_dirty_ = true;
    log_start_offset_ = offset;
    SLUICE_RETURN_IF_ERROR(WriteOffsetCheckpoint(dir_ / kLogStartCheckpoint, log_start_offset_));
  } else {
    while (segments_.back()->base_offset() >= offset) {
      doomed.push_back(segments_.back());
      segments_.pop_back();
    }
    SLUICE_RETURN_IF_ERROR(RemoveSegments(doomed));
    SLUICE_RETURN_IF_ERROR(segments_.back()->TruncateTo(offset, config_.index_interval_bytes));
  }
  // Rare (replication divergence), so the checkpoint is written under the lock: data appended
  // after the truncation must never sit below a stale recovery point.
  if (recovery_point_ > LeoLocked()) {
    recovery_point_ = LeoLocked();
    SLUICE_RETURN_IF_ERROR(WriteOffsetCheckpoint(dir_ / kRecoveryPointCheckpoint, recovery_point_));
  }
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
    SLUICE_ASSIGN_OR_RETURN(auto cleaned, LogSegment::Create(dir_, base_offset, now, kCleanedSuffix));
    SLUICE_RETURN_IF_ERROR(cleaned->Append(batches, headers, index_interval_bytes));
    SLUICE_RETURN_IF_ERROR(cleaned->WriteIndexes());
    for (const auto& file : cleaned->FilesToSync()) SLUICE_RETURN_IF_ERROR(file->Sync());
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
                          LogSegment::Open(dir_, base_offset, now, /*verify_all=*/false, index_interval_bytes));
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

absl::Status PartitionLog::Close() {
  std::lock_guard maintenance(maintenance_mutex_);
  SLUICE_RETURN_IF_ERROR(FlushHoldingMaintenance());
  {
    std::unique_lock lock(mutex_);
    if (closed_) return absl::OkStatus();
    closed_ = true;
  }
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
