#include "protocol/net/kafka_server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <random>
#include <thread>

#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <catch2/catch.hpp>

namespace sluice::net {
namespace {

using asio::ip::tcp;
constexpr auto kWait = std::chrono::seconds(10);

std::string SizePrefix(int32_t size) {
  std::string prefix(4, '\0');
  for (int b = 0; b < 4; ++b) prefix[b] = static_cast<char>(static_cast<uint32_t>(size) >> (24 - 8 * b));
  return prefix;
}

kafka::OutboundMessage Message(std::string bytes) {
  kafka::OutboundMessage message;
  message.bytes = std::move(bytes);
  return message;
}

// A blocking Kafka-framed client whose reads give up after kWait.
class TestClient {
 public:
  explicit TestClient(uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    timeval timeout{.tv_sec = 10, .tv_usec = 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  }
  void SendRaw(std::string_view bytes) { asio::write(socket_, asio::buffer(bytes.data(), bytes.size())); }
  void SendFrame(std::string_view body) { SendRaw(SizePrefix(static_cast<int32_t>(body.size())) + std::string(body)); }
  std::string ReadFrame() {
    unsigned char prefix[4];
    asio::error_code ec;
    asio::read(socket_, asio::buffer(prefix), ec);
    INFO("reading a response size: " << ec.message());
    REQUIRE(!ec);
    uint32_t size = (uint32_t{prefix[0]} << 24) | (uint32_t{prefix[1]} << 16) | (uint32_t{prefix[2]} << 8) | prefix[3];
    std::string body(size, '\0');
    asio::read(socket_, asio::buffer(body), ec);
    INFO("reading a response body: " << ec.message());
    REQUIRE(!ec);
    return body;
  }
  std::string ReadUntilClosed() {
    std::string received;
    char buffer[4096];
    for (;;) {
      asio::error_code ec;
      size_t n = socket_.read_some(asio::buffer(buffer), ec);
      received.append(buffer, n);
      if (ec) {
        INFO("expected the server to close: " << ec.message());
        REQUIRE((ec == asio::error::eof || ec == asio::error::connection_reset));
        return received;
      }
    }
  }
  // Fails the test when no close arrives within kWait (or data arrives instead).
  void ExpectClosed() {
    char byte;
    asio::error_code ec;
    size_t n = socket_.read_some(asio::buffer(&byte, 1), ec);
    INFO("expected the server to close; read " << n << " bytes, " << ec.message());
    REQUIRE((ec == asio::error::eof || ec == asio::error::connection_reset));
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
};

class FdFile final : public kafka::FileRef {
 public:
  explicit FdFile(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {}
  ~FdFile() override { ::close(fd_); }
  int fd() const override { return fd_; }

 private:
  int fd_;
};

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sluice-net-test-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Handler driven by the request text: "echo:X", "defer:X" (answered later by the test),
// "none" (no response), "close", "drop" (responder discarded), "file" (see file_response).
class TestHandler {
 public:
  struct Deferred {
    Responder responder;
    std::string text;
  };

  RequestHandler AsHandler() {
    return [this](const ConnectionInfo& connection, std::shared_ptr<const std::string> frame, Responder responder) {
      CHECK(connection.io.get_executor().running_in_this_thread());
      std::string_view request = *frame;
      if (request.rfind("echo:", 0) == 0) return responder.Send(Message(std::string(request.substr(5))));
      if (request.rfind("defer:", 0) == 0) {
        std::lock_guard lock(mu_);
        deferred_.push_back(Deferred{responder, std::string(request.substr(6))});
        changed_.notify_all();
        return;
      }
      if (request == "none") return responder.NoResponse();
      if (request == "close") return responder.Close();
      if (request == "file") return responder.Send(file_response);
      if (request == "drop") return;
      FAIL("unexpected request " << request);
    };
  }

  // Waits until `count` deferred requests are held and takes them, oldest first.
  std::vector<Deferred> TakeDeferred(size_t count) {
    std::unique_lock lock(mu_);
    INFO("waiting for " << count << " deferred requests");
    REQUIRE(changed_.wait_for(lock, kWait, [&] { return deferred_.size() >= count; }));
    std::vector<Deferred> taken(deferred_.begin(), deferred_.begin() + static_cast<long>(count));
    deferred_.erase(deferred_.begin(), deferred_.begin() + static_cast<long>(count));
    return taken;
  }

  size_t DeferredCount() {
    std::lock_guard lock(mu_);
    return deferred_.size();
  }

  kafka::OutboundMessage file_response;

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Deferred> deferred_;
};

ServerOptions TestOptions() { return ServerOptions{.host = "127.0.0.1", .port = 0}; }

TEST_CASE("kafka server answers pipelined requests in order when handlers finish out of order") {
  IoContextPool pool(2);
  TestHandler handler;
  KafkaServer server(pool, TestOptions(), handler.AsHandler());
  REQUIRE(server.Start().ok());
  TestClient client(server.port());

  constexpr int kRequests = 20;
  std::string pipeline;
  for (int i = 0; i < kRequests; ++i) {
    std::string body = (i % 2 == 0 ? "echo:" : "defer:") + std::to_string(i);
    pipeline += SizePrefix(static_cast<int32_t>(body.size())) + body;
  }
  client.SendRaw(pipeline);

  // Answer the deferred half from another thread, newest first.
  auto deferred = handler.TakeDeferred(kRequests / 2);
  std::thread answerer([&] {
    for (auto it = deferred.rbegin(); it != deferred.rend(); ++it) it->responder.Send(Message(it->text));
  });
  for (int i = 0; i < kRequests; ++i) CHECK(client.ReadFrame() == std::to_string(i));
  answerer.join();
}

TEST_CASE("kafka server sends file splices byte-exact") {
  bool zero_copy = GENERATE(true, false);
  INFO("zero_copy = " << zero_copy);
  TempDir dir;
  std::string path = dir.File("segment.log");
  std::string contents(3 << 20, '\0');
  std::mt19937 random(42);
  for (auto& c : contents) c = static_cast<char>(random());
  std::ofstream(path, std::ios::binary).write(contents.data(), static_cast<std::streamsize>(contents.size()));
  auto file = std::make_shared<FdFile>(path);
  REQUIRE(file->fd() >= 0);

  IoContextPool pool(2);
  TestHandler handler;
  // "head" | file[1000, 1000 + 2 MiB) | "mid" | file[7, 107) | owned memory | "tail" | file[0, 1)
  kafka::OutboundMessage& response = handler.file_response;
  response.bytes = "headmidtail";
  auto owned = std::make_shared<std::string>(contents.substr(5000, 70000));
  response.splices = {{.at = 4, .slice = {.file = file, .position = 1000, .size = 2 << 20}},
                      {.at = 7, .slice = {.file = file, .position = 7, .size = 100}},
                      {.at = 7, .memory = *owned, .owner = owned},
                      {.at = 11, .slice = {.file = file, .position = 0, .size = 1}}};
  std::string expected = "head" + contents.substr(1000, 2 << 20) + "mid" + contents.substr(7, 100) + *owned + "tail" +
                         contents.substr(0, 1);

  ServerOptions options = TestOptions();
  options.zero_copy = zero_copy;
  KafkaServer server(pool, options, handler.AsHandler());
  REQUIRE(server.Start().ok());
  TestClient client(server.port());
  client.SendFrame("file");
  client.SendFrame("echo:after");
  client.SendFrame("file");
  CHECK(client.ReadFrame() == expected);
  CHECK(client.ReadFrame() == "after");
  CHECK(client.ReadFrame() == expected);
}

TEST_CASE("kafka server closes a connection when a file slice reaches past the end of the file") {
  TempDir dir;
  std::string path = dir.File("short.log");
  std::ofstream(path, std::ios::binary) << "0123456789";
  auto file = std::make_shared<FdFile>(path);
  bool zero_copy = GENERATE(true, false);

  IoContextPool pool(1);
  TestHandler handler;
  handler.file_response.bytes = "x";
  handler.file_response.splices = {{.at = 1, .slice = {.file = file, .position = 5, .size = 100}}};
  ServerOptions options = TestOptions();
  options.zero_copy = zero_copy;
  KafkaServer server(pool, options, handler.AsHandler());
  REQUIRE(server.Start().ok());
  TestClient client(server.port());
  client.SendFrame("file");
  // The size prefix and part of the body may arrive; the connection must then close.
  CHECK(client.ReadUntilClosed().size() < 4 + 101);
  TestClient other(server.port());
  other.SendFrame("echo:fine");
  CHECK(other.ReadFrame() == "fine");
}

TEST_CASE("kafka server closes only the connection that sent a bad size") {
  IoContextPool pool(2);
  TestHandler handler;
  ServerOptions options = TestOptions();
  options.max_request_bytes = 1024;
  KafkaServer server(pool, options, handler.AsHandler());
  REQUIRE(server.Start().ok());
  TestClient good(server.port());
  good.SendFrame("echo:1");
  CHECK(good.ReadFrame() == "1");

  int32_t bad_size = GENERATE(1025, 0, -1, INT32_MIN, INT32_MAX);
  INFO("size " << bad_size);
  TestClient bad(server.port());
  bad.SendRaw(SizePrefix(bad_size) + "xxxx");
  bad.ExpectClosed();

  good.SendFrame("echo:2");
  CHECK(good.ReadFrame() == "2");
}

TEST_CASE("kafka server closes a connection that ends inside a request") {
  IoContextPool pool(1);
  TestHandler handler;
  KafkaServer server(pool, TestOptions(), handler.AsHandler());
  REQUIRE(server.Start().ok());
  {
    TestClient truncated(server.port());
    truncated.SendRaw(SizePrefix(100) + "short");
  }
  TestClient good(server.port());
  good.SendFrame("echo:ok");
  CHECK(good.ReadFrame() == "ok");
}

TEST_CASE("kafka server closes idle connections") {
  IoContextPool pool(1);
  TestHandler handler;
  ServerOptions options = TestOptions();
  options.idle_timeout_ms = 100;
  KafkaServer server(pool, options, handler.AsHandler());
  REQUIRE(server.Start().ok());
  auto start = std::chrono::steady_clock::now();
  TestClient client(server.port());
  client.SendFrame("echo:x");
  CHECK(client.ReadFrame() == "x");
  client.ExpectClosed();
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(100));
}

TEST_CASE("kafka server keeps order across requests without responses") {
  IoContextPool pool(2);
  TestHandler handler;
  KafkaServer server(pool, TestOptions(), handler.AsHandler());
  REQUIRE(server.Start().ok());
  TestClient client(server.port());
  client.SendFrame("echo:a");
  client.SendFrame("none");
  client.SendFrame("defer:b");
  client.SendFrame("defer:");
  client.SendFrame("echo:c");
  auto deferred = handler.TakeDeferred(2);
  std::thread([&] {
    deferred[1].responder.NoResponse();
    deferred[0].responder.Send(Message("b"));
  }).join();
  CHECK(client.ReadFrame() == "a");
  CHECK(client.ReadFrame() == "b");
  CHECK(client.ReadFrame() == "c");
}

TEST_CASE("kafka server Responder::Close closes after the earlier responses") {
  IoContextPool pool(1);
  TestHandler handler;
  KafkaServer server(pool, TestOptions(), handler.AsHandler());
  REQUIRE(server.Start().ok());
  TestClient client(server.port());
  client.SendFrame("defer:first");
  client.SendFrame("close");
  client.SendFrame("echo:never");
  auto deferred = handler.TakeDeferred(1);
  deferred[0].responder.Send(Message("first"));
  CHECK(client.ReadFrame() == "first");
  client.ExpectClosed();
}

TEST_CASE("kafka server closes the connection when a handler drops its responder") {
  IoContextPool pool(1);
  TestHandler handler;
  KafkaServer server(pool, TestOptions(), handler.AsHandler());
  REQUIRE(server.Start().ok());
  TestClient client(server.port());
  client.SendFrame("echo:ok");
  client.SendFrame("drop");
  CHECK(client.ReadFrame() == "ok");
  client.ExpectClosed();
}

TEST_CASE("kafka server stops reading at the in-flight limit and resumes after answers") {
  IoContextPool pool(1);
  TestHandler handler;
  ServerOptions options = TestOptions();
  options.max_inflight_requests = 2;
  KafkaServer server(pool, options, handler.AsHandler());
  REQUIRE(server.Start().ok());
  TestClient client(server.port());
  for (int i = 0; i < 5; ++i) client.SendFrame("defer:" + std::to_string(i));

  auto first = handler.TakeDeferred(2);
  // Negative check: with the limit reached, no third request may reach the handler.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(handler.DeferredCount() == 0);
  for (auto& d : first) d.responder.Send(Message(d.text));
  auto rest = handler.TakeDeferred(2);
  for (auto& d : rest) d.responder.Send(Message(d.text));
  auto last = handler.TakeDeferred(1);
  last[0].responder.Send(Message(last[0].text));
  for (int i = 0; i < 5; ++i) CHECK(client.ReadFrame() == std::to_string(i));
}

TEST_CASE("kafka server Stop closes open connections; late answers are dropped") {
  IoContextPool pool(2);
  TestHandler handler;
  auto server = std::make_unique<KafkaServer>(pool, TestOptions(), handler.AsHandler());
  REQUIRE(server->Start().ok());
  uint16_t port = server->port();
  TestClient idle(port);
  TestClient busy(port);
  busy.SendFrame("defer:late");
  auto deferred = handler.TakeDeferred(1);

  auto stopped = std::async(std::launch::async, [&] { server->Stop(); });
  REQUIRE(stopped.wait_for(kWait) == std::future_status::ready);
  idle.ExpectClosed();
  busy.ExpectClosed();
  deferred[0].responder.Send(Message("late"));  // the connection is gone: dropped
  server.reset();

  asio::io_context io;
  tcp::socket probe(io);
  asio::error_code ec;
  probe.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  CHECK(ec == asio::error::connection_refused);
}

TEST_CASE("kafka server handlers can keep the frame while suspended") {
  IoContextPool pool(1);
  std::mutex mu;
  std::vector<std::pair<std::shared_ptr<const std::string>, Responder>> held;
  std::condition_variable arrived;
  KafkaServer server(pool, TestOptions(), [&](const ConnectionInfo&, std::shared_ptr<const std::string> frame, Responder responder) {
    std::lock_guard lock(mu);
    held.emplace_back(std::move(frame), std::move(responder));
    arrived.notify_all();
  });
  REQUIRE(server.Start().ok());
  TestClient client(server.port());
  client.SendFrame("first-request");
  client.SendFrame("second");
  {
    std::unique_lock lock(mu);
    REQUIRE(arrived.wait_for(lock, kWait, [&] { return held.size() == 2; }));
  }
  // Both frames are intact although the second was read after the first was handed out.
  for (auto& [frame, responder] : held) responder.Send(Message(*frame));
  CHECK(client.ReadFrame() == "first-request");
  CHECK(client.ReadFrame() == "second");
}

TEST_CASE("kafka server rejects invalid options at start") {
  IoContextPool pool(1);
  TestHandler handler;
  ServerOptions options = TestOptions();
  SECTION("request size") { options.max_request_bytes = 0; }
  SECTION("idle timeout") { options.idle_timeout_ms = 0; }
  SECTION("in-flight limit") { options.max_inflight_requests = 0; }
  KafkaServer server(pool, options, handler.AsHandler());
  CHECK(server.Start().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("kafka server reports a port already in use") {
  IoContextPool pool(1);
  TestHandler handler;
  KafkaServer first(pool, TestOptions(), handler.AsHandler());
  REQUIRE(first.Start().ok());
  ServerOptions options = TestOptions();
  options.port = first.port();
  KafkaServer second(pool, options, handler.AsHandler());
  CHECK(second.Start().code() == absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sluice::net
