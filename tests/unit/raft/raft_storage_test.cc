// RaftStorage on RocksDB: what a Ready asks to make durable is exactly what Load returns after
// a reopen (a crash drops the process, not synced writes).

#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "controller/raft/raft_storage_rocksdb.h"
#include "storage/kv/kv_store.h"

namespace {

using namespace sluice::raft;

struct TempDir {
  std::string path;
  TempDir() {
    path = (std::filesystem::temp_directory_path() / "sluice-raft-XXXXXX").string();
    REQUIRE(mkdtemp(path.data()) != nullptr);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

pb::Entry E(uint64_t index, uint64_t term, std::string data = "") {
  pb::Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_data(std::move(data));
  return e;
}

pb::Configuration Voters(std::initializer_list<uint64_t> ids) {
  pb::Configuration c;
  for (uint64_t id : ids) c.add_voters(id);
  return c;
}

TEST_CASE("raft storage: bootstrap once, then load what Ready persisted after reopen") {
  TempDir dir;
  {
    auto s = RaftStorage::Open(dir.path);
    REQUIRE(s.ok());
    REQUIRE((*s)->Bootstrap(Voters({1, 2, 3})).ok());
    REQUIRE((*s)->Bootstrap(Voters({7})).ok());  // ignored: state exists
    Ready rd;
    pb::HardState hs;
    hs.set_term(3);
    hs.set_vote(2);
    hs.set_commit(2);
    rd.hard_state = hs;
    rd.entries = {E(1, 1, "a"), E(2, 2, "b"), E(3, 3, "c")};
    REQUIRE((*s)->SaveReady(rd).ok());
  }  // "crash": the process goes away without any further flush
  auto s = RaftStorage::Open(dir.path);
  REQUIRE(s.ok());
  auto state = (*s)->Load();
  REQUIRE(state.ok());
  CHECK(state->hard_state.term() == 3);
  CHECK(state->hard_state.vote() == 2);
  CHECK(state->snapshot.meta().config().voters_size() == 3);
  REQUIRE(state->entries.size() == 3);
  CHECK(state->entries[2].data() == "c");

  RaftOptions o;
  o.id = 1;
  auto raft = Raft::Create(o, *state);
  REQUIRE(raft.ok());
  CHECK((*raft)->term() == 3);
  CHECK((*raft)->commit() == 2);
}

TEST_CASE("raft storage: entries replace the log tail from their first index") {
  TempDir dir;
  auto s = RaftStorage::Open(dir.path);
  REQUIRE(s.ok());
  Ready first;
  first.entries = {E(1, 1), E(2, 1), E(3, 1), E(4, 1)};
  REQUIRE((*s)->SaveReady(first).ok());
  Ready overwrite;
  overwrite.entries = {E(3, 2, "new")};
  REQUIRE((*s)->SaveReady(overwrite).ok());
  auto state = (*s)->Load();
  REQUIRE(state.ok());
  REQUIRE(state->entries.size() == 3);
  CHECK(state->entries[2].term() == 2);
  CHECK(state->entries[2].data() == "new");
}

TEST_CASE("raft storage: an installed snapshot replaces the whole log") {
  TempDir dir;
  auto s = RaftStorage::Open(dir.path);
  REQUIRE(s.ok());
  Ready first;
  first.entries = {E(1, 1), E(2, 1), E(3, 1)};
  REQUIRE((*s)->SaveReady(first).ok());
  Ready install;
  pb::Snapshot snap;
  snap.mutable_meta()->set_index(10);
  snap.mutable_meta()->set_term(4);
  *snap.mutable_meta()->mutable_config() = Voters({1, 2});
  snap.set_data("state");
  install.snapshot = snap;
  install.entries = {E(11, 4, "after")};
  REQUIRE((*s)->SaveReady(install).ok());
  auto state = (*s)->Load();
  REQUIRE(state.ok());
  CHECK(state->snapshot.meta().index() == 10);
  CHECK(state->snapshot.data() == "state");
  REQUIRE(state->entries.size() == 1);
  CHECK(state->entries[0].index() == 11);
}

TEST_CASE("raft storage: compaction stores the snapshot and drops the covered prefix") {
  TempDir dir;
  auto s = RaftStorage::Open(dir.path);
  REQUIRE(s.ok());
  Ready first;
  first.entries = {E(1, 1), E(2, 1), E(3, 2), E(4, 2)};
  REQUIRE((*s)->SaveReady(first).ok());
  pb::Snapshot snap;
  snap.mutable_meta()->set_index(2);
  snap.mutable_meta()->set_term(1);
  REQUIRE((*s)->SaveCompaction(snap).ok());
  auto state = (*s)->Load();
  REQUIRE(state.ok());
  CHECK(state->snapshot.meta().index() == 2);
  REQUIRE(state->entries.size() == 2);
  CHECK(state->entries[0].index() == 3);
}

TEST_CASE("raft storage: a gap in the stored log is reported as data loss") {
  TempDir dir;
  {
    auto s = RaftStorage::Open(dir.path);
    REQUIRE(s.ok());
    Ready first;
    first.entries = {E(1, 1), E(2, 1), E(3, 1)};
    REQUIRE((*s)->SaveReady(first).ok());
  }
  {
    // Damage the log behind the adapter's back: remove entry 2.
    auto kv = sluice::kv::KvStore::Open(dir.path, {});
    REQUIRE(kv.ok());
    REQUIRE((*kv)->Delete("raft_log", std::string("\0\0\0\0\0\0\0\x02", 8)).ok());
  }
  auto s = RaftStorage::Open(dir.path);
  REQUIRE(s.ok());
  CHECK(absl::IsDataLoss((*s)->Load().status()));
}

}  // namespace
