#pragma once
// Writes a batch of Kafka responses to a socket: each message's 4-byte size, then its bytes
// with the file slices (and owned memory) spliced in. Memory runs go out as gathered writes; file slices go out
// with sendfile(2) on the non-blocking socket, or (zero_copy off, and always under TLS) through
// pread into a buffer.

#include <array>
#include <functional>
#include <memory>
#include <vector>


#include "absl/status/status.h"
#include "protocol/kafka/records.h"
#include "protocol/net/transport.h"

namespace sluice::net {

class ResponseWriter {
 public:
  using Done = std::function<void(absl::Status)>;

  // `transport` must outlive the writer, its socket in native non-blocking mode. `zero_copy`
  // needs a plaintext transport.
  ResponseWriter(Transport& transport, bool zero_copy) : transport_(transport), zero_copy_(zero_copy) {}

  // One batch at a time. `owner` is kept alive until `done` runs (on the socket's executor).
  void Write(std::vector<kafka::OutboundMessage> messages, std::shared_ptr<void> owner, Done done);

 private:
  struct Piece {
    std::string_view memory;
    const kafka::FileSlice* file = nullptr;
  };

  absl::Status Plan();
  void Step();
  void WriteMemoryRun();
  void SendFile();
  void ReadFileIntoBuffer();
  void Finish(absl::Status status);

  Transport& transport_;
  const bool zero_copy_;

  // The batch in progress.
  std::vector<kafka::OutboundMessage> messages_;
  std::vector<std::array<unsigned char, 4>> size_prefixes_;
  std::vector<Piece> pieces_;
  size_t next_piece_ = 0;
  int64_t file_sent_ = 0;  // of pieces_[next_piece_] when it is a file
  std::vector<asio::const_buffer> buffers_;
  std::vector<char> file_buffer_;  // pread fallback
  // Weak: only pending operations keep the owner alive, so an abandoned io_context frees it.
  std::weak_ptr<void> owner_;
  Done done_;
};

}  // namespace sluice::net
