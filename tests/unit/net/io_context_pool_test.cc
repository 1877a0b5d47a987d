#include "protocol/net/io_context_pool.h"

#include <chrono>
#include <future>
#include <set>

#include <asio/post.hpp>
#include <catch2/catch.hpp>

namespace sluice::net {
namespace {

TEST_CASE("io context pool hands out contexts round-robin, each on its own thread") {
  IoContextPool pool(3);
  REQUIRE(pool.size() == 3);
  std::set<asio::io_context*> seen;
  for (int i = 0; i < 6; ++i) seen.insert(&pool.Next());
  CHECK(seen.size() == 3);

  std::set<std::thread::id> threads;
  for (size_t i = 0; i < pool.size(); ++i) {
    std::promise<std::thread::id> ran;
    asio::post(pool.at(i), [&] { ran.set_value(std::this_thread::get_id()); });
    auto future = ran.get_future();
    REQUIRE(future.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    threads.insert(future.get());
  }
  CHECK(threads.size() == 3);
  CHECK(threads.count(std::this_thread::get_id()) == 0);

  pool.Stop();
  pool.Stop();  // idempotent
}

TEST_CASE("io context pool defaults to one thread per hardware thread") {
  IoContextPool pool;
  CHECK(pool.size() == std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace
}  // namespace sluice::net
