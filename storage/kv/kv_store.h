#pragma once
// Small RocksDB wrapper: one database with named column families, point reads and writes,
// atomic write batches with an explicit sync choice, and ordered range/prefix scans.
// RocksDB stays out of this header so users do not compile against it.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sluice::kv {

// `sync` = fsync the write-ahead log before returning: the write survives power loss.
// Without it the write survives a process crash but not a machine crash.
struct WriteOptions {
  bool sync = true;
};

// Operations applied atomically by KvStore::Write.
class WriteBatch {
 public:
  void Put(std::string_view column_family, std::string_view key, std::string_view value);
  void Delete(std::string_view column_family, std::string_view key);
  // Deletes keys in [begin, end).
  void DeleteRange(std::string_view column_family, std::string_view begin, std::string_view end);
  bool empty() const { return ops_.empty(); }

 private:
  friend class KvStore;
  enum class Op { kPut, kDelete, kDeleteRange };
  struct Operation {
    Op op;
    std::string column_family;
    std::string key;
    std::string value;  // kPut: the value; kDeleteRange: the end key
  };
  std::vector<Operation> ops_;
};

class KvStore {
 public:
  // Opens (creating if missing) the database at `path` with these column families besides
  // RocksDB's "default". Families found on disk but not named are opened too, so a newer
  // schema's data is never refused.
  static absl::StatusOr<std::unique_ptr<KvStore>> Open(
      const std::string& path, const std::vector<std::string>& column_families);
  ~KvStore();
  KvStore(const KvStore&) = delete;
  KvStore& operator=(const KvStore&) = delete;

  // NotFound when the key is absent.
  absl::StatusOr<std::string> Get(std::string_view column_family, std::string_view key) const;
  absl::Status Put(std::string_view column_family, std::string_view key, std::string_view value,
                   WriteOptions options = {});
  absl::Status Delete(std::string_view column_family, std::string_view key,
                      WriteOptions options = {});
  absl::Status Write(const WriteBatch& batch, WriteOptions options = {});

  // Visits keys in [begin, end) in byte order (empty `end` = to the last key) until `visit`
  // returns false.
  using Visitor = std::function<bool(std::string_view key, std::string_view value)>;
  absl::Status Scan(std::string_view column_family, std::string_view begin, std::string_view end,
                    const Visitor& visit) const;
  absl::Status ScanPrefix(std::string_view column_family, std::string_view prefix,
                          const Visitor& visit) const;

 private:
  struct Impl;
  explicit KvStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::kv
