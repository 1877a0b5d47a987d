#include "storage/log/sparse_index.h"

#include <fcntl.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/status_macros.h"
#include "protocol/kafka/batch/byte_order.h"

namespace sluice::storage {
namespace {

using kafka::batch_internal::LoadBigEndian;
using kafka::batch_internal::StoreBigEndian;

constexpr size_t kHeaderSize = 8;
constexpr uint8_t kVersion = 1;
constexpr int64_t kMaxIndexFileBytes = int64_t{1} << 30;

std::string Header(SparseIndex::Kind kind) {
  std::string header(kHeaderSize, '\0');
  std::memcpy(header.data(), kind == SparseIndex::Kind::kOffset ? "SLOI" : "SLTI", 4);
  header[4] = static_cast<char>(kVersion);
  return header;
}

}  // namespace

size_t SparseIndex::file_bytes() const { return kHeaderSize + entries_.size() * entry_size(); }

absl::Status SparseIndex::Load(int64_t log_size) {
  entries_.clear();
  written_ = 0;
  rewrite_ = true;
  auto contents = ReadWholeFile(file_.path(), kMaxIndexFileBytes);
  if (!contents.ok()) return contents.status();
  const std::string& bytes = *contents;
  auto damaged = [&](std::string_view why) {
    entries_.clear();
    return absl::DataLossError(absl::StrCat("index ", file_.path().string(), ": ", sluice::ToAbsl(why)));
  };
  if (bytes.size() < kHeaderSize || bytes.compare(0, kHeaderSize, Header(kind_)) != 0) return damaged("bad header");
  if ((bytes.size() - kHeaderSize) % entry_size() != 0) return damaged("partial entry");
  size_t count = (bytes.size() - kHeaderSize) / entry_size();
  entries_.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const char* p = bytes.data() + kHeaderSize + i * entry_size();
    Entry entry;
    if (kind_ == Kind::kOffset) {
      entry.key = base_offset_ + LoadBigEndian<uint32_t>(p);
      entry.value = LoadBigEndian<uint32_t>(p + 4);
      if (entry.value >= log_size) return damaged("position beyond the log");
    } else {
      entry.key = LoadBigEndian<int64_t>(p);
      entry.value = base_offset_ + LoadBigEndian<uint32_t>(p + 8);
    }
    if (!entries_.empty() && (entry.key <= entries_.back().key || entry.value < entries_.back().value)) {
      return damaged("entries out of order");
    }
    entries_.push_back(entry);
  }
  written_ = count;
  rewrite_ = false;
  return absl::OkStatus();
}

std::optional<SparseIndex::Entry> SparseIndex::Floor(int64_t key, bool strict) const {
  auto it = strict ? std::lower_bound(entries_.begin(), entries_.end(), key,
                                      [](const Entry& e, int64_t k) { return e.key < k; })
                   : std::upper_bound(entries_.begin(), entries_.end(), key,
                                      [](int64_t k, const Entry& e) { return k < e.key; });
  if (it == entries_.begin()) return std::nullopt;
  return *std::prev(it);
}

std::optional<SparseIndex::Entry> SparseIndex::FloorBoth(int64_t key, int64_t value) const {
  auto by_key = std::upper_bound(entries_.begin(), entries_.end(), key,
                                 [](int64_t k, const Entry& e) { return k < e.key; });
  auto by_value = std::upper_bound(entries_.begin(), entries_.end(), value,
                                   [](int64_t v, const Entry& e) { return v < e.value; });
  auto end = std::min(by_key, by_value);
  if (end == entries_.begin()) return std::nullopt;
  return *std::prev(end);
}

absl::Status SparseIndex::TruncateFrom(int64_t limit) {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.value >= limit; });
  entries_.erase(it, entries_.end());
  if (written_ > entries_.size()) {
    written_ = entries_.size();
    if (!rewrite_) {
      SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<File> file, file_.Get());
      unsynced_ = true;
      return file->Truncate(static_cast<int64_t>(file_bytes()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<File>> SparseIndex::TakeFileToSync() {
  if (!unsynced_) return std::shared_ptr<File>();
  SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<File> file, file_.Get());
  unsynced_ = false;
  return file;
}

absl::Status SparseIndex::WritePending() {
  if (!rewrite_ && written_ == entries_.size()) return absl::OkStatus();
  SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<File> file, file_.Get());
  unsynced_ = true;
  absl::Status status;
  if (rewrite_) {
    // The file is a cache of memory: rewrite it whole. A crash mid-way leaves a file that
    // Load rejects, and the index is rebuilt from the log.
    status = file->Truncate(0);
    if (status.ok()) status = file->WriteAll(Header(kind_).data(), kHeaderSize, 0);
    if (!status.ok()) return status;
    written_ = 0;
    rewrite_ = false;
  }
  std::string buffer((entries_.size() - written_) * entry_size(), '\0');
  char* p = buffer.data();
  for (size_t i = written_; i < entries_.size(); ++i, p += entry_size()) {
    const Entry& e = entries_[i];
    if (kind_ == Kind::kOffset) {
      StoreBigEndian<uint32_t>(p, static_cast<uint32_t>(e.key - base_offset_));
      StoreBigEndian<uint32_t>(p + 4, static_cast<uint32_t>(e.value));
    } else {
      StoreBigEndian<int64_t>(p, e.key);
      StoreBigEndian<uint32_t>(p + 8, static_cast<uint32_t>(e.value - base_offset_));
    }
  }
  status = file->WriteAll(buffer.data(), buffer.size(), static_cast<int64_t>(kHeaderSize + written_ * entry_size()));
  if (!status.ok()) return status;
  written_ = entries_.size();
  return absl::OkStatus();
}

}  // namespace sluice::storage
