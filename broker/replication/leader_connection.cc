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
// Reconnect this long (at most a tenth of the session) before a login's session ends, so no
// request arrives after it.
constexpr int64_t kSessionMarginMs = 1000;
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
  // A login's session about to end (KIP-368): a fresh connection logs in anew rather than
  // sending a request the leader would answer by closing.
  const bool session_ending = reconnect_at_.has_value() && std::chrono::steady_clock::now() >= *reconnect_at_;
  if (connected_ && host == host_ && port == port_ && !session_ending) return Send();
  Close();
  host_ = host;
  port_ = port;
  Connect();
}

void LeaderConnection::Close() {
  if (transport_) transport_->Close();
  connected_ = false;
  reconnect_at_.reset();
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

void LeaderConnection::LogIn(int step, std::string token) {
  constexpr int16_t kHandshakeVersion = 1, kAuthenticateVersion = 1;
  kafka::OutboundMessage encoded;
  if (step == 0) {
    encoded = kafka::EncodeRequest(step, "sluice-replica-fetcher", kHandshakeVersion,
                                   kafka::SaslHandshakeRequest{.mechanism = login_->mechanism});
  } else {
    kafka::SaslAuthenticateRequest request;
    request.auth_bytes = std::move(token);
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
        absl::StatusOr<std::string> server_token = self->CheckLoginResponse(step, self->login_frame_);
        absl::StatusOr<std::optional<std::string>> next =
            server_token.ok() ? self->NextLoginToken(step, *server_token) : server_token.status();
        if (!next.ok()) {
          self->scram_.reset();
          self->Close();
          return self->Finish(absl::UnauthenticatedError(fmt::format("{}:{}: SASL/{} login as {}: {}", self->host_,
                                                                     self->port_, self->login_->mechanism,
                                                                     self->login_->username, ToStd(next.status().message()))));
        }
        if (next->has_value()) return self->LogIn(step + 1, std::move(**next));
        self->Send();
      });
    });
  });
}

absl::StatusOr<std::optional<std::string>> LeaderConnection::NextLoginToken(int step, std::string_view server_token) {
  if (login_->mechanism == "PLAIN") {
    if (step == 0) return std::optional<std::string>(security::PlainMessageFor(login_->username, login_->password));
    return std::optional<std::string>();
  }
  if (step == 0) {
    SLUICE_ASSIGN_OR_RETURN(scram_, security::ScramClientExchange::Start(
                                        *security::ScramMechanismNamed(login_->mechanism), login_->username,
                                        login_->password));
    return std::optional<std::string>(scram_->first_message());
  }
  if (step == 1) {
    SLUICE_ASSIGN_OR_RETURN(std::string final_message, scram_->FinalMessage(server_token, &salted_password_));
    return std::optional<std::string>(std::move(final_message));
  }
  absl::Status verified = scram_->VerifyServerFinal(server_token);
  scram_.reset();
  if (!verified.ok()) return verified;
  return std::optional<std::string>();
}

absl::StatusOr<std::string> LeaderConnection::CheckLoginResponse(int step, std::string_view frame) {
  kafka::Reader reader(frame);
  kafka::ResponseHeader header;
  SLUICE_RETURN_IF_ERROR(header.Decode(reader, 0));
  int16_t error = 0;
  std::string message;
  std::string token;
  if (step == 0) {
    kafka::SaslHandshakeResponse response;
    SLUICE_RETURN_IF_ERROR(response.Decode(reader, 1));
    error = response.error_code;
  } else {
    kafka::SaslAuthenticateResponse response;
    SLUICE_RETURN_IF_ERROR(response.Decode(reader, 1));
    error = response.error_code;
    message = response.error_message.value_or("");
    token = std::move(response.auth_bytes);
    if (error == 0 && response.session_lifetime_ms > 0) {
      const int64_t lifetime = response.session_lifetime_ms;
      const int64_t margin = std::min<int64_t>(kSessionMarginMs, lifetime / 10);
      reconnect_at_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(lifetime - margin);
    }
  }
  if (error == 0) return token;
  return absl::UnauthenticatedError(
      fmt::format("{} {}", kafka::ErrorName(static_cast<kafka::ErrorCode>(error)), message));
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
