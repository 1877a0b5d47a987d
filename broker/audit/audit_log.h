#pragma once
// The audit trail of admin operations (the CloudTrail analogue): one JSON line per resource an
// admin request touched, with time, principal, client address, listener, API and result, in a
// file rotated by size. Lines are written and synced on a thread of their own, so a handler
// on an I/O thread only queues them.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/statusor.h"

namespace sluice::broker::audit {

struct AuditEvent {
  int64_t time_ms = 0;
  std::string principal;
  std::string client;    // host:port of the connection
  std::string listener;  // the listener's name, e.g. PLAINTEXT
  std::string_view api;
  std::string_view resource_type;  // TOPIC, TOPIC_PARTITION, GROUP, BROKER, CLUSTER, ACL, ... (AuditedResource)
  std::string resource;
  std::string_view result;  // Kafka's error name, NONE on success
};

// The JSON line of one event, without the newline.
std::string ToJsonLine(const AuditEvent& event);

class AuditLog {
 public:
  struct Options {
    std::filesystem::path file;
    int64_t max_bytes = 100 << 20;  // rotated once larger
    int max_files = 10;             // rotated files kept: file.1 (newest) .. file.N
    // Runs on the log's thread with each batch of lines once written and synced (a copy to a
    // topic); it must not block for long.
    std::function<void(std::string_view lines)> copy;
  };
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(Options options);
  ~AuditLog();  // writes what is queued, then stops
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Thread-safe; never touches the disk itself.
  void Record(const AuditEvent& event);
  // Blocks until every line recorded before the call is written and synced (for tests).
  void Flush();

 private:
  AuditLog(Options options, int fd, int64_t size);
  void Run();
  absl::Status WriteBatch(const std::string& lines);
  absl::Status Rotate();

  const Options options_;
  int fd_;
  int64_t size_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> queue_;
  uint64_t recorded_ = 0;  // lines queued so far
  uint64_t written_ = 0;   // lines written and synced so far
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace sluice::broker::audit
