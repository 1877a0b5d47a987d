#include "storage/log/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"

namespace sluice::storage {

absl::Status ErrnoStatus(std::string_view operation, const std::filesystem::path& path, int error) {
  std::string message =
      absl::StrCat(ToAbsl(operation), " ", path.string(), ": ", std::strerror(error));
  switch (error) {
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(message);
    case ENOENT:
      return absl::NotFoundError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::StatusOr<std::shared_ptr<File>> File::Open(const std::filesystem::path& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  return std::shared_ptr<File>(new File(fd, path));
}

File::~File() { ::close(fd_); }

absl::Status File::ReadExact(char* buffer, size_t size, int64_t position) const {
  while (size > 0) {
    ssize_t n = ::pread(fd_, buffer, size, position);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("pread", path_, errno);
    }
    if (n == 0) return absl::DataLossError(absl::StrCat("unexpected end of ", path_.string(), " at ", position));
    buffer += n;
    size -= static_cast<size_t>(n);
    position += n;
  }
  return absl::OkStatus();
}

absl::Status File::WriteAll(const char* data, size_t size, int64_t position) const {
  while (size > 0) {
    ssize_t n = ::pwrite(fd_, data, size, position);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("pwrite", path_, errno);
    }
    data += n;
    size -= static_cast<size_t>(n);
    position += n;
  }
  return absl::OkStatus();
}

absl::Status File::Truncate(int64_t size) const {
  if (::ftruncate(fd_, size) != 0) return ErrnoStatus("ftruncate", path_, errno);
  return absl::OkStatus();
}

absl::Status File::Sync() const {
  if (::fdatasync(fd_) != 0) return ErrnoStatus("fdatasync", path_, errno);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> File::Size() const {
  off_t end = ::lseek(fd_, 0, SEEK_END);
  if (end < 0) return ErrnoStatus("lseek", path_, errno);
  return static_cast<int64_t>(end);
}

absl::Status SyncDirectory(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open directory", dir, errno);
  int rc = ::fsync(fd);
  int error = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus("fsync directory", dir, error);
  return absl::OkStatus();
}

absl::Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents) {
  std::filesystem::path temp = path;
  temp += ".tmp";
  {
    auto file = File::Open(temp, O_WRONLY | O_CREAT | O_TRUNC);
    if (!file.ok()) return file.status();
    absl::Status status = (*file)->WriteAll(contents.data(), contents.size(), 0);
    if (status.ok()) status = (*file)->Sync();
    if (!status.ok()) return status;
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) return ErrnoStatus("rename", temp, errno);
  return SyncDirectory(path.parent_path());
}

absl::StatusOr<std::string> ReadWholeFile(const std::filesystem::path& path, int64_t max_bytes) {
  auto file = File::Open(path, O_RDONLY);
  if (!file.ok()) return file.status();
  auto size = (*file)->Size();
  if (!size.ok()) return size.status();
  if (*size > max_bytes) return absl::DataLossError(absl::StrCat(path.string(), " is unexpectedly large"));
  std::string contents(static_cast<size_t>(*size), '\0');
  absl::Status status = (*file)->ReadExact(contents.data(), contents.size(), 0);
  if (!status.ok()) return status;
  return contents;
}

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

}  // namespace sluice::storage
