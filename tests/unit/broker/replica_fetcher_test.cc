// A replica fetcher against a scripted leader on a real socket: the leader refuses one of two
// partitions (as one that has not yet taken the leadership does) and parks fetches without data
// for their max_wait_ms. The refused partition's retry must not wait out the other's long poll.

#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include <future>
#include <mutex>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "broker/cluster/partition.h"
#include "broker/replication/replica_fetchers.h"
#include "broker/txn/producer_state.h"
#include "protocol/kafka/message_headers.h"
#include "protocol/kafka/messages/fetch.h"
#include "tests/unit/storage_log/log_test_util.h"

namespace {

using namespace sluice;
using namespace sluice::broker;
using asio::use_awaitable;
using kafka::FetchRequest;
using kafka::FetchResponse;

constexpr int32_t kSelf = 1;
constexpr int32_t kLeader = 2;
const metadata::TopicId kRefusedTopic{1};
const metadata::TopicId kServedTopic{2};

struct SeenFetch {
  bool has_refused = false;
  bool has_served = false;
  int32_t max_wait_ms = 0;
};

// Answers Fetch requests: the refused topic always with NOT_LEADER_OR_FOLLOWER (at once), the
// served one with no data, after the request's max_wait_ms as a leader's long poll would.
class ScriptedLeader {
 public:
  ScriptedLeader() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    asio::co_spawn(io_, Accept(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~ScriptedLeader() {
    io_.stop();
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::vector<SeenFetch> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  asio::awaitable<void> Accept() {
    for (;;) {
      auto socket = std::make_shared<asio::ip::tcp::socket>(co_await acceptor_.async_accept(use_awaitable));
      asio::co_spawn(io_, Serve(socket), asio::detached);  // the follower reconnects after abandoning a fetch
    }
  }

  asio::awaitable<void> Serve(std::shared_ptr<asio::ip::tcp::socket> socket) {
    for (;;) {
      uint32_t size = 0;
      co_await asio::async_read(*socket, asio::buffer(&size, 4), use_awaitable);
      std::string frame(ntohl(size), '\0');
      co_await asio::async_read(*socket, asio::buffer(frame), use_awaitable);
      kafka::Reader reader(frame);
      auto header = kafka::DecodeRequestHeader(reader);
      FetchRequest request;
      // Catch2 asserts on the test's thread only: a bad frame ends the session, and the wait fails.
      if (!header.ok() || !request.Decode(reader, header->request_api_version).ok()) co_return;
      const FetchResponse response = Answer(request);
      if (request.max_wait_ms > 0 && !Refuses(request)) {
        asio::steady_timer park(io_, std::chrono::milliseconds(request.max_wait_ms));
        co_await park.async_wait(use_awaitable);
      }
      kafka::OutboundMessage out = kafka::EncodeResponse(header->correlation_id, header->request_api_version, response);
      const uint32_t out_size = htonl(static_cast<uint32_t>(out.bytes.size()));
      co_await asio::async_write(*socket, asio::buffer(&out_size, 4), use_awaitable);
      co_await asio::async_write(*socket, asio::buffer(out.bytes), use_awaitable);
    }
  }

  static bool Refuses(const FetchRequest& request) {
    for (const auto& topic : request.topics) {
      if (metadata::TopicId(topic.topic_id.bytes) == kRefusedTopic) return true;
    }
    return false;
  }

  FetchResponse Answer(const FetchRequest& request) {
    SeenFetch seen{.max_wait_ms = request.max_wait_ms};
    FetchResponse response;
    for (const auto& topic : request.topics) {
      const bool refused = metadata::TopicId(topic.topic_id.bytes) == kRefusedTopic;
      (refused ? seen.has_refused : seen.has_served) = true;
      FetchResponse::FetchableTopicResponse out{.topic_id = topic.topic_id};
      for (const auto& partition : topic.partitions) {
        FetchResponse::PartitionData data;
        data.partition_index = partition.partition;
        data.error_code = static_cast<int16_t>(refused ? kafka::ErrorCode::kNotLeaderOrFollower : kafka::ErrorCode::kNone);
        data.high_watermark = refused ? -1 : 0;
        data.records = kafka::Records::Borrow({});
        out.partitions.push_back(std::move(data));
      }
      response.responses.push_back(std::move(out));
    }
    std::lock_guard lock(mutex_);
    seen_.push_back(seen);
    return response;
  }

  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<SeenFetch> seen_;
};

TEST_CASE("a partition the leader refused is asked again without waiting out the others' long poll") {
  ScriptedLeader leader;
  storage::testing::TempDir dir;
  net::IoContextPool shards{1};
  asio::thread_pool background{1};
  MetadataCache metadata;
  ReplicaContext context{.broker_id = kSelf, .clock = SystemClock::Instance(), .options = {}, .shards = shards,
                         .background = background, .metadata = metadata};
  auto image = std::make_shared<metadata::MetadataImage>();
  for (int32_t id : {kSelf, kLeader}) {
    metadata::Record record;
    record.mutable_broker_registration()->set_broker_id(id);
    record.mutable_broker_registration()->set_broker_epoch(100 + id);
    record.mutable_broker_registration()->set_host("127.0.0.1");
    record.mutable_broker_registration()->set_port(id == kLeader ? leader.port() : 1);
    REQUIRE(image->Apply(record, id).ok());
  }
  metadata.Publish(image);
  context.fetchers.push_back(std::make_unique<ReplicaFetchers>(shards.at(0), context));
  context.broker_epoch = [] { return int64_t{101}; };
  context.alter_partition = [](const metadata::AlterPartitionRequest&, ReplicaContext::AlterPartitionDone) {};

  std::vector<std::shared_ptr<Partition>> followers;
  for (const auto& [topic, name] : {std::pair{kRefusedTopic, "refused"}, std::pair{kServedTopic, "served"}}) {
    auto log = storage::PartitionLog::Open(dir.path() / (std::string(name) + "-0"), {}, context.clock);
    REQUIRE(log.ok());
    followers.push_back(std::make_shared<Partition>(topic, name, 0, 0, std::move(*log), ProducerStateTable(), context));
  }
  auto on_shard = [&](auto task) {
    std::promise<void> done;
    asio::post(shards.at(0), [&] {
      task();
      done.set_value();
    });
    REQUIRE(done.get_future().wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  };
  on_shard([&] {
    for (auto& follower : followers) {
      follower->ApplyAssignment(
          {.leader = kLeader, .leader_epoch = 1, .partition_epoch = 1, .replicas = {1, 2}, .isr = {1, 2}});
    }
  });

  // Wait (bounded) until the refused partition was asked for, then left out, then asked again.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::vector<SeenFetch> seen;
  auto asked_again = [&] {
    seen = leader.seen();
    size_t i = 0;
    while (i < seen.size() && !seen[i].has_refused) ++i;
    while (i < seen.size() && seen[i].has_refused) ++i;
    if (i == seen.size()) return false;
    while (i < seen.size() && !seen[i].has_refused) ++i;
    return i < seen.size();
  };
  while (!asked_again()) {
    INFO("waiting for the refused partition to be asked again; fetches seen: " << seen.size());
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Every fetch that left it out while it waited for its retry was bounded by that retry.
  for (const SeenFetch& fetch : seen) {
    if (fetch.has_served && !fetch.has_refused) CHECK(fetch.max_wait_ms < context.options.fetch_wait_max_ms);
  }
  on_shard([&] {
    for (auto& follower : followers) follower->Stop();
    context.fetchers[0]->Stop();
  });
  shards.Stop();
}

}  // namespace
