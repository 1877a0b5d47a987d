#include "storage/log/segment.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <charconv>
#include <climits>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/absl_compat.h"
#include "common/status_macros.h"
#include "fmt/format.h"

namespace sluice::storage {
namespace {

namespace L = kafka::batch_layout;

// Index files are written in batches of this many entries (amortising the syscall).
constexpr size_t kPendingIndexEntries = 128;

std::filesystem::path WithExtension(const std::filesystem::path& dir, int64_t base_offset, std::string_view ext) {
  return dir / fmt::format("{:020d}{}", base_offset, ext);
}

}  // namespace

std::filesystem::path LogSegment::LogPath(const std::filesystem::path& dir, int64_t base_offset) {
  return WithExtension(dir, base_offset, ".log");
}

std::filesystem::path LogSegment::FilePath(const std::filesystem::path& dir, int64_t base_offset,
                                           std::string_view extension) {
  return WithExtension(dir, base_offset, extension);
}

std::optional<int64_t> LogSegment::ParseLogFileName(std::string_view name) {
  if (name.size() != 24 || !name.ends_with(".log")) return std::nullopt;
  int64_t offset = 0;
  auto [end, error] = std::from_chars(name.data(), name.data() + 20, offset);
  if (error != std::errc() || end != name.data() + 20 || offset < 0) return std::nullopt;
  return offset;
}

LogSegment::LogSegment(const std::filesystem::path& dir, int64_t base_offset, std::shared_ptr<File> log,
                       int64_t now_ms, std::string_view suffix)
    : base_offset_(base_offset),
      log_file_(WithExtension(dir, base_offset, absl::StrCat(".log", ToAbsl(suffix))), O_RDWR),
      pinned_log_(std::move(log)),
      offset_index_(SparseIndex::Kind::kOffset, WithExtension(dir, base_offset, absl::StrCat(".index", ToAbsl(suffix))),
                    base_offset),
      time_index_(SparseIndex::Kind::kTime, WithExtension(dir, base_offset, absl::StrCat(".timeindex", ToAbsl(suffix))),
                  base_offset),
      next_offset_(base_offset),
      created_ms_(now_ms) {
  if (pinned_log_) FileCache::Shared().AddPinned(1);
}

LogSegment::~LogSegment() { Unpin(); }

void LogSegment::Unpin() {
  if (!pinned_log_) return;
  pinned_log_.reset();
  FileCache::Shared().AddPinned(-1);
}

absl::StatusOr<std::unique_ptr<LogSegment>> LogSegment::Create(const std::filesystem::path& dir, int64_t base_offset,
                                                               int64_t now_ms, std::string_view suffix,
                                                               const KeyProvider* keys) {
  auto log = File::Open(WithExtension(dir, base_offset, absl::StrCat(".log", ToAbsl(suffix))), O_RDWR | O_CREAT | O_TRUNC);
  if (!log.ok()) return log.status();
  std::unique_ptr<LogSegment> segment(new LogSegment(dir, base_offset, std::move(*log), now_ms, suffix));
  if (keys != nullptr) {
    SLUICE_ASSIGN_OR_RETURN(segment->encrypted_, EncryptedLog::Create(*segment->pinned_log_, *keys));
  }
  absl::Status status = segment->offset_index_.WritePending();
  if (status.ok()) status = segment->time_index_.WritePending();
  if (!status.ok()) return status;
  return segment;
}

absl::StatusOr<std::unique_ptr<LogSegment>> LogSegment::Open(const std::filesystem::path& dir, int64_t base_offset,
                                                             int64_t now_ms, bool recover, int64_t checked_from,
                                                             int32_t index_interval_bytes, const KeyProvider* keys) {
  auto log = File::Open(LogPath(dir, base_offset), O_RDWR);
  if (!log.ok()) return log.status();
  std::unique_ptr<LogSegment> segment(new LogSegment(dir, base_offset, std::move(*log), now_ms, ""));
  const File& file = *segment->pinned_log_;
  SLUICE_ASSIGN_OR_RETURN(int64_t file_size, file.Size());
  char first = 0;
  if (file_size > 0) SLUICE_RETURN_IF_ERROR(file.ReadExact(&first, 1, 0));
  if (file_size > 0 && encrypted_segment::HasMagic(std::string_view(&first, 1))) {
    if (keys == nullptr) {
      SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> key_id, EncryptedLog::ReadKeyId(file));
      return absl::FailedPreconditionError(
          absl::StrCat("segment ", file.path().string(), " is encrypted (master key id '", key_id.value_or("unknown"),
                       "') but log.encryption.enable is false: enable it with log.encryption.master.key.file"));
    }
    SLUICE_ASSIGN_OR_RETURN(segment->encrypted_, EncryptedLog::Open(file, *keys, recover));
    segment->truncated_by_recovery_ = segment->encrypted_->dropped_torn_tail();
    segment->size_ = segment->encrypted_->size();
  } else if (file_size == 0 && keys != nullptr) {
    // Nothing to keep readable in plaintext: appends to it are encrypted from here on.
    SLUICE_ASSIGN_OR_RETURN(segment->encrypted_, EncryptedLog::Create(file, *keys));
    segment->size_ = 0;
  } else {
    segment->size_ = file_size;
  }
  if (recover) {
    SLUICE_RETURN_IF_ERROR(segment->ScanAll(checked_from, index_interval_bytes));
    return segment;
  }
  bool sound = segment->offset_index_.Load(segment->size_).ok() && segment->time_index_.Load(segment->size_).ok();
  if (sound) {
    auto tail = segment->ScanTail();
    sound = tail.ok() && *tail;
  }
  if (!sound) {
    log::Warn("rebuilding indexes of {}", segment->log_path().string());
    SLUICE_RETURN_IF_ERROR(segment->ScanAll(/*crc_from=*/INT64_MAX, index_interval_bytes));
  }
  return segment;
}

bool LogSegment::IndexFull(int32_t segment_index_bytes) const {
  return offset_index_.file_bytes() + 8 > static_cast<size_t>(segment_index_bytes) ||
         time_index_.file_bytes() + 12 > static_cast<size_t>(segment_index_bytes);
}

void LogSegment::IndexBatch(const kafka::RecordBatchHeader& header, int64_t position, int32_t index_interval_bytes) {
  // Position 0 needs no entry: a lookup without a floor entry scans from the start.
  if (bytes_since_offset_entry_ >= index_interval_bytes) {
    offset_index_.Append(header.base_offset, position);
    bytes_since_offset_entry_ = 0;
  }
  bytes_since_offset_entry_ += header.total_size();
  if (header.max_timestamp > max_timestamp_) {
    max_timestamp_ = header.max_timestamp;
    offset_of_max_timestamp_ = header.last_offset();
  }
  auto last_time = time_index_.last();
  if (bytes_since_time_entry_ >= index_interval_bytes && max_timestamp_ >= 0 &&
      (!last_time || max_timestamp_ > last_time->key)) {
    time_index_.Append(max_timestamp_, offset_of_max_timestamp_);
    bytes_since_time_entry_ = 0;
  }
  bytes_since_time_entry_ += header.total_size();
  next_offset_ = header.last_offset() + 1;
}

absl::Status LogSegment::Append(std::string_view data, std::span<const kafka::RecordBatchHeader> batches,
                                int32_t index_interval_bytes) {
  SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<File> log, LogFile());
  if (encrypted_) {
    SLUICE_RETURN_IF_ERROR(encrypted_->Append(*log, data));
  } else if (absl::Status status = log->WriteAll(data.data(), data.size(), size_); !status.ok()) {
    // Drop a partial write so the file keeps ending on a batch boundary.
    (void)log->Truncate(size_);
    return status;
  }
  int64_t position = size_;
  for (const auto& header : batches) {
    IndexBatch(header, position, index_interval_bytes);
    position += header.total_size();
  }
  size_ = position;
  if (offset_index_.entries().size() % kPendingIndexEntries == 0 ||
      time_index_.entries().size() % kPendingIndexEntries == 0) {
    // The batches are appended: an index write failure must not report the append as failed
    // (the producer would retry and duplicate). Indexes are retried at flush and rebuilt on open.
    if (auto status = WriteIndexes(); !status.ok()) log::Warn("index write for {}: {}", log_path().string(), status);
  }
  return absl::OkStatus();
}

absl::StatusOr<kafka::RecordBatchHeader> ReadBatchHeader(const LogBytes& file, int64_t position, int64_t end) {
  if (end - position < static_cast<int64_t>(L::kHeaderSize)) {
    return absl::DataLossError(absl::StrCat("truncated batch header at ", position, " in ", file.path().string()));
  }
  char buffer[L::kHeaderSize];
  SLUICE_RETURN_IF_ERROR(file.Read(buffer, sizeof(buffer), position));
  auto header = kafka::ParseBatchHeader(std::string_view(buffer, sizeof(buffer)));
  if (!header.ok()) {
    return absl::DataLossError(absl::StrCat("bad batch at ", position, " in ", file.path().string(), ": ",
                                            header.status().message()));
  }
  if (header->total_size() > end - position) {
    return absl::DataLossError(absl::StrCat("batch at ", position, " runs past the end of ", file.path().string()));
  }
  return header;
}

absl::StatusOr<kafka::RecordBatchHeader> LogSegment::ReadHeaderAt(const LogBytes& log, int64_t position) const {
  return ReadBatchHeader(log, position, size_);
}

absl::StatusOr<std::shared_ptr<File>> LogSegment::LogFile() const {
  if (pinned_log_) return pinned_log_;
  return log_file_.Get();
}

absl::StatusOr<LogBytes> LogSegment::Bytes() const {
  SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<File> file, LogFile());
  return LogBytes(std::move(file), encrypted_);
}

absl::Status LogSegment::TruncateLog(const File& log, int64_t size) {
  return encrypted_ ? encrypted_->Truncate(log, size) : log.Truncate(size);
}

absl::Status LogSegment::Pin() {
  if (pinned_log_) return absl::OkStatus();
  SLUICE_ASSIGN_OR_RETURN(pinned_log_, log_file_.Get());
  FileCache::Shared().AddPinned(1);
  return absl::OkStatus();
}

int64_t LogSegment::RetentionTimestampMs() const {
  if (max_timestamp_ >= 0) return max_timestamp_;
  struct stat info {};
  if (::stat(log_path().c_str(), &info) != 0) return created_ms_;
  return static_cast<int64_t>(info.st_mtim.tv_sec) * 1000 + info.st_mtim.tv_nsec / 1000000;
}

absl::StatusOr<std::optional<BatchLocation>> LogSegment::FindBatch(int64_t offset) const {
  auto floor = offset_index_.Floor(offset, /*strict=*/false);
  int64_t position = floor ? floor->value : 0;
  if (position >= size_) return std::optional<BatchLocation>();
  // One descriptor for the whole walk: the file cache is asked once, not per batch.
  SLUICE_ASSIGN_OR_RETURN(LogBytes log, Bytes());
  while (position < size_) {
    SLUICE_ASSIGN_OR_RETURN(kafka::RecordBatchHeader header, ReadHeaderAt(log, position));
    if (header.last_offset() >= offset) return std::optional<BatchLocation>(BatchLocation{header, position});
    position += header.total_size();
  }
  return std::optional<BatchLocation>();
}

std::optional<int64_t> LogSegment::IndexedPositionWithin(int64_t max_position, int64_t max_offset) const {
  auto entry = offset_index_.FloorBoth(max_offset, max_position);
  if (!entry) return std::nullopt;
  return entry->value;
}

absl::StatusOr<std::optional<BatchLocation>> LogSegment::FindTimestamp(int64_t timestamp) const {
  if (max_timestamp_ < timestamp) return std::optional<BatchLocation>();
  // Every batch up to the floor entry's offset has a max timestamp below `timestamp`.
  auto floor = time_index_.Floor(timestamp, /*strict=*/true);
  int64_t position = 0;
  if (floor) {
    SLUICE_ASSIGN_OR_RETURN(auto after, FindBatch(floor->value + 1));
    if (!after) return std::optional<BatchLocation>();
    position = after->position;
  }
  if (position >= size_) return std::optional<BatchLocation>();
  SLUICE_ASSIGN_OR_RETURN(LogBytes log, Bytes());
  while (position < size_) {
    SLUICE_ASSIGN_OR_RETURN(kafka::RecordBatchHeader header, ReadHeaderAt(log, position));
    if (header.max_timestamp >= timestamp) return std::optional<BatchLocation>(BatchLocation{header, position});
    position += header.total_size();
  }
  return std::optional<BatchLocation>();
}

absl::Status LogSegment::ScanAll(int64_t crc_from, int32_t index_interval_bytes) {
  offset_index_.Reset();
  time_index_.Reset();
  next_offset_ = base_offset_;
  max_timestamp_ = -1;
  offset_of_max_timestamp_ = -1;
  bytes_since_offset_entry_ = 0;
  bytes_since_time_entry_ = 0;
  SLUICE_ASSIGN_OR_RETURN(LogBytes log, Bytes());
  std::string buffer;
  int64_t position = 0;
  std::string problem;
  while (position < size_) {
    auto header = ReadHeaderAt(log, position);
    if (!header.ok()) {
      problem = std::string(ToStd(header.status().message()));
      break;
    }
    // Offsets only grow, and stay within the 32-bit range relative to the segment base (the log
    // rolls before exceeding it): this also catches corrupt base offsets, which the CRC omits.
    if (header->base_offset < next_offset_ || header->last_offset_delta < 0 ||
        header->last_offset() - base_offset_ > INT32_MAX) {
      problem = fmt::format("offset {} out of order at {}", header->base_offset, position);
      break;
    }
    if (header->last_offset() >= crc_from) {
      buffer.resize(static_cast<size_t>(header->total_size()));
      if (absl::Status read = log.Read(buffer.data(), buffer.size(), position); !read.ok()) {
        if (!encrypted_) return read;
        problem = std::string(ToStd(read.message()));  // a chunk that does not authenticate
        break;
      }
      if (kafka::ComputeBatchCrc(buffer.data(), buffer.size()) != header->crc) {
        problem = fmt::format("CRC mismatch at {}", position);
        break;
      }
    }
    IndexBatch(*header, position, index_interval_bytes);
    position += header->total_size();
  }
  if (position < size_) {
    log::Warn("truncating {} from {} to {} bytes: {}", log_path().string(), size_, position, problem);
    SLUICE_RETURN_IF_ERROR(TruncateLog(*log.file(), position));
    size_ = position;
    truncated_by_recovery_ = true;
  }
  return WriteIndexes();
}

absl::StatusOr<bool> LogSegment::ScanTail() {
  int64_t position = 0;
  auto last_time = time_index_.last();
  max_timestamp_ = last_time ? last_time->key : -1;
  offset_of_max_timestamp_ = last_time ? last_time->value : -1;
  // Start at an indexed batch at or before both the last offset entry and the batch that set
  // the last time entry, so the scan sees every batch the indexes do not summarise.
  std::optional<int64_t> expected_base;
  if (auto last_offset = offset_index_.last()) {
    int64_t anchor = last_time ? std::min(last_time->value, last_offset->key) : last_offset->key;
    if (auto floor = offset_index_.Floor(anchor, false)) {
      position = floor->value;
      expected_base = floor->key;
    }
  }
  next_offset_ = base_offset_;
  std::optional<LogBytes> log;
  if (position < size_) {
    SLUICE_ASSIGN_OR_RETURN(log, Bytes());
  }
  while (position < size_) {
    auto header = ReadHeaderAt(*log, position);
    if (!header.ok()) return false;
    if (expected_base && header->base_offset != *expected_base) return false;
    expected_base.reset();
    if (header->max_timestamp > max_timestamp_) {
      max_timestamp_ = header->max_timestamp;
      offset_of_max_timestamp_ = header->last_offset();
    }
    next_offset_ = header->last_offset() + 1;
    position += header->total_size();
  }
  if (last_time && last_time->value >= next_offset_) return false;
  if (auto last_offset = offset_index_.last(); last_offset && last_offset->key >= next_offset_) return false;
  auto last_entry = offset_index_.last();
  bytes_since_offset_entry_ = size_ - (last_entry ? last_entry->value : 0);
  bytes_since_time_entry_ = bytes_since_offset_entry_;
  return true;
}

absl::Status LogSegment::TruncateTo(int64_t offset, int32_t index_interval_bytes) {
  SLUICE_ASSIGN_OR_RETURN(auto location, FindBatch(offset));
  if (!location) return absl::OkStatus();
  SLUICE_RETURN_IF_ERROR(time_index_.TruncateFrom(location->header.base_offset));
  SLUICE_RETURN_IF_ERROR(offset_index_.TruncateFrom(location->position));
  SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<File> log, LogFile());
  SLUICE_RETURN_IF_ERROR(TruncateLog(*log, location->position));
  size_ = location->position;
  auto tail = ScanTail();
  if (!tail.ok() || !*tail) return ScanAll(/*crc_from=*/INT64_MAX, index_interval_bytes);
  return absl::OkStatus();
}

absl::Status LogSegment::WriteIndexes() {
  SLUICE_RETURN_IF_ERROR(offset_index_.WritePending());
  return time_index_.WritePending();
}

absl::StatusOr<std::vector<std::shared_ptr<File>>> LogSegment::TakeFilesToSync() {
  std::vector<std::shared_ptr<File>> files;
  SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<File> log, LogFile());
  files.push_back(std::move(log));
  for (SparseIndex* index : {&offset_index_, &time_index_}) {
    SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<File> file, index->TakeFileToSync());
    if (file) files.push_back(std::move(file));
  }
  return files;
}

absl::Status LogSegment::Remove() {
  std::filesystem::path dir = log_path().parent_path();
  return RemoveFiles(dir, base_offset_);
}

absl::Status LogSegment::RemoveFiles(const std::filesystem::path& dir, int64_t base_offset) {
  // The log goes last: a crash part-way leaves at worst a segment without indexes (rebuilt).
  for (std::string_view ext : kExtensions) {
    std::error_code error;
    std::filesystem::path path = WithExtension(dir, base_offset, ext);
    std::filesystem::remove(path, error);
    if (error) return absl::InternalError(absl::StrCat("remove ", path.string(), ": ", error.message()));
  }
  return absl::OkStatus();
}

}  // namespace sluice::storage
