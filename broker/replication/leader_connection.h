#pragma once
// A Kafka-protocol client connection from this broker to another broker's listener, used by a
// replica fetcher: one request at a time, on the fetcher's shard (its io_context is run by one
// thread, so no strand is needed). Connects lazily and again after a failure.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "absl/status/statusor.h"
#include "broker/replication/replication_options.h"
#include "broker/security/scram_client.h"
#include "protocol/net/transport.h"

namespace sluice::broker {

class LeaderConnection : public std::enable_shared_from_this<LeaderConnection> {
 public:
  // The response frame without its size prefix (header included), or why there is none. The
  // bytes are valid during the call only: the buffer is reused for the next response, so that
  // megabytes of fetched records do not cost a fresh allocation (and fresh pages) each time.
  using Done = std::function<void(absl::StatusOr<std::string_view>)>;

  // With `tls`, connections speak TLS (the leader's inter-broker listener is SSL or SASL_SSL);
  // with `login`, every new connection first logs in with SASL (PLAIN or SCRAM) before the
  // call's request goes out.
  explicit LeaderConnection(asio::io_context& io, const ReplicationOptions::InterBrokerSecurity& security = {})
      : io_(io), timer_(io), tls_(security.tls), verify_host_(security.verify_host), login_(security.login) {}

  // Sends `request` (an encoded request without size prefix) to host:port, reconnecting when
  // the address changed or the last call failed. `done` runs on the io_context; one call at a
  // time.
  void Call(const std::string& host, uint16_t port, std::string request, int64_t timeout_ms, Done done);
  void Close();
  // Drops the call in flight without answering it (its `done` never runs) and closes the
  // connection, e.g. to stop waiting out a long poll; the next Call reconnects.
  void Abandon();

 private:
  void Connect();
  void Handshake();
  // SASL login: step 0 SaslHandshake, then SaslAuthenticate requests carrying `token` (one for
  // PLAIN, two for SCRAM); then Send().
  void LogIn(int step, std::string token = "");
  // The server's token in the response to `step`, or why the login failed.
  absl::StatusOr<std::string> CheckLoginResponse(int step, std::string_view frame);
  // What follows the response to `step`: the next step's token, or nullopt once logged in.
  absl::StatusOr<std::optional<std::string>> NextLoginToken(int step, std::string_view server_token);
  void Send();
  void ReadSize();
  void ReadBody(uint32_t size);
  void Finish(absl::StatusOr<std::string_view> result);
  void Fail(const std::string& what, const asio::error_code& ec);

  asio::io_context& io_;
  std::unique_ptr<net::Transport> transport_;  // a new one for every connection
  asio::steady_timer timer_;
  std::string host_;
  uint16_t port_ = 0;
  bool connected_ = false;
  uint64_t call_ = 0;  // generation of the call in progress, so late completions are ignored
  std::string request_;
  unsigned char size_bytes_[4];
  std::string response_;  // grows to the largest response seen, never shrinks
  size_t response_size_ = 0;
  Done done_;
  const std::shared_ptr<net::ReloadingTlsContext> tls_;
  const bool verify_host_;
  const std::optional<ReplicationOptions::Login> login_;
  std::string login_frame_;
  // Shortly before the leader ends this connection's login session (SaslAuthenticate v1+), if
  // it does: the next call reconnects and logs in anew.
  std::optional<std::chrono::steady_clock::time_point> reconnect_at_;
  std::optional<security::ScramClientExchange> scram_;  // during a SCRAM login
  security::SaltedPasswordCache salted_password_;        // PBKDF2 once, not on every reconnection
};

}  // namespace sluice::broker
