#include "common/file_watch.h"

#include <sys/stat.h>

#include <fmt/format.h>

namespace sluice {

FileWatch::FileWatch(std::vector<std::string> paths, std::chrono::milliseconds interval)
    : paths_(std::move(paths)), interval_(interval), accepted_(Signature()), last_look_(std::chrono::steady_clock::now()) {}

std::optional<std::string> FileWatch::Changed() {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_look_ < interval_) return std::nullopt;
  last_look_ = now;
  std::string signature = Signature();
  if (signature == accepted_) return std::nullopt;
  return signature;
}

std::string FileWatch::Signature() const {
  std::string signature;
  for (const std::string& path : paths_) {
    struct stat st {};
    if (path.empty() || ::stat(path.c_str(), &st) != 0) {
      signature += "-;";
      continue;
    }
    signature += fmt::format("{}:{}.{};", st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  }
  return signature;
}

}  // namespace sluice
