#include "protocol/net/kafka_server.h"

#include <future>

#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include "common/log.h"
#include "protocol/net/connection.h"
#include "protocol/net/tls_context.h"

namespace sluice::net {

using asio::ip::tcp;

// How long Stop waits for connections to finish closing before giving up with a log line.
constexpr auto kStopWait = std::chrono::seconds(30);
// Pause after a failed accept (e.g. out of file descriptors) instead of spinning.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);

absl::Status Validate(const ServerOptions& options) {
  if (options.max_request_bytes < 1) return absl::InvalidArgumentError("socket.request.max.bytes must be positive");
  if (options.idle_timeout_ms < 1) return absl::InvalidArgumentError("connections.max.idle.ms must be positive");
  if (options.max_inflight_requests < 1) return absl::InvalidArgumentError("max in-flight requests must be positive");
  return absl::OkStatus();
}

class KafkaServer::Core : public std::enable_shared_from_this<KafkaServer::Core> {
 public:
  Core(IoContextPool& pool, ServerOptions options, RequestHandler handler)
      : pool_(pool),
        acceptor_io_(pool.Next()),
        acceptor_(acceptor_io_),
        accept_retry_(acceptor_io_),
        context_(std::make_shared<ServerContext>(std::move(options), std::move(handler))) {}

  absl::Status Start() {
    if (started_.exchange(true)) return absl::FailedPreconditionError("kafka server already started");
    const ServerOptions& options = context_->options;
    if (absl::Status valid = Validate(options); !valid.ok()) return valid;
    asio::error_code ec;
    tcp::resolver resolver(acceptor_io_);
    auto endpoints = resolver.resolve(options.host, std::to_string(options.port), tcp::resolver::passive, ec);
    if (ec || endpoints.empty()) {
      return absl::InvalidArgumentError(fmt::format("cannot resolve listener host {}: {}", options.host, ec.message()));
    }
    tcp::endpoint endpoint = endpoints.begin()->endpoint();
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      asio::error_code ignored;
      acceptor_.close(ignored);
      return absl::UnavailableError(fmt::format("cannot listen on {}:{}: {}", options.host, options.port, ec.message()));
    }
    port_ = acceptor_.local_endpoint(ec).port();
    log::Info("kafka: listening on {}:{}{}", options.host, port_.load(), options.tls ? " (TLS)" : "");
    asio::post(acceptor_io_, [self = shared_from_this()] { self->Accept(); });
    return absl::OkStatus();
  }

  uint16_t port() const { return port_.load(); }

  void Stop() {
    if (!started_.load() || stopped_.exchange(true)) return;
    // A stopped io_context runs nothing, so its objects can be closed from here directly.
    auto close_acceptor = [this] {
      asio::error_code ignored;
      acceptor_.close(ignored);
      accept_retry_.cancel();
    };
    if (acceptor_io_.stopped()) {
      close_acceptor();
    } else {
      std::promise<void> closed;
      asio::post(acceptor_io_, [&] {
        close_acceptor();
        closed.set_value();
      });
      closed.get_future().wait();
    }
    for (auto& connection : context_->connections.Snapshot()) {
      if (connection->io().stopped()) {
        connection->Close("server stopping");
      } else {
        asio::post(connection->io(), [connection] { connection->Close("server stopping"); });
      }
    }
    if (!context_->connections.WaitUntilEmpty(kStopWait)) {
      log::Error("kafka: connections still open {} s after stop", kStopWait.count());
    }
  }

 private:
  void Accept() {
    asio::io_context& connection_io = pool_.Next();
    acceptor_.async_accept(connection_io, [self = shared_from_this(), &connection_io](asio::error_code ec, tcp::socket socket) {
      if (self->stopped_.load()) return;
      if (!ec) {
        self->Adopt(connection_io, std::move(socket));
        return self->Accept();
      }
      log::Warn("kafka: accept failed: {}", ec.message());
      self->accept_retry_.expires_after(kAcceptRetryDelay);
      self->accept_retry_.async_wait([self](asio::error_code ec) {
        if (!ec && !self->stopped_.load()) self->Accept();
      });
    });
  }

  void Adopt(asio::io_context& io, tcp::socket socket) {
    asio::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    if (ec) return;  // already gone
    std::string peer = fmt::format("{}:{}", remote.address().to_string(), remote.port());
    uint64_t id = next_connection_id_++;
    Transport transport = context_->options.tls ? Transport(std::move(socket), context_->options.tls->Current())
                                                : Transport(std::move(socket));
    auto connection = std::make_shared<Connection>(context_, std::move(transport), id, std::move(peer));
    context_->connections.Add(id, connection);
    asio::post(io, [connection] { connection->Start(); });
  }

  IoContextPool& pool_;
  asio::io_context& acceptor_io_;
  tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_;
  std::shared_ptr<ServerContext> context_;
  std::atomic<uint16_t> port_{0};
  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};
  uint64_t next_connection_id_ = 1;  // acceptor thread only
};

KafkaServer::KafkaServer(IoContextPool& pool, ServerOptions options, RequestHandler handler)
    : core_(std::make_shared<Core>(pool, std::move(options), std::move(handler))) {}

KafkaServer::~KafkaServer() { Stop(); }

absl::Status KafkaServer::Start() { return core_->Start(); }
uint16_t KafkaServer::port() const { return core_->port(); }
void KafkaServer::Stop() { core_->Stop(); }

}  // namespace sluice::net
