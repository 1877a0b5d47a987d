#include "protocol/net/io_context_pool.h"

#include <algorithm>

namespace sluice::net {

IoContextPool::IoContextPool(size_t threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (size_t i = 0; i < threads; ++i) {
    // Concurrency hint 1: each context is run by exactly one thread.
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    guards_.push_back(asio::make_work_guard(*contexts_.back()));
  }
  for (auto& context : contexts_) threads_.emplace_back([io = context.get()] { io->run(); });
}

IoContextPool::~IoContextPool() { Stop(); }

asio::io_context& IoContextPool::Next() { return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()]; }

void IoContextPool::Stop() {
  for (auto& guard : guards_) guard.reset();
  for (auto& context : contexts_) context->stop();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

}  // namespace sluice::net
