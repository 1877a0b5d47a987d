#include "protocol/net/response_writer.h"

#include <sys/sendfile.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <asio/post.hpp>
#include <fmt/format.h>

namespace sluice::net {
namespace {

// Bytes sent from files in one go before yielding to the other connections of the thread.
constexpr int64_t kSendfileBytesPerTurn = 4 << 20;
constexpr size_t kFileBufferBytes = 64 << 10;

absl::Status ErrnoStatus(std::string_view what) {
  return absl::UnavailableError(fmt::format("{}: {}", what, std::strerror(errno)));
}

}  // namespace

void ResponseWriter::Write(std::vector<kafka::OutboundMessage> messages, std::shared_ptr<void> owner, Done done) {
  messages_ = std::move(messages);
  owner_ = owner;
  done_ = std::move(done);
  absl::Status planned = Plan();
  if (!planned.ok()) {
    // Keep the completion asynchronous, like every other outcome.
    asio::post(transport_.socket().get_executor(), [this, owner, planned] { Finish(planned); });
    return;
  }
  Step();
}

absl::Status ResponseWriter::Plan() {
  size_prefixes_.resize(messages_.size());
  pieces_.clear();
  next_piece_ = 0;
  file_sent_ = 0;
  for (size_t i = 0; i < messages_.size(); ++i) {
    const kafka::OutboundMessage& message = messages_[i];
    int64_t size = message.size();
    if (size > INT32_MAX) return absl::InternalError(fmt::format("response of {} bytes is too large", size));
    for (int b = 0; b < 4; ++b) size_prefixes_[i][b] = static_cast<unsigned char>(size >> (24 - 8 * b));
    pieces_.push_back(Piece{.memory = std::string_view(reinterpret_cast<const char*>(size_prefixes_[i].data()), 4)});
    std::string_view bytes = message.bytes;
    size_t at = 0;
    for (const auto& splice : message.splices) {
      if (splice.at < at || splice.at > bytes.size() || (!splice.slice.file && !splice.owner) ||
          splice.slice.size < 0) {
        return absl::InternalError("response has a malformed splice");
      }
      if (splice.at > at) pieces_.push_back(Piece{.memory = bytes.substr(at, splice.at - at)});
      if (!splice.slice.file) {
        if (!splice.memory.empty()) pieces_.push_back(Piece{.memory = splice.memory});
      } else if (splice.slice.size > 0) {
        pieces_.push_back(Piece{.file = &splice.slice});
      }
      at = splice.at;
    }
    if (at < bytes.size()) pieces_.push_back(Piece{.memory = bytes.substr(at)});
  }
  return absl::OkStatus();
}

void ResponseWriter::Step() {
  if (next_piece_ == pieces_.size()) return Finish(absl::OkStatus());
  if (pieces_[next_piece_].file == nullptr) return WriteMemoryRun();
  if (zero_copy_) return SendFile();
  ReadFileIntoBuffer();
}

void ResponseWriter::WriteMemoryRun() {
  buffers_.clear();
  size_t end = next_piece_;
  for (; end < pieces_.size() && pieces_[end].file == nullptr; ++end) {
    buffers_.push_back(asio::buffer(pieces_[end].memory.data(), pieces_[end].memory.size()));
  }
  transport_.WriteAll(buffers_, [this, owner = owner_.lock(), end](asio::error_code ec, size_t) {
    if (ec) return Finish(absl::UnavailableError(fmt::format("write failed: {}", ec.message())));
    next_piece_ = end;
    Step();
  });
}

void ResponseWriter::SendFile() {
  const kafka::FileSlice& slice = *pieces_[next_piece_].file;
  int64_t sent_this_turn = 0;
  while (file_sent_ < slice.size) {
    if (sent_this_turn >= kSendfileBytesPerTurn) {
      asio::post(transport_.socket().get_executor(), [this, owner = owner_.lock()] { SendFile(); });
      return;
    }
    off_t offset = slice.position + file_sent_;
    size_t count = static_cast<size_t>(std::min(slice.size - file_sent_, kSendfileBytesPerTurn));
    ssize_t n = ::sendfile(transport_.socket().native_handle(), slice.file->fd(), &offset, count);
    if (n > 0) {
      file_sent_ += n;
      sent_this_turn += n;
      continue;
    }
    if (n == 0) return Finish(absl::DataLossError("file slice reaches past the end of its file"));
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      transport_.socket().async_wait(asio::ip::tcp::socket::wait_write, [this, owner = owner_.lock()](asio::error_code ec) {
        if (ec) return Finish(absl::UnavailableError(fmt::format("write failed: {}", ec.message())));
        SendFile();
      });
      return;
    }
    return Finish(ErrnoStatus("sendfile"));
  }
  file_sent_ = 0;
  ++next_piece_;
  Step();
}

void ResponseWriter::ReadFileIntoBuffer() {
  const kafka::FileSlice& slice = *pieces_[next_piece_].file;
  if (file_sent_ == slice.size) {
    file_sent_ = 0;
    ++next_piece_;
    return Step();
  }
  file_buffer_.resize(kFileBufferBytes);
  size_t want = static_cast<size_t>(std::min<int64_t>(slice.size - file_sent_, kFileBufferBytes));
  ssize_t n;
  do {
    n = ::pread(slice.file->fd(), file_buffer_.data(), want, slice.position + file_sent_);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Finish(ErrnoStatus("pread"));
  if (n == 0) return Finish(absl::DataLossError("file slice reaches past the end of its file"));
  transport_.WriteAll(asio::buffer(file_buffer_.data(), static_cast<size_t>(n)),
                    [this, owner = owner_.lock()](asio::error_code ec, size_t written) {
                      if (ec) return Finish(absl::UnavailableError(fmt::format("write failed: {}", ec.message())));
                      file_sent_ += static_cast<int64_t>(written);
                      ReadFileIntoBuffer();
                    });
}

void ResponseWriter::Finish(absl::Status status) {
  // Release the batch (and its file references) before reporting.
  messages_.clear();
  pieces_.clear();
  Done done = std::move(done_);
  std::shared_ptr<void> owner = owner_.lock();
  owner_.reset();
  done(std::move(status));
}

}  // namespace sluice::net
