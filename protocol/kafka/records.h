#pragma once
// Opaque record-batch bytes as they travel through requests and responses. The broker never
// decodes records on the produce or fetch path: a decoded request borrows the bytes from the
// request frame, and a fetch response refers to ranges of segment files that the connection
// sends with sendfile(2) (or reads into memory on TLS).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::kafka {

// Keeps an open file descriptor alive while a response that refers to it is in flight, so a
// segment deleted by retention can still be sent.
class FileRef {
 public:
  virtual ~FileRef() = default;
  virtual int fd() const = 0;
};

struct FileSlice {
  std::shared_ptr<const FileRef> file;
  int64_t position = 0;
  int64_t size = 0;
};

// One piece of a Records value: bytes in memory (kept alive by `owner` when not borrowed from
// a frame that outlives the value) or a file slice.
struct RecordsChunk {
  std::string_view memory;
  std::shared_ptr<const void> owner;
  FileSlice file;  // used when file.file is set
  bool is_file() const { return file.file != nullptr; }
  int64_t size() const { return is_file() ? file.size : static_cast<int64_t>(memory.size()); }
};

struct Records {
  bool is_null = true;
  std::vector<RecordsChunk> chunks;

  static Records Null() { return Records{}; }
  static Records Borrow(std::string_view bytes) {
    Records r;
    r.is_null = false;
    if (!bytes.empty()) r.chunks.push_back(RecordsChunk{.memory = bytes});
    return r;
  }
  int64_t size() const {
    int64_t total = 0;
    for (const auto& c : chunks) total += c.size();
    return total;
  }
  // The bytes when they are one memory chunk (the decoded-request case); empty otherwise.
  std::string_view contiguous() const {
    return chunks.size() == 1 && !chunks[0].is_file() ? chunks[0].memory : std::string_view();
  }
};

// An encoded message ready for the socket: `bytes`, with file slices (or owned memory) to be
// sent at given offsets of `bytes` (splice i goes before bytes[splices[i].at]). The 4-byte
// Kafka size prefix is not included; the connection adds it.
struct OutboundMessage {
  struct Splice {
    size_t at = 0;
    FileSlice slice;
    // Used when slice.file is null: memory kept alive by `owner` (records decrypted from an
    // encrypted segment), sent as it is rather than copied into `bytes`.
    std::string_view memory;
    std::shared_ptr<const void> owner;
    int64_t size() const { return slice.file ? slice.size : static_cast<int64_t>(memory.size()); }
  };
  std::string bytes;
  std::vector<Splice> splices;

  int64_t size() const {
    int64_t total = static_cast<int64_t>(bytes.size());
    for (const auto& s : splices) total += s.size();
    return total;
  }
};

}  // namespace sluice::kafka
