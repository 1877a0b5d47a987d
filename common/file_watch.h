#pragma once
// Notices that files changed (their size or modification time), looking no more than once per
// interval: how certificates and key sets are reloaded without a restart.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace sluice {

class FileWatch {
 public:
  // Empty paths are ignored. The files as they are now count as accepted.
  explicit FileWatch(std::vector<std::string> paths, std::chrono::milliseconds interval = std::chrono::seconds(1));

  // When a look is due and the files differ from what was last accepted: their new signature.
  // The caller reloads and, if that worked, Accept()s it; otherwise the next look retries. Not
  // thread-safe.
  std::optional<std::string> Changed();
  void Accept(std::string signature) { accepted_ = std::move(signature); }

 private:
  std::string Signature() const;

  const std::vector<std::string> paths_;
  const std::chrono::milliseconds interval_;
  std::string accepted_;
  std::chrono::steady_clock::time_point last_look_;
};

}  // namespace sluice
