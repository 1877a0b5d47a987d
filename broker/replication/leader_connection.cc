#include "broker/replication/leader_connection.h"

#include <asio/connect.hpp>
#include <fmt/format.h>

#include "broker/security/sasl_plain.h"
#include "common/absl_compat.h"
#include "common/status_macros.h"
#include "protocol/net/tls_context.h"
#include "protocol/kafka/error_codes.h"
#include "protocol/kafka/message_headers.h"
#include "protocol/kafka/messages/sasl_authenticate.h"
#include "protocol/kafka/messages/sasl_handshake.h"

namespace sluice::broker {
namespace {
// A fetch response holds at most replica.fetch.response.max.bytes of records plus headers;
// anything far larger is not a Kafka response.
constexpr uint32_t kMaxResponseBytes = 512u << 20;
}  // namespace

void LeaderConnection::Call(const std::string& host, uint16_t port, std::string request, int64_t timeout_ms,
                            Done done) {
  const uint64_t call = ++call_;
  done_ = std::move(done);
  request_.resize(4);
  const uint32_t size = static_cast<uint32_t>(request.size());
  for (int i = 0; i < 4; ++i) request_[i] = static_cast<char>(size >> (24 - 8 * i));
  request_ += request;
  timer_.expires_after(std::chrono::milliseconds(timeout_ms));
  timer_.async_wait([weak = weak_from_this(), call](const asio::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->call_ != call || !self->done_) return;
    self->Fail("timed out", asio::error::timed_out);
  });
  if (connected_ && host == host_ && port == port_) return Send();
  Close();
  host_ = host;
  port_ = port;
  Connect();
}

void LeaderConnection::Close() {
  if (transport_) transport_->Close();
  connected_ = false;
}

void LeaderConnection::Abandon() {
  ++call_;
  done_ = nullptr;
  timer_.cancel();
  Close();
}

void LeaderConnection::Connect() {
  // Advertised hosts may be names (Kubernetes services): resolve without blocking the shard.
  auto resolver = std::make_shared<asio::ip::tcp::resolver>(io_);
  resolver->async_resolve(host_, std::to_string(port_), [self = shared_from_this(), resolver, call = call_](
                                                            const asio::error_code& ec,
                                                            asio::ip::tcp::resolver::results_type endpoints) {
    if (self->call_ != call || !self->done_) return;
    if (ec) return self->Fail("resolve", ec);
    asio::ip::tcp::socket socket(self->io_);
    self->transport_ = self->tls_ ? std::make_unique<net::Transport>(std::move(socket), self->tls_->Current())
                                  : std::make_unique<net::Transport>(std::move(socket));
    asio::async_connect(self->transport_->socket(), endpoints,
                        [self, call](const asio::error_code& ec, const asio::ip::tcp::endpoint&) {
                          if (self->call_ != call || !self->done_) return;
                          if (ec) return self->Fail("connect", ec);
                          asio::error_code ignored;
                          self->transport_->socket().set_option(asio::ip::tcp::no_delay(true), ignored);
                          self->Handshake();
                        });
  });
}

void LeaderConnection::Handshake() {
  if (transport_->tls() && verify_host_) transport_->VerifyServerName(host_);
  transport_->Handshake(asio::ssl::stream_base::client, [self = shared_from_this(), call = call_](const asio::error_code& ec) {
    if (self->call_ != call || !self->done_) return;
    if (ec) return self->Fail("TLS handshake", ec);
    self->connected_ = true;
    if (self->login_) return self->LogIn(0);
    self->Send();
  });
}

void LeaderConnection::LogIn(int step) {
  constexpr int16_t kHandshakeVersion = 1, kAuthenticateVersion = 1;
  kafka::OutboundMessage encoded;
  if (step == 0) {
    encoded = kafka::EncodeRequest(step, "sluice-replica-fetcher", kHandshakeVersion,
                                   kafka::SaslHandshakeRequest{.mechanism = "PLAIN"});
  } else {
    kafka::SaslAuthenticateRequest request;
    request.auth_bytes = security::PlainMessageFor(login_->username, login_->password);
    encoded = kafka::EncodeRequest(step, "sluice-replica-fetcher", kAuthenticateVersion, request);
  }
  login_frame_.resize(4);
  const uint32_t size = static_cast<uint32_t>(encoded.bytes.size());
  for (int i = 0; i < 4; ++i) login_frame_[i] = static_cast<char>(size >> (24 - 8 * i));
  login_frame_ += encoded.bytes;
  transport_->WriteAll(asio::buffer(login_frame_), [self = shared_from_this(), call = call_, step](
                                                       const asio::error_code& ec, size_t) {
    if (self->call_ != call || !self->done_) return;
    if (ec) return self->Fail("write", ec);
    self->transport_->ReadExactly(asio::buffer(self->size_bytes_), [self, call, step](const asio::error_code& ec, size_t) {
      if (self->call_ != call || !self->done_) return;
      if (ec) return self->Fail("SASL login: read", ec);
      uint32_t size = 0;
      for (unsigned char byte : self->size_bytes_) size = (size << 8) | byte;
      if (size < 4 || size > 1u << 20) return self->Fail("SASL login: response size", asio::error::invalid_argument);
      self->login_frame_.resize(size);
      self->transport_->ReadExactly(asio::buffer(self->login_frame_), [self, call, step](const asio::error_code& ec,
                                                                                          size_t) {
        if (self->call_ != call || !self->done_) return;
        if (ec) return self->Fail("SASL login: read", ec);
        if (absl::Status status = self->CheckLoginResponse(step, self->login_frame_); !status.ok()) {
          self->Close();
          return self->Finish(status);
        }
        if (step == 0) return self->LogIn(1);
        self->Send();
      });
    });
  });
}

absl::Status LeaderConnection::CheckLoginResponse(int step, std::string_view frame) const {
  kafka::Reader reader(frame);
  kafka::ResponseHeader header;
  SLUICE_RETURN_IF_ERROR(header.Decode(reader, 0));
  int16_t error = 0;
  std::string message;
  if (step == 0) {
    kafka::SaslHandshakeResponse response;
    SLUICE_RETURN_IF_ERROR(response.Decode(reader, 1));
    error = response.error_code;
  } else {
    kafka::SaslAuthenticateResponse response;
    SLUICE_RETURN_IF_ERROR(response.Decode(reader, 1));
    error = response.error_code;
    message = response.error_message.value_or("");
  }
  if (error == 0) return absl::OkStatus();
  return absl::UnauthenticatedError(fmt::format("{}:{}: SASL/PLAIN login as {}: {} {}", host_, port_, login_->username,
                                                kafka::ErrorName(static_cast<kafka::ErrorCode>(error)), message));
}

void LeaderConnection::Send() {
  transport_->WriteAll(asio::buffer(request_), [self = shared_from_this(), call = call_](const asio::error_code& ec, size_t) {
    if (self->call_ != call || !self->done_) return;
    if (ec) return self->Fail("write", ec);
    self->ReadSize();
  });
}

void LeaderConnection::ReadSize() {
  transport_->ReadExactly(asio::buffer(size_bytes_), [self = shared_from_this(), call = call_](const asio::error_code& ec,
                                                                                                size_t) {
    if (self->call_ != call || !self->done_) return;
    if (ec) return self->Fail("read", ec);
    uint32_t size = 0;
    for (unsigned char byte : self->size_bytes_) size = (size << 8) | byte;
    if (size < 4 || size > kMaxResponseBytes) return self->Fail(fmt::format("response size {}", size), asio::error::invalid_argument);
    self->ReadBody(size);
  });
}

void LeaderConnection::ReadBody(uint32_t size) {
  if (response_.size() < size) response_.resize(size);
  response_size_ = size;
  transport_->ReadExactly(asio::buffer(response_.data(), size), [self = shared_from_this(), call = call_](
                                                                   const asio::error_code& ec, size_t) {
    if (self->call_ != call || !self->done_) return;
    if (ec) return self->Fail("read", ec);
    self->Finish(std::string_view(self->response_.data(), self->response_size_));
  });
}

void LeaderConnection::Finish(absl::StatusOr<std::string_view> result) {
  timer_.cancel();
  ++call_;  // completions of this call that are still queued are now stale
  std::exchange(done_, nullptr)(std::move(result));
}

void LeaderConnection::Fail(const std::string& what, const asio::error_code& ec) {
  Close();
  Finish(absl::UnavailableError(fmt::format("{}:{}: {}: {}", host_, port_, what, ec.message())));
}

}  // namespace sluice::broker
