#pragma once
// One TCP connection's byte stream, plaintext or TLS: the Kafka server's connections and the
// brokers' client connections read and write through it without caring which. Plaintext keeps
// the raw socket reachable for sendfile(2); TLS goes through OpenSSL's buffers.

#include <memory>
#include <string>
#include <utility>

#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/host_name_verification.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/write.hpp>

namespace sluice::net {

class Transport {
 public:
  explicit Transport(asio::ip::tcp::socket socket) : plain_(std::move(socket)) {}
  // TLS over `socket`; `context` is kept for the life of the connection (a reload may replace
  // the listener's context while old connections still use theirs).
  Transport(asio::ip::tcp::socket socket, std::shared_ptr<asio::ssl::context> context)
      : plain_(socket.get_executor()),
        context_(std::move(context)),
        tls_(std::make_unique<asio::ssl::stream<asio::ip::tcp::socket>>(std::move(socket), *context_)) {}

  bool tls() const { return tls_ != nullptr; }
  asio::ip::tcp::socket& socket() { return tls_ ? tls_->next_layer() : plain_; }
  // Only with tls(): the OpenSSL connection, for the peer's certificate.
  SSL* ssl() { return tls_->native_handle(); }

  // Completes once every byte of `buffers` was read (asio::async_read semantics).
  template <typename Buffers, typename Handler>
  void ReadExactly(const Buffers& buffers, Handler&& handler) {
    if (tls_) return asio::async_read(*tls_, buffers, std::forward<Handler>(handler));
    asio::async_read(plain_, buffers, std::forward<Handler>(handler));
  }
  template <typename Buffers, typename Handler>
  void WriteAll(const Buffers& buffers, Handler&& handler) {
    if (tls_) return asio::async_write(*tls_, buffers, std::forward<Handler>(handler));
    asio::async_write(plain_, buffers, std::forward<Handler>(handler));
  }
  // A TLS client's check of the server: its certificate must name `host` (Kafka's
  // ssl.endpoint.identification.algorithm=https), and SNI asks for it. Call before Handshake.
  void VerifyServerName(const std::string& host) {
    asio::error_code ec;
    asio::ip::make_address(host, ec);
    if (ec) SSL_set_tlsext_host_name(tls_->native_handle(), host.c_str());  // SNI carries names, not addresses
    tls_->set_verify_callback(asio::ssl::host_name_verification(host));
  }
  // TLS handshake as server or client; completes at once without TLS.
  template <typename Handler>
  void Handshake(asio::ssl::stream_base::handshake_type type, Handler&& handler) {
    if (tls_) return tls_->async_handshake(type, std::forward<Handler>(handler));
    std::forward<Handler>(handler)(asio::error_code());
  }
  // Closes the socket at once (no TLS close_notify: a closing side does not wait for the peer).
  void Close() {
    asio::error_code ignored;
    socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
  }

 private:
  asio::ip::tcp::socket plain_;  // unused (never opened) with TLS
  std::shared_ptr<asio::ssl::context> context_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket>> tls_;
};

}  // namespace sluice::net
