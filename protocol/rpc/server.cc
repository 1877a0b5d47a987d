#include "protocol/rpc/server.h"

#include <atomic>
#include <future>
#include <mutex>
#include <unordered_map>
#include <vector>

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

// Everything the server's asynchronous work touches. Sessions and replies hold it by
// shared_ptr, so a Server can be destroyed while completions are still queued. All socket
// work runs on one strand: controller RPC volume is small, and one strand keeps Stop simple.
class Server::Core : public std::enable_shared_from_this<Server::Core> {
 public:
  class Session;
  class ReplyState;

  Core(asio::io_context& io, std::string host, uint16_t port, ServerOptions options)
      : io_(io), strand_(asio::make_strand(io)), acceptor_(strand_), accept_retry_(strand_), host_(std::move(host)),
        requested_port_(port), options_(options) {}

  void Register(uint16_t method, SessionHandler handler) {
    std::lock_guard lock(handlers_mu_);
    handlers_[method] = std::make_shared<const SessionHandler>(std::move(handler));
  }
  void OnSessionClosed(std::function<void(SessionId)> closed) { session_closed_ = std::move(closed); }

  std::shared_ptr<const SessionHandler> FindHandler(uint16_t method) {
    std::lock_guard lock(handlers_mu_);
    auto it = handlers_.find(method);
    return it == handlers_.end() ? nullptr : it->second;
  }

  absl::Status Start();
  void Stop();
  uint16_t port() const { return bound_port_.load(); }
  const Strand& strand() const { return strand_; }
  uint32_t max_frame_bytes() const { return options_.max_frame_bytes; }
  void Forget(uint64_t session_id) {
    sessions_.erase(session_id);
    if (session_closed_) session_closed_(session_id);
  }

 private:
  void Accept();
  void StopOnStrand();

  asio::io_context& io_;
  Strand strand_;
  tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_;
  const std::string host_;
  const uint16_t requested_port_;
  const ServerOptions options_;
  std::atomic<uint16_t> bound_port_{0};
  std::atomic<bool> started_{false};

  std::mutex handlers_mu_;
  std::unordered_map<uint16_t, std::shared_ptr<const SessionHandler>> handlers_;
  std::function<void(SessionId)> session_closed_;  // set before Start, then only read

  // Strand only.
  bool stopped_ = false;
  uint64_t next_session_id_ = 1;
  std::unordered_map<uint64_t, std::shared_ptr<Session>> sessions_;
};

class Server::Core::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<Core> core, net::Transport transport, uint64_t id, std::string peer)
      : core_(std::move(core)), transport_(std::move(transport)), id_(id), peer_(std::move(peer)) {}

  void Start() {
    transport_.Handshake(asio::ssl::stream_base::server, [self = shared_from_this()](asio::error_code ec) {
      if (self->closed_) return;
      if (ec) {
        // An untrusted or missing client certificate ends here.
        log::Warn("rpc: TLS handshake with {} failed: {}", self->peer_, ec.message());
        return self->Close();
      }
      self->ReadLength();
    });
  }

  // Strand only. Frames for a closed session are dropped.
  void Send(std::string frame) {
    if (closed_) return;
    outbox_.push_back(std::move(frame));
    if (!writing_) WriteOutbox();
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    transport_.Close();
    core_->Forget(id_);
  }

 private:
  void ReadLength() {
    transport_.ReadExactly(asio::buffer(length_bytes_),
                           [self = shared_from_this()](asio::error_code ec, size_t) { self->OnLength(ec); });
  }

  void OnLength(asio::error_code ec) {
    if (closed_) return;
    if (ec) return CloseQuietly(ec);
    auto length = DecodeLength(length_bytes_, core_->max_frame_bytes());
    if (!length.ok()) return CloseWithLog(length.status());
    body_.resize(*length);
    transport_.ReadExactly(asio::buffer(body_),
                           [self = shared_from_this()](asio::error_code ec, size_t) { self->OnBody(ec); });
  }

  void OnBody(asio::error_code ec) {
    if (closed_) return;
    if (ec == asio::error::eof) {
      return CloseWithLog(absl::InvalidArgumentError(fmt::format("truncated frame of {} bytes", body_.size())));
    }
    if (ec) return CloseQuietly(ec);
    auto header = DecodeHeader(body_);
    if (!header.ok()) return CloseWithLog(header.status());
    std::string_view payload = std::string_view(body_).substr(kHeaderBytes);
    if (!handshake_done_) {
      if (header->kind != FrameKind::kHello) return CloseWithLog(absl::InvalidArgumentError("first frame is not a hello"));
      return OnHello(*header, payload);
    }
    if (header->kind != FrameKind::kRequest) {
      return CloseWithLog(absl::InvalidArgumentError(fmt::format("unexpected frame kind {}", static_cast<int>(header->kind))));
    }
    Dispatch(*header, payload);
    if (!closed_) ReadLength();
  }

  void OnHello(const FrameHeader& header, std::string_view payload) {
    auto version = DecodeHello(payload);
    if (!version.ok()) return CloseWithLog(version.status());
    if (*version != kProtocolVersion) {
      auto status = absl::FailedPreconditionError(fmt::format(
          "sluice rpc protocol version mismatch: client speaks v{}, server speaks v{}", *version, kProtocolVersion));
      log::Warn("rpc: closing connection from {}: {}", peer_, status);
      Send(EncodeFrame({.kind = FrameKind::kError, .correlation_id = header.correlation_id}, EncodeStatus(status)));
      close_after_write_ = true;
      return;
    }
    handshake_done_ = true;
    Send(EncodeFrame({.kind = FrameKind::kHello, .correlation_id = header.correlation_id},
                     EncodeHello(kProtocolVersion)));
    ReadLength();
  }

  void Dispatch(const FrameHeader& header, std::string_view payload);

  void WriteOutbox() {
    writing_ = true;
    writing_frames_.clear();
    writing_frames_.swap(outbox_);
    buffers_.clear();
    for (const auto& frame : writing_frames_) buffers_.push_back(asio::buffer(frame));
    transport_.WriteAll(buffers_, [self = shared_from_this()](asio::error_code ec, size_t) {
      self->writing_ = false;
      if (self->closed_) return;
      if (ec) return self->CloseQuietly(ec);
      if (!self->outbox_.empty()) return self->WriteOutbox();
      if (self->close_after_write_) self->Close();
    });
  }

  void CloseQuietly(asio::error_code ec) {
    if (ec != asio::error::eof && ec != asio::error::operation_aborted) {
      log::Debug("rpc: connection from {} ended: {}", peer_, ec.message());
    }
    Close();
  }

  void CloseWithLog(const absl::Status& status) {
    log::Warn("rpc: closing connection from {}: {}", peer_, status);
    Close();
  }

  std::shared_ptr<Core> core_;
  net::Transport transport_;
  const uint64_t id_;
  const std::string peer_;
  bool handshake_done_ = false;
  bool closed_ = false;
  bool close_after_write_ = false;
  unsigned char length_bytes_[kLengthFieldBytes];
  std::string body_;
  bool writing_ = false;
  std::vector<std::string> outbox_;
  std::vector<std::string> writing_frames_;
  std::vector<asio::const_buffer> buffers_;
};

// Shared by every copy of one request's Reply: enforces "exactly once" and answers with an
// error when the handler drops the reply without calling it.
class Server::Core::ReplyState {
 public:
  ReplyState(Strand strand, std::weak_ptr<Server::Core::Session> session, uint32_t correlation_id, uint16_t method)
      : strand_(std::move(strand)), session_(std::move(session)), correlation_id_(correlation_id), method_(method) {}

  ~ReplyState() {
    if (!replied_.load()) Deliver(absl::InternalError(fmt::format("rpc method {} dropped its reply", method_)));
  }

  void Reply(absl::StatusOr<std::string> result) {
    if (replied_.exchange(true)) {
      log::Error("rpc: handler for method {} replied more than once; extra reply ignored", method_);
      return;
    }
    Deliver(std::move(result));
  }

 private:
  void Deliver(const absl::StatusOr<std::string>& result) {
    std::string frame = result.ok()
        ? EncodeFrame({.kind = FrameKind::kResponse, .correlation_id = correlation_id_, .method = method_}, *result)
        : EncodeFrame({.kind = FrameKind::kError, .correlation_id = correlation_id_, .method = method_},
                      EncodeStatus(result.status()));
    asio::post(strand_, [session = session_, frame = std::move(frame)]() mutable {
      if (auto s = session.lock()) s->Send(std::move(frame));
    });
  }

  Strand strand_;
  std::weak_ptr<Server::Core::Session> session_;
  const uint32_t correlation_id_;
  const uint16_t method_;
  std::atomic<bool> replied_{false};
};

namespace {

std::string PeerName(const tcp::socket& socket) {
  asio::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  if (ec) return "unknown peer";
  return fmt::format("{}:{}", endpoint.address().to_string(), endpoint.port());
}

}  // namespace

void Server::Core::Session::Dispatch(const FrameHeader& header, std::string_view payload) {
  auto state = std::make_shared<ReplyState>(core_->strand(), weak_from_this(), header.correlation_id, header.method);
  auto handler = core_->FindHandler(header.method);
  if (!handler) {
    state->Reply(absl::UnimplementedError(fmt::format("no rpc handler for method {}", header.method)));
    return;
  }
  (*handler)(id_, payload, [state](absl::StatusOr<std::string> result) { state->Reply(std::move(result)); });
}

absl::Status Server::Core::Start() {
  if (options_.max_frame_bytes < kHeaderBytes + kHelloMagic.size() + 2) {
    return absl::InvalidArgumentError(fmt::format("rpc max frame size {} is too small", options_.max_frame_bytes));
  }
  if (started_.exchange(true)) return absl::FailedPreconditionError("rpc server already started");
  asio::error_code ec;
  tcp::resolver resolver(io_);
  auto endpoints = resolver.resolve(host_, std::to_string(requested_port_), tcp::resolver::passive, ec);
  if (ec || endpoints.empty()) {
    return absl::InvalidArgumentError(fmt::format("rpc server cannot resolve {}: {}", host_, ec.message()));
  }
  tcp::endpoint endpoint = endpoints.begin()->endpoint();
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    asio::error_code ignored;
    acceptor_.close(ignored);
    return absl::UnavailableError(fmt::format("rpc server cannot listen on {}:{}: {}", host_, requested_port_, ec.message()));
  }
  bound_port_ = acceptor_.local_endpoint(ec).port();
  log::Info("rpc: listening on {}:{}{}", host_, bound_port_.load(), options_.tls ? " (TLS)" : "");
  asio::post(strand_, [self = shared_from_this()] { self->Accept(); });
  return absl::OkStatus();
}

void Server::Core::Accept() {
  if (stopped_) return;
  acceptor_.async_accept(strand_, [self = shared_from_this()](asio::error_code ec, tcp::socket socket) {
    if (self->stopped_) return;
    if (ec) {
      // E.g. out of file descriptors: pause instead of spinning.
      log::Warn("rpc: accept failed: {}", ec.message());
      self->accept_retry_.expires_after(std::chrono::milliseconds(100));
      self->accept_retry_.async_wait([self](asio::error_code ec) {
        if (!ec) self->Accept();
      });
      return;
    }
    asio::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::string peer = PeerName(socket);
    uint64_t id = self->next_session_id_++;
    net::Transport transport = self->options_.tls ? net::Transport(std::move(socket), self->options_.tls->Current())
                                                  : net::Transport(std::move(socket));
    auto session = std::make_shared<Session>(self, std::move(transport), id, std::move(peer));
    self->sessions_.emplace(id, session);
    session->Start();
    self->Accept();
  });
}

void Server::Core::Stop() {
  if (!started_.load()) return;
  if (strand_.running_in_this_thread() || io_.stopped()) return StopOnStrand();
  std::promise<void> done;
  asio::post(strand_, [self = shared_from_this(), &done] {
    self->StopOnStrand();
    done.set_value();
  });
  done.get_future().wait();
}

void Server::Core::StopOnStrand() {
  if (stopped_) return;
  stopped_ = true;
  asio::error_code ignored;
  acceptor_.close(ignored);
  accept_retry_.cancel();
  // Close() removes the session from the map, so iterate over a copy.
  auto sessions = std::move(sessions_);
  sessions_.clear();
  for (auto& [id, session] : sessions) session->Close();
}

Server::Server(asio::io_context& io, std::string host, uint16_t port, ServerOptions options)
    : core_(std::make_shared<Core>(io, std::move(host), port, options)) {}

Server::~Server() { Stop(); }

void Server::Register(uint16_t method, Handler handler) {
  core_->Register(method, [handler = std::move(handler)](SessionId, std::string_view payload, Reply reply) {
    handler(payload, std::move(reply));
  });
}
void Server::RegisterWithSession(uint16_t method, SessionHandler handler) { core_->Register(method, std::move(handler)); }
void Server::OnSessionClosed(std::function<void(SessionId)> closed) { core_->OnSessionClosed(std::move(closed)); }
absl::Status Server::Start() { return core_->Start(); }
uint16_t Server::port() const { return core_->port(); }
void Server::Stop() { core_->Stop(); }

}  // namespace sluice::rpc
