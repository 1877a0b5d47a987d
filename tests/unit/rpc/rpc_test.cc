#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <catch2/catch.hpp>
#include <sys/socket.h>

#include "protocol/rpc/client.h"
#include "protocol/rpc/frame.h"
#include "protocol/rpc/proto_call.h"
#include "protocol/rpc/server.h"
#include "tests/unit/rpc/test_service.pb.h"

namespace sluice::rpc {
namespace {

using asio::ip::tcp;
using Result = absl::StatusOr<std::string>;
constexpr auto kWait = std::chrono::seconds(10);
constexpr uint16_t kEcho = 1;
constexpr uint16_t kDeferred = 2;
constexpr uint16_t kFail = 3;
constexpr int kCallTimeoutMs = 10000;

// An io_context run by one background thread for the length of a test.
class IoThread {
 public:
  IoThread() : guard_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~IoThread() {
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  asio::io_context& io() { return io_; }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
};

template <class T>
class Awaited {
 public:
  std::function<void(T)> Callback() {
    return [this](T value) { promise_.set_value(std::move(value)); };
  }
  T Get() {
    REQUIRE(future_.wait_for(kWait) == std::future_status::ready);
    return future_.get();
  }

 private:
  std::promise<T> promise_;
  std::future<T> future_ = promise_.get_future();
};

// Replies that a handler keeps for later, as a long-poll handler does.
class DeferredReplies {
 public:
  void Add(Server::Reply reply) {
    std::lock_guard lock(mu_);
    replies_.push_back(std::move(reply));
    arrived_.notify_all();
  }
  Server::Reply Take() {
    std::unique_lock lock(mu_);
    REQUIRE(arrived_.wait_for(lock, kWait, [&] { return !replies_.empty(); }));
    Server::Reply reply = std::move(replies_.front());
    replies_.erase(replies_.begin());
    return reply;
  }

 private:
  std::mutex mu_;
  std::condition_variable arrived_;
  std::vector<Server::Reply> replies_;
};

void RegisterTestMethods(Server& server, DeferredReplies* deferred = nullptr) {
  server.Register(kEcho, [](std::string_view payload, Server::Reply reply) { reply(std::string(payload)); });
  server.Register(kFail, [](std::string_view payload, Server::Reply reply) {
    reply(absl::NotFoundError(std::string("missing ") + std::string(payload)));
  });
  if (deferred) {
    server.Register(kDeferred, [deferred](std::string_view, Server::Reply reply) { deferred->Add(std::move(reply)); });
  }
}

Result CallAndWait(Client& client, uint16_t method, std::string payload, int timeout_ms = kCallTimeoutMs) {
  Awaited<Result> result;
  client.Call(method, std::move(payload), timeout_ms, result.Callback());
  return result.Get();
}

// A blocking socket for speaking raw bytes to the server; reads give up after kWait.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    timeval timeout{.tv_sec = 10, .tv_usec = 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  }
  void Write(std::string_view bytes) { asio::write(socket_, asio::buffer(bytes.data(), bytes.size())); }
  void ShutdownWrite() { socket_.shutdown(tcp::socket::shutdown_send); }
  // Reads until the server closes; returns what arrived. Fails the test on a read timeout.
  std::string ReadUntilClosed() {
    std::string received;
    char buffer[4096];
    for (;;) {
      asio::error_code ec;
      size_t n = socket_.read_some(asio::buffer(buffer), ec);
      received.append(buffer, n);
      if (ec) {
        INFO("read ended with " << ec.message());
        REQUIRE((ec == asio::error::eof || ec == asio::error::connection_reset));
        return received;
      }
    }
  }
  void Handshake() {
    Write(EncodeFrame({.kind = FrameKind::kHello}, EncodeHello(kProtocolVersion)));
    std::string reply(kLengthFieldBytes + kHeaderBytes + kHelloMagic.size() + 2, '\0');
    asio::read(socket_, asio::buffer(reply));
    REQUIRE(reply == EncodeFrame({.kind = FrameKind::kHello}, EncodeHello(kProtocolVersion)));
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
};

TEST_CASE("rpc round trip, error replies and unknown methods") {
  IoThread io;
  Server server(io.io(), "127.0.0.1", 0);
  RegisterTestMethods(server);
  REQUIRE(server.Start().ok());
  REQUIRE(server.port() != 0);
  Client client(io.io(), "127.0.0.1", server.port());

  Result echoed = CallAndWait(client, kEcho, "hello");
  REQUIRE(echoed.ok());
  CHECK(*echoed == "hello");

  Result empty = CallAndWait(client, kEcho, "");
  REQUIRE(empty.ok());
  CHECK(empty->empty());

  Result failed = CallAndWait(client, kFail, "topic-a");
  CHECK(failed.status().code() == absl::StatusCode::kNotFound);
  CHECK(failed.status().message() == "missing topic-a");

  Result unknown = CallAndWait(client, 999, "x");
  CHECK(unknown.status().code() == absl::StatusCode::kUnimplemented);

  Result after = CallAndWait(client, kEcho, std::string(1 << 20, 'z'));
  REQUIRE(after.ok());
  CHECK(after->size() == size_t{1} << 20);
}

TEST_CASE("rpc typed protobuf helpers") {
  IoThread io;
  Server server(io.io(), "127.0.0.1", 0);
  RegisterProto<test::EchoRequest, test::EchoResponse>(
      server, kEcho, [](const test::EchoRequest& request, std::function<void(absl::StatusOr<test::EchoResponse>)> reply) {
        if (request.text().empty()) return reply(absl::InvalidArgumentError("empty text"));
        test::EchoResponse response;
        response.set_text(request.text() + "!");
        reply(response);
      });
  REQUIRE(server.Start().ok());
  Client client(io.io(), "127.0.0.1", server.port());

  test::EchoRequest request;
  request.set_text("ping");
  Awaited<absl::StatusOr<test::EchoResponse>> ok;
  CallProto<test::EchoRequest, test::EchoResponse>(client, kEcho, request, kCallTimeoutMs, ok.Callback());
  auto response = ok.Get();
  REQUIRE(response.ok());
  CHECK(response->text() == "ping!");

  Awaited<absl::StatusOr<test::EchoResponse>> rejected;
  CallProto<test::EchoRequest, test::EchoResponse>(client, kEcho, test::EchoRequest(), kCallTimeoutMs,
                                                   rejected.Callback());
  CHECK(rejected.Get().status().code() == absl::StatusCode::kInvalidArgument);

  // Bytes that are not an EchoRequest are rejected by the server-side parser.
  Result malformed = CallAndWait(client, kEcho, "\xff\xff\xff");
  CHECK(malformed.status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("rpc many pipelined calls from several threads") {
  IoThread io;
  Server server(io.io(), "127.0.0.1", 0);
  RegisterTestMethods(server);
  REQUIRE(server.Start().ok());
  Client client(io.io(), "127.0.0.1", server.port());

  constexpr int kThreads = 4;
  constexpr int kCallsPerThread = 500;
  std::atomic<int> completed{0};
  std::atomic<int> wrong{0};
  std::promise<void> all_done;
  std::vector<std::thread> callers;
  for (int t = 0; t < kThreads; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        std::string payload = std::to_string(t) + ":" + std::to_string(i);
        client.Call(kEcho, payload, kCallTimeoutMs, [&, payload](Result result) {
          if (!result.ok() || *result != payload) wrong++;
          if (++completed == kThreads * kCallsPerThread) all_done.set_value();
        });
      }
    });
  }
  for (auto& caller : callers) caller.join();
  REQUIRE(all_done.get_future().wait_for(kWait) == std::future_status::ready);
  CHECK(wrong.load() == 0);
}

TEST_CASE("rpc deferred reply does not hold up later calls") {
  IoThread io;
  DeferredReplies deferred;
  Server server(io.io(), "127.0.0.1", 0);
  RegisterTestMethods(server, &deferred);
  REQUIRE(server.Start().ok());
  Client client(io.io(), "127.0.0.1", server.port());

  Awaited<Result> slow;
  client.Call(kDeferred, "wait", kCallTimeoutMs, slow.Callback());
  Server::Reply reply = deferred.Take();

  Result fast = CallAndWait(client, kEcho, "fast");
  REQUIRE(fast.ok());
  CHECK(*fast == "fast");

  std::thread([reply = std::move(reply)] { reply(std::string("late")); }).join();
  Result late = slow.Get();
  REQUIRE(late.ok());
  CHECK(*late == "late");
}

TEST_CASE("rpc reply dropped by the handler arrives as Internal") {
  IoThread io;
  Server server(io.io(), "127.0.0.1", 0);
  server.Register(kEcho, [](std::string_view, Server::Reply) {});
  REQUIRE(server.Start().ok());
  Client client(io.io(), "127.0.0.1", server.port());
  CHECK(CallAndWait(client, kEcho, "x").status().code() == absl::StatusCode::kInternal);
}

TEST_CASE("rpc call times out and the connection stays usable") {
  IoThread io;
  DeferredReplies deferred;
  Server server(io.io(), "127.0.0.1", 0);
  RegisterTestMethods(server, &deferred);
  REQUIRE(server.Start().ok());
  Client client(io.io(), "127.0.0.1", server.port());

  Result timed_out = CallAndWait(client, kDeferred, "never", 50);
  CHECK(timed_out.status().code() == absl::StatusCode::kDeadlineExceeded);

  // The late reply is ignored by the client; later calls still work.
  deferred.Take()(std::string("too late"));
  Result next = CallAndWait(client, kEcho, "next");
  REQUIRE(next.ok());
  CHECK(*next == "next");
}

TEST_CASE("rpc server restart: in-flight calls fail, the client reconnects") {
  IoThread io;
  DeferredReplies deferred;
  auto first = std::make_unique<Server>(io.io(), "127.0.0.1", 0);
  RegisterTestMethods(*first, &deferred);
  REQUIRE(first->Start().ok());
  uint16_t port = first->port();
  Client client(io.io(), "127.0.0.1", port);
  REQUIRE(CallAndWait(client, kEcho, "before").ok());

  Awaited<Result> in_flight;
  client.Call(kDeferred, "pending", kCallTimeoutMs, in_flight.Callback());
  Server::Reply stale_reply = deferred.Take();
  first->Stop();
  CHECK(in_flight.Get().status().code() == absl::StatusCode::kUnavailable);
  stale_reply(std::string("dropped"));  // the session is gone; must be harmless
  first.reset();

  CHECK(CallAndWait(client, kEcho, "down").status().code() == absl::StatusCode::kUnavailable);

  Server second(io.io(), "127.0.0.1", port);
  RegisterTestMethods(second);
  REQUIRE(second.Start().ok());
  Result after = CallAndWait(client, kEcho, "after");
  REQUIRE(after.ok());
  CHECK(*after == "after");
}

TEST_CASE("rpc garbage input closes only that connection") {
  IoThread io;
  Server server(io.io(), "127.0.0.1", 0);
  RegisterTestMethods(server);
  REQUIRE(server.Start().ok());
  Client client(io.io(), "127.0.0.1", server.port());
  REQUIRE(CallAndWait(client, kEcho, "first").ok());

  SECTION("text instead of a frame") {
    RawConnection raw(server.port());
    raw.Write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(raw.ReadUntilClosed().empty());
  }
  SECTION("huge length") {
    RawConnection raw(server.port());
    raw.Write(std::string("\xff\xff\xff\xff", 4));
    CHECK(raw.ReadUntilClosed().empty());
  }
  SECTION("length shorter than a header") {
    RawConnection raw(server.port());
    raw.Write(std::string("\x00\x00\x00\x02zz", 6));
    CHECK(raw.ReadUntilClosed().empty());
  }
  SECTION("truncated frame") {
    RawConnection raw(server.port());
    raw.Write(std::string("\x00\x00\x00\x64\x00\x00", 6));
    raw.ShutdownWrite();
    CHECK(raw.ReadUntilClosed().empty());
  }
  SECTION("request before the hello") {
    RawConnection raw(server.port());
    raw.Write(EncodeFrame({.kind = FrameKind::kRequest, .correlation_id = 1, .method = kEcho}, "x"));
    CHECK(raw.ReadUntilClosed().empty());
  }
  SECTION("unknown frame kind after the hello") {
    RawConnection raw(server.port());
    raw.Handshake();
    raw.Write(std::string("\x00\x00\x00\x07\x09\x00\x00\x00\x01\x00\x01", 11));
    CHECK(raw.ReadUntilClosed().empty());
  }
  SECTION("bad hello magic") {
    RawConnection raw(server.port());
    raw.Write(EncodeFrame({.kind = FrameKind::kHello}, "SLUICE-XYZ\x00\x01"));
    CHECK(raw.ReadUntilClosed().empty());
  }

  Result still = CallAndWait(client, kEcho, "still serving");
  REQUIRE(still.ok());
  CHECK(*still == "still serving");
}

TEST_CASE("rpc frames over the configured limit close the connection") {
  IoThread io;
  Server server(io.io(), "127.0.0.1", 0, ServerOptions{.max_frame_bytes = 1024});
  RegisterTestMethods(server);
  REQUIRE(server.Start().ok());
  Client client(io.io(), "127.0.0.1", server.port());
  CHECK(CallAndWait(client, kEcho, std::string(2000, 'x')).status().code() == absl::StatusCode::kUnavailable);
  CHECK(CallAndWait(client, kEcho, std::string(1000, 'x')).ok());
}

TEST_CASE("rpc server rejects a client with another protocol version") {
  IoThread io;
  Server server(io.io(), "127.0.0.1", 0);
  RegisterTestMethods(server);
  REQUIRE(server.Start().ok());

  RawConnection raw(server.port());
  raw.Write(EncodeFrame({.kind = FrameKind::kHello}, EncodeHello(kProtocolVersion + 1)));
  std::string reply = raw.ReadUntilClosed();
  REQUIRE(reply.size() >= kLengthFieldBytes + kHeaderBytes);
  auto header = DecodeHeader(std::string_view(reply).substr(kLengthFieldBytes));
  REQUIRE(header.ok());
  CHECK(header->kind == FrameKind::kError);
  absl::Status status = DecodeStatus(std::string_view(reply).substr(kLengthFieldBytes + kHeaderBytes));
  CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(status.message()).find("version mismatch") != std::string::npos);
}

TEST_CASE("rpc client reports a server with another protocol version") {
  IoThread io;
  asio::io_context fake_io;
  tcp::acceptor acceptor(fake_io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::thread fake_server([&] {
    tcp::socket socket = acceptor.accept();
    std::string hello(kLengthFieldBytes + kHeaderBytes + kHelloMagic.size() + 2, '\0');
    asio::read(socket, asio::buffer(hello));
    asio::write(socket, asio::buffer(EncodeFrame({.kind = FrameKind::kHello}, EncodeHello(kProtocolVersion + 1))));
    asio::error_code ec;
    char byte;
    socket.read_some(asio::buffer(&byte, 1), ec);  // until the client hangs up
  });
  Client client(io.io(), "127.0.0.1", acceptor.local_endpoint().port());
  Result result = CallAndWait(client, kEcho, "x");
  CHECK(result.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(result.status().message()).find("version mismatch") != std::string::npos);
  fake_server.join();
}

TEST_CASE("rpc client Close cancels pending calls and later ones") {
  IoThread io;
  DeferredReplies deferred;
  Server server(io.io(), "127.0.0.1", 0);
  RegisterTestMethods(server, &deferred);
  REQUIRE(server.Start().ok());
  Client client(io.io(), "127.0.0.1", server.port());
  Awaited<Result> pending;
  client.Call(kDeferred, "x", kCallTimeoutMs, pending.Callback());
  Server::Reply reply = deferred.Take();
  client.Close();
  CHECK(pending.Get().status().code() == absl::StatusCode::kCancelled);
  CHECK(CallAndWait(client, kEcho, "y").status().code() == absl::StatusCode::kCancelled);
  reply(std::string("ignored"));
}

TEST_CASE("rpc connection refused fails calls with Unavailable") {
  IoThread io;
  uint16_t port;
  {
    asio::io_context probe_io;
    tcp::acceptor probe(probe_io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }
  Client client(io.io(), "127.0.0.1", port);
  CHECK(CallAndWait(client, kEcho, "x").status().code() == absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sluice::rpc
