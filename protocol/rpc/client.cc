#include "protocol/rpc/client.h"

#include <chrono>
#include <deque>
#include <unordered_map>
#include <vector>

#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include "common/absl_compat.h"
#include "common/log.h"
#include "protocol/net/tls_context.h"
#include "protocol/net/transport.h"

namespace sluice::rpc {

using asio::ip::tcp;
using Strand = asio::strand<asio::io_context::executor_type>;

// All state lives on one strand; asynchronous operations hold the Core (and their
// Connection) by shared_ptr, so the Client can go away while completions are queued.
class Client::Core : public std::enable_shared_from_this<Client::Core> {
 public:
  Core(asio::io_context& io, std::string host, uint16_t port, ClientOptions options)
      : strand_(asio::make_strand(io)), host_(std::move(host)), port_(port), options_(options) {}

  void Call(uint16_t method, std::string payload, int timeout_ms, Done done) {
    asio::post(strand_, [self = shared_from_this(), method, payload = std::move(payload), timeout_ms,
                         done = std::move(done)]() mutable {
      self->StartCall(method, std::move(payload), timeout_ms, std::move(done));
    });
  }

  void Close() {
    asio::post(strand_, [self = shared_from_this()] {
      self->closed_ = true;
      self->FailAll(absl::CancelledError("rpc client closed"));
    });
  }

 private:
  // One TCP connection attempt and its lifetime; replaced after a failure.
  struct Connection {
    Connection(const Strand& strand, std::shared_ptr<asio::ssl::context> tls)
        : transport(tls ? net::Transport(tcp::socket(strand), std::move(tls)) : net::Transport(tcp::socket(strand))),
          resolver(strand),
          connect_timer(strand) {}
    net::Transport transport;
    tcp::resolver resolver;
    asio::steady_timer connect_timer;
    bool ready = false;  // the Hello exchange succeeded
    unsigned char length_bytes[kLengthFieldBytes];
    std::string body;
    bool writing = false;
    std::vector<std::string> outbox;
    std::vector<std::string> writing_frames;
    std::vector<asio::const_buffer> buffers;
  };
  using ConnectionPtr = std::shared_ptr<Connection>;

  struct PendingCall {
    uint16_t method = 0;
    std::string payload;  // released once sent
    Done done;
    std::unique_ptr<asio::steady_timer> timer;
  };

  void StartCall(uint16_t method, std::string payload, int timeout_ms, Done done) {
    if (closed_) return done(absl::CancelledError("rpc client closed"));
    uint32_t id = next_correlation_id_++;
    if (next_correlation_id_ == 0) next_correlation_id_ = 1;  // 0 belongs to the Hello
    PendingCall& call = calls_[id];
    call.method = method;
    call.payload = std::move(payload);
    call.done = std::move(done);
    if (timeout_ms > 0) {
      call.timer = std::make_unique<asio::steady_timer>(strand_, std::chrono::milliseconds(timeout_ms));
      call.timer->async_wait([self = shared_from_this(), id, timeout_ms](asio::error_code ec) {
        if (!ec) self->OnTimeout(id, timeout_ms);
      });
    }
    if (conn_ && conn_->ready) return SendCall(id, call);
    unsent_.push_back(id);
    if (!conn_) Connect();
  }

  void OnTimeout(uint32_t id, int timeout_ms) {
    auto it = calls_.find(id);
    if (it == calls_.end()) return;
    Done done = std::move(it->second.done);
    calls_.erase(it);  // a late reply for `id` is ignored
    done(absl::DeadlineExceededError(fmt::format("rpc to {}:{} timed out after {} ms", host_, port_, timeout_ms)));
  }

  void SendCall(uint32_t id, PendingCall& call) {
    Send(conn_, EncodeFrame({.kind = FrameKind::kRequest, .correlation_id = id, .method = call.method}, call.payload));
    call.payload = std::string();
  }

  void Connect() {
    auto conn = std::make_shared<Connection>(strand_, options_.tls ? options_.tls->Current() : nullptr);
    conn_ = conn;
    conn->connect_timer.expires_after(std::chrono::milliseconds(options_.connect_timeout_ms));
    conn->connect_timer.async_wait([self = shared_from_this(), conn](asio::error_code ec) {
      if (!ec && !conn->ready) {
        self->Fail(conn, absl::UnavailableError(fmt::format("rpc connect to {}:{} timed out", self->host_, self->port_)));
      }
    });
    conn->resolver.async_resolve(
        host_, std::to_string(port_),
        [self = shared_from_this(), conn](asio::error_code ec, tcp::resolver::results_type endpoints) {
          if (conn != self->conn_) return;
          if (ec) {
        self->Fail(conn, self->ConnectionError("resolve", ec));
        return;
      }
          asio::async_connect(conn->transport.socket(), endpoints, [self, conn](asio::error_code ec, const tcp::endpoint&) {
            if (conn != self->conn_) return;
            if (ec) {
              self->Fail(conn, self->ConnectionError("connect", ec));
              return;
            }
            asio::error_code ignored;
            conn->transport.socket().set_option(tcp::no_delay(true), ignored);
            self->Handshake(conn);
          });
        });
  }

  void Handshake(const ConnectionPtr& conn) {
    if (conn->transport.tls() && options_.verify_host) conn->transport.VerifyServerName(host_);
    conn->transport.Handshake(asio::ssl::stream_base::client, [self = shared_from_this(), conn](asio::error_code ec) {
      if (conn != self->conn_) return;
      if (ec) {
        self->Fail(conn, self->ConnectionError("TLS handshake", ec));
        return;
      }
      self->Send(conn, EncodeFrame({.kind = FrameKind::kHello}, EncodeHello(kProtocolVersion)));
      self->ReadLength(conn);
    });
  }

  void ReadLength(const ConnectionPtr& conn) {
    conn->transport.ReadExactly(asio::buffer(conn->length_bytes),
                     [self = shared_from_this(), conn](asio::error_code ec, size_t) {
                       if (conn != self->conn_) return;
                       if (ec) {
        self->Fail(conn, self->ConnectionError("read", ec));
        return;
      }
                       auto length = DecodeLength(conn->length_bytes, self->options_.max_frame_bytes);
                       if (!length.ok()) {
        self->Fail(conn, absl::UnavailableError(length.status().message()));
        return;
      }
                       conn->body.resize(*length);
                       self->ReadBody(conn);
                     });
  }

  void ReadBody(const ConnectionPtr& conn) {
    conn->transport.ReadExactly(asio::buffer(conn->body), [self = shared_from_this(), conn](asio::error_code ec, size_t) {
      if (conn != self->conn_) return;
      if (ec) {
        self->Fail(conn, self->ConnectionError("read", ec));
        return;
      }
      if (self->OnFrame(conn)) self->ReadLength(conn);
    });
  }

  // Returns false when the frame ended the connection.
  bool OnFrame(const ConnectionPtr& conn) {
    auto header = DecodeHeader(conn->body);
    if (!header.ok()) return Fail(conn, absl::UnavailableError(header.status().message()));
    std::string_view payload = std::string_view(conn->body).substr(kHeaderBytes);
    if (!conn->ready) return OnHandshakeReply(conn, header->kind, payload);
    if (header->kind != FrameKind::kResponse && header->kind != FrameKind::kError) {
      return Fail(conn, absl::UnavailableError("rpc server sent an unexpected frame kind"));
    }
    auto it = calls_.find(header->correlation_id);
    if (it == calls_.end()) return true;  // timed out already
    Done done = std::move(it->second.done);
    calls_.erase(it);
    if (header->kind == FrameKind::kResponse) {
      done(std::string(payload));
    } else {
      done(DecodeStatus(payload));
    }
    return conn == conn_;
  }

  bool OnHandshakeReply(const ConnectionPtr& conn, FrameKind kind, std::string_view payload) {
    if (kind == FrameKind::kError) return Fail(conn, DecodeStatus(payload));
    if (kind != FrameKind::kHello) return Fail(conn, absl::UnavailableError("rpc server did not answer the hello"));
    auto version = DecodeHello(payload);
    if (!version.ok()) return Fail(conn, absl::UnavailableError(version.status().message()));
    if (*version != kProtocolVersion) {
      return Fail(conn, absl::FailedPreconditionError(fmt::format(
                            "sluice rpc protocol version mismatch: client speaks v{}, server {}:{} speaks v{}",
                            kProtocolVersion, host_, port_, *version)));
    }
    conn->ready = true;
    conn->connect_timer.cancel();
    std::deque<uint32_t> unsent = std::move(unsent_);
    unsent_.clear();
    for (uint32_t id : unsent) {
      auto it = calls_.find(id);
      if (it != calls_.end()) SendCall(id, it->second);
    }
    return true;
  }

  void Send(const ConnectionPtr& conn, std::string frame) {
    conn->outbox.push_back(std::move(frame));
    if (!conn->writing) WriteOutbox(conn);
  }

  void WriteOutbox(const ConnectionPtr& conn) {
    conn->writing = true;
    conn->writing_frames.clear();
    conn->writing_frames.swap(conn->outbox);
    conn->buffers.clear();
    for (const auto& frame : conn->writing_frames) conn->buffers.push_back(asio::buffer(frame));
    conn->transport.WriteAll(conn->buffers, [self = shared_from_this(), conn](asio::error_code ec, size_t) {
      conn->writing = false;
      if (conn != self->conn_) return;
      if (ec) {
        self->Fail(conn, self->ConnectionError("write", ec));
        return;
      }
      if (!conn->outbox.empty()) self->WriteOutbox(conn);
    });
  }

  absl::Status ConnectionError(std::string_view what, asio::error_code ec) const {
    return absl::UnavailableError(fmt::format("rpc {} to {}:{} failed: {}", what, host_, port_, ec.message()));
  }

  // Drops `conn` (when still current) and fails every pending call; the next call reconnects.
  bool Fail(const ConnectionPtr& conn, const absl::Status& status) {
    if (conn != conn_) return false;
    log::Debug("rpc: connection to {}:{} failed: {}", host_, port_, status);
    FailAll(status);
    return false;
  }

  void FailAll(const absl::Status& status) {
    if (conn_) {
      conn_->transport.Close();
      conn_->resolver.cancel();
      conn_->connect_timer.cancel();
      conn_.reset();
    }
    auto calls = std::move(calls_);
    calls_.clear();
    unsent_.clear();
    for (auto& [id, call] : calls) call.done(status);
  }

  Strand strand_;
  const std::string host_;
  const uint16_t port_;
  const ClientOptions options_;

  // Strand only.
  bool closed_ = false;
  ConnectionPtr conn_;
  uint32_t next_correlation_id_ = 1;
  std::unordered_map<uint32_t, PendingCall> calls_;
  std::deque<uint32_t> unsent_;  // waiting for the handshake
};

Client::Client(asio::io_context& io, std::string host, uint16_t port, ClientOptions options)
    : core_(std::make_shared<Core>(io, std::move(host), port, options)) {}

Client::~Client() { Close(); }

void Client::Call(uint16_t method, std::string payload, int timeout_ms, Done done) {
  core_->Call(method, std::move(payload), timeout_ms, std::move(done));
}

void Client::Close() { core_->Close(); }

}  // namespace sluice::rpc
