#pragma once
// Runs work on a partition's owner shard: at once when the caller already runs there (each
// shard's io_context is run by one thread), else posted to it.

#include <utility>

#include <asio/io_context.hpp>
#include <asio/post.hpp>

namespace sluice::broker {

template <class Work>
void RunOn(asio::io_context& target, asio::io_context& caller, Work work) {
  if (&target == &caller) {
    work();
  } else {
    asio::post(target, std::move(work));
  }
}

}  // namespace sluice::broker
