#pragma once
// One accepted Kafka connection (internal to sluice_net). Lives on one io_context thread:
// reads size-prefixed frames, gives each a response slot and hands it to the handler, and
// writes filled slots strictly in order. Reading pauses while too many requests are
// unanswered; quiet connections are closed after the idle timeout.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "protocol/kafka/records.h"
#include "protocol/net/kafka_server.h"
#include "protocol/net/responder.h"
#include "protocol/net/response_writer.h"
#include "protocol/net/transport.h"

namespace sluice::net {

// The open connections of one server, so Stop can close them and wait for them.
class ConnectionSet {
 public:
  void Add(uint64_t id, std::weak_ptr<Connection> connection);
  void Remove(uint64_t id);
  std::vector<std::shared_ptr<Connection>> Snapshot();
  // False when connections are still open after `timeout`.
  bool WaitUntilEmpty(std::chrono::milliseconds timeout);

 private:
  std::mutex mu_;
  std::condition_variable emptied_;
  std::unordered_map<uint64_t, std::weak_ptr<Connection>> connections_;
};

// What a server shares with its connections; outlives the server while connections finish.
struct ServerContext {
  ServerContext(ServerOptions options, RequestHandler handler)
      : options(std::move(options)), handler(std::move(handler)) {}
  const ServerOptions options;
  const RequestHandler handler;
  ConnectionSet connections;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  enum class Answer { kPending, kSend, kSendAndClose, kNoResponse, kClose };

  Connection(std::shared_ptr<ServerContext> server, Transport transport, uint64_t id, std::string peer);

  // The rest runs on the connection's io_context thread.
  void Start();
  void Close(std::string_view reason);
  void Fill(uint64_t sequence, Answer answer, kafka::OutboundMessage message, SendTiming timing);

  asio::io_context& io() { return info_.io; }

 private:
  struct Slot {
    Answer answer = Answer::kPending;
    kafka::OutboundMessage message;
    SendTiming timing;
  };

  void OnHandshake(asio::error_code ec);
  void ReadSize();
  void OnSize(asio::error_code ec);
  void OnFrame(asio::error_code ec);
  void Flush();
  void OnWritten(const absl::Status& status);
  void MaybeResumeReading();
  size_t Inflight() const { return slots_.size() + writing_count_; }
  void ArmIdleTimer(std::chrono::steady_clock::duration after);
  void OnIdleTimer();

  std::shared_ptr<ServerContext> server_;
  Transport transport_;
  ConnectionInfo info_;
  asio::steady_timer idle_timer_;
  ResponseWriter writer_;
  bool closed_ = false;

  unsigned char size_bytes_[4];
  std::shared_ptr<std::string> frame_;  // reused when the last handler let go of it
  bool reading_paused_ = false;
  std::chrono::steady_clock::time_point last_activity_;

  // slots_[i] answers request number first_sequence_ + i.
  std::deque<Slot> slots_;
  uint64_t first_sequence_ = 0;
  bool writing_ = false;
  size_t writing_count_ = 0;
  std::vector<SendTiming> writing_timings_;  // of the batch being written, observed when it is
  bool close_after_write_ = false;
};

struct Responder::State {
  State(std::weak_ptr<Connection> connection, asio::io_context& io, uint64_t sequence)
      : connection(std::move(connection)), io(io), sequence(sequence) {}
  ~State();
  void Answer(Connection::Answer answer, kafka::OutboundMessage message, SendTiming timing);

  std::weak_ptr<Connection> connection;
  asio::io_context& io;
  const uint64_t sequence;
  std::atomic<bool> answered{false};
};

}  // namespace sluice::net
