#pragma once
// The bounded wait of unit tests that watch another thread (a coordinator, a shard), as
// harness.wait_until is for the integration tests: polls `condition` until it returns a truthy
// value and returns that, or fails the test naming `what` after `timeout`. The pause between
// polls only paces them; nothing waits on time alone.

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

namespace sluice::testing {

template <class Condition>
auto WaitUntil(Condition condition, const std::string& what,
               std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto result = condition();
    if (result) return result;
    INFO("waiting for " << what);
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace sluice::testing
