#include "protocol/net/connection.h"

#include <asio/read.hpp>

#include "common/log.h"
#include "protocol/net/tls_context.h"

namespace sluice::net {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr size_t kReusableFrameBytes = 1 << 20;

void ConnectionSet::Add(uint64_t id, std::weak_ptr<Connection> connection) {
  std::lock_guard lock(mu_);
  connections_.emplace(id, std::move(connection));
}

void ConnectionSet::Remove(uint64_t id) {
  std::lock_guard lock(mu_);
  connections_.erase(id);
  if (connections_.empty()) emptied_.notify_all();
}

std::vector<std::shared_ptr<Connection>> ConnectionSet::Snapshot() {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<Connection>> open;
  for (auto& [id, weak] : connections_) {
    if (auto connection = weak.lock()) open.push_back(std::move(connection));
  }
  return open;
}

bool ConnectionSet::WaitUntilEmpty(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return emptied_.wait_for(lock, timeout, [&] { return connections_.empty(); });
}

Connection::Connection(std::shared_ptr<ServerContext> server, Transport transport, uint64_t id, std::string peer)
    : server_(std::move(server)),
      transport_(std::move(transport)),
      info_{.id = id,
            .peer = std::move(peer),
            .io = static_cast<asio::io_context&>(transport_.socket().get_executor().context())},
      idle_timer_(info_.io),
      writer_(transport_, server_->options.zero_copy && !transport_.tls()) {}

void Connection::Start() {
  asio::error_code ec;
  transport_.socket().set_option(tcp::no_delay(true), ec);
  // sendfile(2) is called directly on the socket and must not block the thread.
  if (!ec) transport_.socket().native_non_blocking(true, ec);
  if (ec) return Close(fmt::format("socket setup failed: {}", ec.message()));
  last_activity_ = Clock::now();
  // The idle timer also bounds a handshake that never finishes.
  ArmIdleTimer(std::chrono::milliseconds(server_->options.idle_timeout_ms));
  transport_.Handshake(asio::ssl::stream_base::server,
                       [self = shared_from_this()](asio::error_code ec) { self->OnHandshake(ec); });
}

void Connection::OnHandshake(asio::error_code ec) {
  if (closed_) return;
  if (ec) {
    // A client that does not trust us, or that we do not trust: its own error says which.
    log::Info("kafka: TLS handshake with {} failed: {}", info_.peer, ec.message());
    if (server_->options.on_tls_failure) server_->options.on_tls_failure(info_.peer, ec.message());
    return Close("TLS handshake failed");
  }
  if (transport_.tls()) info_.tls_peer_subject = PeerSubject(transport_.ssl());
  ReadSize();
}

void Connection::Close(std::string_view reason) {
  if (closed_) return;
  closed_ = true;
  log::Debug("kafka: closing connection {} from {}: {}", info_.id, info_.peer, reason);
  transport_.Close();
  idle_timer_.cancel();
  slots_.clear();
  server_->connections.Remove(info_.id);
}

void Connection::ReadSize() {
  transport_.ReadExactly(asio::buffer(size_bytes_),
                   [self = shared_from_this()](asio::error_code ec, size_t) { self->OnSize(ec); });
}

void Connection::OnSize(asio::error_code ec) {
  if (closed_) return;
  if (ec) return Close(ec == asio::error::eof ? "peer closed" : ec.message());
  int32_t size = static_cast<int32_t>((uint32_t{size_bytes_[0]} << 24) | (uint32_t{size_bytes_[1]} << 16) |
                                      (uint32_t{size_bytes_[2]} << 8) | uint32_t{size_bytes_[3]});
  if (size <= 0 || size > server_->options.max_request_bytes) {
    log::Warn("kafka: closing connection {} from {}: request size {} outside 1..{} (socket.request.max.bytes)",
              info_.id, info_.peer, size, server_->options.max_request_bytes);
    return Close("invalid request size");
  }
  // Reuse the previous frame's buffer unless a handler still holds it or it is large (one big
  // request should not pin its memory for the life of the connection).
  if (!frame_ || frame_.use_count() > 1 || frame_->capacity() > kReusableFrameBytes) {
    frame_ = std::make_shared<std::string>();
  }
  frame_->resize(static_cast<size_t>(size));
  transport_.ReadExactly(asio::buffer(*frame_),
                   [self = shared_from_this()](asio::error_code ec, size_t) { self->OnFrame(ec); });
}

void Connection::OnFrame(asio::error_code ec) {
  if (closed_) return;
  if (ec == asio::error::eof) {
    log::Warn("kafka: closing connection {} from {}: truncated request of {} bytes", info_.id, info_.peer, frame_->size());
    return Close("truncated request");
  }
  if (ec) return Close(ec.message());
  last_activity_ = Clock::now();
  uint64_t sequence = first_sequence_ + slots_.size();
  slots_.emplace_back();
  Responder responder(std::make_shared<Responder::State>(weak_from_this(), info_.io, sequence));
  server_->handler(info_, frame_, std::move(responder));
  if (closed_) return;  // the handler answered Close synchronously
  if (Inflight() >= static_cast<size_t>(server_->options.max_inflight_requests)) {
    reading_paused_ = true;
    return;
  }
  ReadSize();
}

void Connection::Fill(uint64_t sequence, Answer answer, kafka::OutboundMessage message, SendTiming timing) {
  if (closed_ || sequence < first_sequence_ || sequence - first_sequence_ >= slots_.size()) return;
  Slot& slot = slots_[sequence - first_sequence_];
  slot.answer = answer;
  slot.message = std::move(message);
  slot.timing = timing;
  Flush();
}

void Connection::Flush() {
  if (writing_ || closed_) return;
  std::vector<kafka::OutboundMessage> batch;
  while (!slots_.empty() && slots_.front().answer != Answer::kPending && !close_after_write_) {
    Slot slot = std::move(slots_.front());
    slots_.pop_front();
    ++first_sequence_;
    if (slot.answer == Answer::kSend || slot.answer == Answer::kSendAndClose) {
      batch.push_back(std::move(slot.message));
      if (slot.timing.total != nullptr || slot.timing.send != nullptr) writing_timings_.push_back(slot.timing);
    }
    if (slot.answer == Answer::kClose || slot.answer == Answer::kSendAndClose) close_after_write_ = true;
  }
  if (batch.empty()) {
    if (close_after_write_) return Close("closed by the request handler");
    return MaybeResumeReading();
  }
  writing_ = true;
  writing_count_ = batch.size();
  writer_.Write(std::move(batch), shared_from_this(), [this](absl::Status status) { OnWritten(status); });
}

void Connection::OnWritten(const absl::Status& status) {
  writing_ = false;
  writing_count_ = 0;
  if (closed_) return;
  if (!status.ok()) {
    log::Warn("kafka: closing connection {} to {}: {}", info_.id, info_.peer, status.ToString());
    return Close("write failed");
  }
  last_activity_ = Clock::now();
  for (const SendTiming& timing : writing_timings_) {
    if (timing.total != nullptr) timing.total->Observe(std::chrono::duration<double>(last_activity_ - timing.received).count());
    if (timing.send != nullptr) timing.send->Observe(std::chrono::duration<double>(last_activity_ - timing.ready).count());
  }
  writing_timings_.clear();
  Flush();
}

void Connection::MaybeResumeReading() {
  if (!reading_paused_ || closed_ || Inflight() >= static_cast<size_t>(server_->options.max_inflight_requests)) return;
  reading_paused_ = false;
  ReadSize();
}

void Connection::ArmIdleTimer(Clock::duration after) {
  idle_timer_.expires_after(after);
  idle_timer_.async_wait([self = shared_from_this()](asio::error_code ec) {
    if (!ec) self->OnIdleTimer();
  });
}

void Connection::OnIdleTimer() {
  if (closed_) return;
  auto idle_timeout = std::chrono::milliseconds(server_->options.idle_timeout_ms);
  auto quiet_for = Clock::now() - last_activity_;
  // A request still being answered (a long poll) counts as activity.
  if (Inflight() == 0 && quiet_for >= idle_timeout) {
    log::Info("kafka: closing connection {} from {}: idle for {} ms (connections.max.idle.ms)", info_.id, info_.peer,
              server_->options.idle_timeout_ms);
    return Close("idle");
  }
  ArmIdleTimer(Inflight() == 0 ? idle_timeout - quiet_for : idle_timeout);
}

}  // namespace sluice::net
