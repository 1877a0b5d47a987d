#pragma once
// POSIX file plumbing for the log: an owned descriptor that fetch responses can keep alive
// (kafka::FileRef), exact pread/pwrite loops, and crash-safe small-file replacement.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "protocol/kafka/records.h"

namespace sluice::storage {

class File final : public kafka::FileRef {
 public:
  // `flags` as for open(2); O_CLOEXEC is always added.
  static absl::StatusOr<std::shared_ptr<File>> Open(const std::filesystem::path& path, int flags);
  ~File() override;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  int fd() const override { return fd_; }
  const std::filesystem::path& path() const { return path_; }

  // Reads exactly `size` bytes at `position`; kDataLoss when the file ends first.
  absl::Status ReadExact(char* buffer, size_t size, int64_t position) const;
  absl::Status WriteAll(const char* data, size_t size, int64_t position) const;
  absl::Status Truncate(int64_t size) const;
  absl::Status Sync() const;
  absl::StatusOr<int64_t> Size() const;

 private:
  File(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::filesystem::path path_;
};

// Maps errno to a status: ENOSPC/EDQUOT -> kResourceExhausted, ENOENT -> kNotFound, else kInternal.
absl::Status ErrnoStatus(std::string_view operation, const std::filesystem::path& path, int error);

absl::Status SyncDirectory(const std::filesystem::path& dir);

// rename(2) and unlink(2) as statuses that name the paths; a missing file is not an error for
// RemoveFileIfPresent.
absl::Status RenameFile(const std::filesystem::path& from, const std::filesystem::path& to);
absl::Status RemoveFileIfPresent(const std::filesystem::path& path);

// Replaces `path` so that a crash leaves either the old or the new contents: writes a temporary
// file, fsyncs it, renames it over `path` and fsyncs the directory.
absl::Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents);

// Reads a whole file of at most `max_bytes` (kDataLoss when larger).
absl::StatusOr<std::string> ReadWholeFile(const std::filesystem::path& path, int64_t max_bytes);

}  // namespace sluice::storage
