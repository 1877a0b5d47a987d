#include "broker/audit/audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/absl_compat.h"
#include "common/log.h"
#include "storage/log/file.h"

namespace sluice::broker::audit {
namespace {

absl::Status Errno(std::string_view what, const std::filesystem::path& path) {
  return absl::InternalError(fmt::format("audit log: {} {}: {}", what, path.string(), std::strerror(errno)));
}

// RFC 3339 in UTC with milliseconds, e.g. 2026-12-01T20:40:00.123Z.
std::string Timestamp(int64_t time_ms) {
  const std::time_t seconds = static_cast<std::time_t>(time_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &utc);
  return fmt::format("{}.{:03d}Z", text, static_cast<int>(time_ms % 1000));
}

absl::StatusOr<int> OpenForAppend(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return Errno("cannot open", path);
  return fd;
}

std::filesystem::path Rotated(const std::filesystem::path& file, int n) {
  return file.string() + "." + std::to_string(n);
}

}  // namespace

std::string ToJsonLine(const AuditEvent& event) {
  nlohmann::ordered_json line = {{"time", Timestamp(event.time_ms)},
                                 {"principal", event.principal},
                                 {"client", event.client},
                                 {"listener", event.listener},
                                 {"api", event.api},
                                 {"resource_type", event.resource_type},
                                 {"resource", event.resource},
                                 {"result", event.result}};
  // Client-chosen names need not be UTF-8: replace what is not, rather than fail.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(Options options) {
  if (options.max_bytes < 1 || options.max_files < 1) {
    return absl::InvalidArgumentError("audit log: max bytes and max files must be positive");
  }
  std::error_code ec;
  if (options.file.has_parent_path()) std::filesystem::create_directories(options.file.parent_path(), ec);
  auto fd = OpenForAppend(options.file);
  if (!fd.ok()) return fd.status();
  struct stat info{};
  const int64_t size = ::fstat(*fd, &info) == 0 ? static_cast<int64_t>(info.st_size) : 0;
  return std::unique_ptr<AuditLog>(new AuditLog(std::move(options), *fd, size));
}

AuditLog::AuditLog(Options options, int fd, int64_t size)
    : options_(std::move(options)), fd_(fd), size_(size), writer_([this] { Run(); }) {}

AuditLog::~AuditLog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  writer_.join();
  ::close(fd_);
}

void AuditLog::Record(const AuditEvent& event) {
  std::string line = ToJsonLine(event);
  line += '\n';
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(line));
    ++recorded_;
  }
  changed_.notify_all();
}

void AuditLog::Flush() {
  std::unique_lock lock(mutex_);
  const uint64_t target = recorded_;
  changed_.wait(lock, [&] { return written_ >= target || stopping_; });
}

void AuditLog::Run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return !queue_.empty() || stopping_; });
    if (queue_.empty() && stopping_) return;
    std::string batch;
    uint64_t lines = 0;
    for (; !queue_.empty(); ++lines) {
      batch += queue_.front();
      queue_.pop_front();
    }
    lock.unlock();
    if (absl::Status status = WriteBatch(batch); !status.ok()) log::Error("{}", status);
    if (options_.copy) options_.copy(batch);
    lock.lock();
    written_ += lines;
    changed_.notify_all();
  }
}

absl::Status AuditLog::WriteBatch(const std::string& lines) {
  if (size_ >= options_.max_bytes) {
    if (absl::Status status = Rotate(); !status.ok()) return status;
  }
  for (size_t done = 0; done < lines.size();) {
    const ssize_t n = ::write(fd_, lines.data() + done, lines.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("cannot write", options_.file);
    done += static_cast<size_t>(n);
  }
  size_ += static_cast<int64_t>(lines.size());
  if (::fdatasync(fd_) != 0) return Errno("cannot sync", options_.file);
  return absl::OkStatus();
}

absl::Status AuditLog::Rotate() {
  // file.N-1 -> file.N ... file -> file.1; the oldest beyond max_files is replaced.
  std::error_code ec;
  for (int n = options_.max_files - 1; n >= 1; --n) {
    if (std::filesystem::exists(Rotated(options_.file, n), ec)) {
      std::filesystem::rename(Rotated(options_.file, n), Rotated(options_.file, n + 1), ec);
    }
  }
  std::filesystem::rename(options_.file, Rotated(options_.file, 1), ec);
  if (ec) return absl::InternalError(fmt::format("audit log: cannot rotate {}: {}", options_.file.string(), ec.message()));
  auto fd = OpenForAppend(options_.file);
  if (!fd.ok()) return fd.status();
  ::close(fd_);
  fd_ = *fd;
  size_ = 0;
  // The renames outlive a crash only once the directory is synced.
  return storage::SyncDirectory(options_.file.has_parent_path() ? options_.file.parent_path() : ".");
}

}  // namespace sluice::broker::audit
