#pragma once
// A fixed set of threads, each running its own asio::io_context. A connection lives on one
// io_context for its whole life, so its state needs no locks.

#include <atomic>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

namespace sluice::net {

class IoContextPool {
 public:
  // threads == 0: one per hardware thread. The threads start immediately.
  explicit IoContextPool(size_t threads = 0);
  // Stop()s.
  ~IoContextPool();
  IoContextPool(const IoContextPool&) = delete;
  IoContextPool& operator=(const IoContextPool&) = delete;

  // Round-robin; thread-safe.
  asio::io_context& Next();
  asio::io_context& at(size_t index) { return *contexts_[index]; }
  size_t size() const { return contexts_.size(); }

  // Stops every io_context (queued handlers are dropped) and joins the threads. Idempotent;
  // must not be called from a pool thread.
  void Stop();

 private:
  using WorkGuard = asio::executor_work_guard<asio::io_context::executor_type>;
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<WorkGuard> guards_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> next_{0};
};

}  // namespace sluice::net
