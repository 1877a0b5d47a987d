#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "storage/kv/kv_store.h"

namespace {

using sluice::kv::KvStore;
using sluice::kv::WriteBatch;

std::string TempDir() {
  std::string templ = (std::filesystem::temp_directory_path() / "sluice-kv-XXXXXX").string();
  REQUIRE(mkdtemp(templ.data()) != nullptr);
  return templ;
}

struct DirGuard {
  std::string path = TempDir();
  ~DirGuard() { std::filesystem::remove_all(path); }
};

TEST_CASE("kv: put, get, delete across column families") {
  DirGuard dir;
  auto store = KvStore::Open(dir.path, {"a", "b"});
  REQUIRE(store.ok());
  REQUIRE((*store)->Put("a", "k", "1").ok());
  REQUIRE((*store)->Put("b", "k", "2").ok());
  CHECK(*(*store)->Get("a", "k") == "1");
  CHECK(*(*store)->Get("b", "k") == "2");
  REQUIRE((*store)->Delete("a", "k").ok());
  CHECK(absl::IsNotFound((*store)->Get("a", "k").status()));
  CHECK(*(*store)->Get("b", "k") == "2");
}

TEST_CASE("kv: unknown column family is an error, not a crash") {
  DirGuard dir;
  auto store = KvStore::Open(dir.path, {"a"});
  REQUIRE(store.ok());
  CHECK(absl::IsInvalidArgument((*store)->Put("nope", "k", "v")));
  CHECK(absl::IsInvalidArgument((*store)->Get("nope", "k").status()));
  WriteBatch batch;
  batch.Put("a", "k", "v");
  batch.Put("nope", "k", "v");
  CHECK(absl::IsInvalidArgument((*store)->Write(batch)));
  // Nothing of a refused batch is applied.
  CHECK(absl::IsNotFound((*store)->Get("a", "k").status()));
}

TEST_CASE("kv: batch with range delete, scans in byte order") {
  DirGuard dir;
  auto store = KvStore::Open(dir.path, {"log"});
  REQUIRE(store.ok());
  WriteBatch batch;
  for (char c = 'a'; c <= 'f'; ++c) batch.Put("log", std::string("k") + c, std::string(1, c));
  batch.Put("log", "other", "x");
  batch.DeleteRange("log", "kc", "ke");  // removes kc, kd
  REQUIRE((*store)->Write(batch).ok());

  std::vector<std::string> keys;
  REQUIRE((*store)
              ->ScanPrefix("log", "k",
                           [&](std::string_view k, std::string_view) {
                             keys.emplace_back(k);
                             return true;
                           })
              .ok());
  CHECK(keys == std::vector<std::string>{"ka", "kb", "ke", "kf"});

  keys.clear();
  REQUIRE((*store)
              ->Scan("log", "kb", "kf",
                     [&](std::string_view k, std::string_view) {
                       keys.emplace_back(k);
                       return keys.size() < 10;
                     })
              .ok());
  CHECK(keys == std::vector<std::string>{"kb", "ke"});
}

TEST_CASE("kv: synced and unsynced writes survive a reopen") {
  DirGuard dir;
  {
    auto store = KvStore::Open(dir.path, {"m"});
    REQUIRE(store.ok());
    REQUIRE((*store)->Put("m", "synced", "1", {.sync = true}).ok());
    REQUIRE((*store)->Put("m", "unsynced", "2", {.sync = false}).ok());
  }
  auto store = KvStore::Open(dir.path, {});  // families on disk are reopened even unnamed
  REQUIRE(store.ok());
  CHECK(*(*store)->Get("m", "synced") == "1");
  CHECK(*(*store)->Get("m", "unsynced") == "2");
}

TEST_CASE("kv: opening a path that is a file fails cleanly") {
  DirGuard dir;
  std::string file = dir.path + "/plain";
  REQUIRE(std::system(("touch " + file).c_str()) == 0);
  auto store = KvStore::Open(file, {"a"});
  CHECK_FALSE(store.ok());
}

}  // namespace
