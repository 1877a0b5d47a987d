// The encrypted segment format: key file and key wrap, header slots, chunks, torn tails,
// truncation inside a chunk and master-key rotation.
#include <fcntl.h>

#include <catch2/catch.hpp>

#include <fstream>

#include "storage/encryption/local_key_file.h"
#include "storage/encryption/segment_format.h"
#include "storage/log/encrypted_log.h"
#include "tests/unit/storage_log/log_test_util.h"

using namespace sluice;
using namespace sluice::storage;
using namespace sluice::storage::testing;
namespace F = sluice::storage::encrypted_segment;

namespace {

const std::string kKey1 = "k1 " + std::string(64, 'a');
const std::string kKey2 = "k2 " + std::string(64, 'b');
const std::string kOtherKey1 = "k1 " + std::string(64, 'c');

std::shared_ptr<LocalKeyFile> Keys(const std::string& contents) {
  auto keys = LocalKeyFile::Parse(contents, "test.keys");
  REQUIRE(keys.ok());
  return *keys;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::filesystem::path& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
}

// Deterministic, non-repeating plaintext: every window of it is distinct.
std::string Pattern(size_t size, int seed) {
  std::string out(size, '\0');
  uint32_t x = 2463534242u + static_cast<uint32_t>(seed);
  for (auto& c : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return out;
}

std::shared_ptr<File> OpenFile(const std::filesystem::path& path) {
  auto file = File::Open(path, O_RDWR | O_CREAT);
  REQUIRE(file.ok());
  return *file;
}

std::string ReadAllOf(const EncryptedLog& log, const File& file) {
  std::string out(static_cast<size_t>(log.size()), '\0');
  REQUIRE(log.Read(file, out.data(), out.size(), 0).ok());
  return out;
}

}  // namespace

TEST_CASE("the local key file lists keys, the last one active") {
  auto keys = Keys("# comment\n\n" + kKey1 + "\n" + kKey2 + "\n");
  CHECK(keys->active_key_id() == "k2");
  SecretKey data_key;
  REQUIRE(SecretKey::Generate(data_key).ok());
  auto wrapped = keys->Wrap("k1", data_key, "context");
  REQUIRE(wrapped.ok());
  auto unwrapped = keys->Unwrap("k1", *wrapped, "context");
  REQUIRE(unwrapped.ok());
  CHECK(std::equal(data_key.data(), data_key.data() + 32, unwrapped->data()));
  CHECK(keys->Unwrap("k1", *wrapped, "other context").status().code() == absl::StatusCode::kDataLoss);
  CHECK(keys->Unwrap("k2", *wrapped, "context").status().code() == absl::StatusCode::kDataLoss);
  CHECK(keys->Unwrap("k9", *wrapped, "context").status().code() == absl::StatusCode::kNotFound);
  CHECK(Keys(kOtherKey1)->Unwrap("k1", *wrapped, "context").status().code() == absl::StatusCode::kDataLoss);
}

TEST_CASE("a malformed key file is refused with its line") {
  for (const std::string& bad : {std::string(""), std::string("# only a comment\n"), std::string("k1 abcd\n"),
                                 "k1 " + std::string(64, 'g'), "bad/id " + std::string(64, 'a'),
                                 kKey1 + "\n" + kKey1 + "\n", kKey1 + " extra\n"}) {
    INFO(bad);
    auto keys = LocalKeyFile::Parse(bad, "test.keys");
    REQUIRE(!keys.ok());
    CHECK(keys.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(keys.status().message()).find("test.keys") != std::string::npos);
  }
}

TEST_CASE("header slots round-trip and a torn slot falls back to the other") {
  F::HeaderSlot slot{.sequence = 7, .segment_id = std::string(16, 's'), .trim_physical = 2048, .trim_logical = 99,
                     .key_id = "k1", .wrapped = std::string(60, 'w')};
  auto encoded = F::EncodeSlot(slot);
  REQUIRE(encoded.ok());
  REQUIRE(encoded->size() == static_cast<size_t>(F::kSlotBytes));
  auto decoded = F::DecodeSlot(*encoded);
  REQUIRE(decoded);
  CHECK(decoded->sequence == 7);
  CHECK(decoded->trim_physical == 2048);
  CHECK(decoded->trim_logical == 99);
  CHECK(decoded->key_id == "k1");
  CHECK(decoded->wrapped == slot.wrapped);

  F::HeaderSlot newer = slot;
  newer.sequence = 8;
  newer.key_id = "k2";
  std::string header = *encoded + F::EncodeSlot(newer).value();
  auto current = F::DecodeHeader(header);
  REQUIRE(current);
  CHECK(current->index == 1);
  CHECK(current->slot.key_id == "k2");
  // A torn write of the newer slot: the older one is current.
  for (size_t at : {size_t{600}, size_t{1000}, size_t{1023}}) {
    std::string torn = header;
    torn[at] ^= 1;
    auto fallback = F::DecodeHeader(torn);
    REQUIRE(fallback);
    CHECK(fallback->slot.key_id == "k1");
  }
  CHECK(!F::DecodeHeader(std::string(F::kHeaderBytes, '\0')));
  CHECK(!F::EncodeSlot(F::HeaderSlot{.segment_id = "short", .key_id = "k", .wrapped = "w"}).ok());
}

TEST_CASE("chunks hold no plaintext and read back from any position") {
  TempDir dir;
  auto keys = Keys(kKey1);
  auto file = OpenFile(dir.path() / "s.log");
  auto log = EncryptedLog::Create(*file, *keys);
  REQUIRE(log.ok());
  // Appends of many sizes: below, at and across the chunk size.
  std::string expected;
  int seed = 0;
  for (size_t size : {size_t{1}, size_t{100}, size_t{65536}, size_t{65537}, size_t{200000}, size_t{3}}) {
    std::string data = Pattern(size, ++seed);
    REQUIRE((*log)->Append(*file, data).ok());
    expected += data;
  }
  REQUIRE((*log)->size() == static_cast<int64_t>(expected.size()));
  const std::string raw = ReadFile(file->path());
  CHECK(raw.find(expected.substr(1000, 32)) == std::string::npos);
  CHECK(raw.find(expected.substr(300000, 32)) == std::string::npos);
  for (int64_t position : {0, 1, 101, 65535, 65636, 131000, 330000}) {
    for (size_t size : {size_t{1}, size_t{61}, size_t{70000}}) {
      if (position + static_cast<int64_t>(size) > (*log)->size()) continue;
      std::string out(size, '\0');
      REQUIRE((*log)->Read(*file, out.data(), size, position).ok());
      CHECK(out == expected.substr(static_cast<size_t>(position), size));
    }
  }
  std::string past(10, '\0');
  CHECK((*log)->Read(*file, past.data(), past.size(), (*log)->size() - 5).code() == absl::StatusCode::kDataLoss);

  auto reopened = EncryptedLog::Open(*file, *keys, /*recover=*/true);
  REQUIRE(reopened.ok());
  CHECK(!(*reopened)->dropped_torn_tail());
  CHECK(ReadAllOf(**reopened, *file) == expected);
}

TEST_CASE("a wrong or missing master key refuses the segment, naming it and the key id") {
  TempDir dir;
  auto file = OpenFile(dir.path() / "s.log");
  {
    auto log = EncryptedLog::Create(*file, *Keys(kKey1));
    REQUIRE(log.ok());
    REQUIRE((*log)->Append(*file, "secret").ok());
  }
  for (const std::string& keys : {kOtherKey1, kKey2}) {
    auto opened = EncryptedLog::Open(*file, *Keys(keys), false);
    REQUIRE(!opened.ok());
    CHECK(opened.status().code() == absl::StatusCode::kFailedPrecondition);
    const std::string message(opened.status().message());
    CHECK(message.find(file->path().string()) != std::string::npos);
    CHECK(message.find("'k1'") != std::string::npos);
  }
  CHECK(ReadFile(file->path()).size() > static_cast<size_t>(F::kHeaderBytes));  // nothing was cut
}

TEST_CASE("chunks moved or swapped do not authenticate") {
  TempDir dir;
  auto keys = Keys(kKey1);
  auto file = OpenFile(dir.path() / "s.log");
  auto log = EncryptedLog::Create(*file, *keys);
  REQUIRE(log.ok());
  const std::string a(100, 'a'), b(100, 'b');
  REQUIRE((*log)->Append(*file, a).ok());
  REQUIRE((*log)->Append(*file, b).ok());
  std::string raw = ReadFile(file->path());
  const size_t chunk = 100 + F::kChunkOverheadBytes;
  // Swap the two chunks' ciphertext and tags, keeping each header where it was.
  std::string swapped = raw;
  const size_t body = F::kChunkHeaderBytes;
  std::copy_n(raw.begin() + F::kHeaderBytes + chunk + body, chunk - body, swapped.begin() + F::kHeaderBytes + body);
  std::copy_n(raw.begin() + F::kHeaderBytes + body, chunk - body, swapped.begin() + F::kHeaderBytes + chunk + body);
  WriteFile(file->path(), swapped);
  std::string out(100, '\0');
  CHECK((*log)->Read(*file, out.data(), out.size(), 0).code() == absl::StatusCode::kDataLoss);
  CHECK((*log)->Read(*file, out.data(), out.size(), 100).code() == absl::StatusCode::kDataLoss);
  // A chunk copied into another segment (another data key and segment id) does not open either.
  auto other_file = OpenFile(dir.path() / "t.log");
  auto other = EncryptedLog::Create(*other_file, *keys);
  REQUIRE(other.ok());
  REQUIRE((*other)->Append(*other_file, b).ok());
  std::string foreign = ReadFile(other_file->path()).substr(0, F::kHeaderBytes) + raw.substr(F::kHeaderBytes, chunk);
  WriteFile(other_file->path(), foreign);
  CHECK((*other)->Read(*other_file, out.data(), out.size(), 0).code() == absl::StatusCode::kDataLoss);
}

TEST_CASE("recovery drops a torn last chunk at every length and keeps the rest") {
  TempDir dir;
  auto keys = Keys(kKey1);
  const std::filesystem::path path = dir.path() / "s.log";
  const std::string first = Pattern(5000, 1), second = Pattern(300, 2);
  std::string whole;
  {
    auto file = OpenFile(path);
    auto log = EncryptedLog::Create(*file, *keys);
    REQUIRE(log.ok());
    REQUIRE((*log)->Append(*file, first).ok());
    REQUIRE((*log)->Append(*file, second).ok());
    whole = ReadFile(path);
  }
  const size_t second_start = whole.size() - second.size() - F::kChunkOverheadBytes;
  for (size_t length = second_start; length < whole.size(); length += 7) {
    INFO("file cut to " << length);
    WriteFile(path, whole.substr(0, length));
    auto file = OpenFile(path);
    auto log = EncryptedLog::Open(*file, *keys, /*recover=*/true);
    REQUIRE(log.ok());
    CHECK((*log)->dropped_torn_tail() == (length > second_start));
    CHECK(ReadAllOf(**log, *file) == first);
    CHECK(ReadFile(path).size() == second_start);
  }
  // A flipped byte in the last chunk's ciphertext: its tag fails, recovery drops it.
  std::string corrupt = whole;
  corrupt[whole.size() - 50] ^= 0x40;
  WriteFile(path, corrupt);
  auto file = OpenFile(path);
  auto log = EncryptedLog::Open(*file, *keys, /*recover=*/true);
  REQUIRE(log.ok());
  CHECK(ReadAllOf(**log, *file) == first);
  // A header that never became whole after a crash: the segment starts over, empty.
  WriteFile(path, std::string(700, '\0'));
  auto reset = EncryptedLog::Open(*OpenFile(path), *keys, /*recover=*/true);
  REQUIRE(reset.ok());
  CHECK((*reset)->size() == 0);
  WriteFile(path, std::string(700, '\0'));
  CHECK(EncryptedLog::Open(*OpenFile(path), *keys, /*recover=*/false).status().code() == absl::StatusCode::kDataLoss);
}

TEST_CASE("truncation inside a chunk keeps the chunk whole and survives reopening and appends") {
  TempDir dir;
  auto keys = Keys(kKey1);
  auto file = OpenFile(dir.path() / "s.log");
  auto log = EncryptedLog::Create(*file, *keys);
  REQUIRE(log.ok());
  std::string expected = Pattern(200000, 3);
  REQUIRE((*log)->Append(*file, expected).ok());
  const int64_t physical_before = static_cast<int64_t>(ReadFile(file->path()).size());

  SECTION("inside a chunk, then appended to, then inside the new chunk, then at a boundary") {
    REQUIRE((*log)->Truncate(*file, 70000).ok());  // inside the second chunk
    expected.resize(70000);
    CHECK(ReadAllOf(**log, *file) == expected);
    CHECK(static_cast<int64_t>(ReadFile(file->path()).size()) < physical_before);
    const std::string more = Pattern(1000, 4);
    REQUIRE((*log)->Append(*file, more).ok());
    expected += more;
    REQUIRE((*log)->Truncate(*file, 70500).ok());  // inside the chunk just appended
    expected.resize(70500);
    const std::string again = Pattern(10, 5);
    REQUIRE((*log)->Append(*file, again).ok());
    expected += again;
    CHECK(ReadAllOf(**log, *file) == expected);
    auto reopened = EncryptedLog::Open(*file, *keys, /*recover=*/true);
    REQUIRE(reopened.ok());
    CHECK(ReadAllOf(**reopened, *file) == expected);
    REQUIRE((*reopened)->Truncate(*file, 70500).ok());  // exactly at a chunk start
    expected.resize(70500);
    auto third = EncryptedLog::Open(*file, *keys, false);
    REQUIRE(third.ok());
    CHECK(ReadAllOf(**third, *file) == expected);
    REQUIRE((*third)->Truncate(*file, 0).ok());
    auto empty = EncryptedLog::Open(*file, *keys, false);
    REQUIRE(empty.ok());
    CHECK((*empty)->size() == 0);
    CHECK(ReadAllOf(**empty, *file).empty());
    REQUIRE((*empty)->Append(*file, "x").ok());
    CHECK(ReadAllOf(**empty, *file) == "x");
  }
  SECTION("a crash after the file is cut but before the header is written") {
    const std::string header_before = ReadFile(file->path()).substr(0, F::kHeaderBytes);
    REQUIRE((*log)->Truncate(*file, 70000).ok());
    // Put back the header as it was: the kept chunk is then whole again (the truncation is
    // undone up to that chunk's end), never shorter.
    std::string raw = ReadFile(file->path());
    raw.replace(0, F::kHeaderBytes, header_before);
    WriteFile(file->path(), raw);
    auto reopened = EncryptedLog::Open(*file, *keys, /*recover=*/true);
    REQUIRE(reopened.ok());
    CHECK(ReadAllOf(**reopened, *file) == expected.substr(0, 2 * 65536));
  }
  SECTION("a crash after the header is written but before the file is cut") {
    const std::string original = ReadFile(file->path());
    REQUIRE((*log)->Truncate(*file, 70000).ok());
    std::string raw = original;  // every chunk still there, header saying the second is trimmed
    raw.replace(0, F::kHeaderBytes, ReadFile(file->path()).substr(0, F::kHeaderBytes));
    WriteFile(file->path(), raw);
    auto reopened = EncryptedLog::Open(*file, *keys, /*recover=*/false);
    REQUIRE(reopened.ok());
    CHECK(ReadAllOf(**reopened, *file) == expected.substr(0, 70000));
    const std::string more = Pattern(100, 6);
    REQUIRE((*reopened)->Append(*file, more).ok());
    auto again = EncryptedLog::Open(*file, *keys, /*recover=*/false);
    REQUIRE(again.ok());
    CHECK(ReadAllOf(**again, *file) == expected.substr(0, 70000) + more);
  }
}

TEST_CASE("rotation rewraps the data key without touching the data, crash-safely") {
  TempDir dir;
  auto file = OpenFile(dir.path() / "s.log");
  const std::string data = Pattern(100000, 7);
  {
    auto log = EncryptedLog::Create(*file, *Keys(kKey1));
    REQUIRE(log.ok());
    REQUIRE((*log)->Append(*file, data).ok());
  }
  const std::string before = ReadFile(file->path());
  auto rotated = Keys(kKey1 + "\n" + kKey2);
  auto rewrapped = EncryptedLog::CheckAndRewrap(*file, *rotated);
  REQUIRE(rewrapped.ok());
  CHECK(*rewrapped);
  const std::string after = ReadFile(file->path());
  CHECK(after.substr(F::kHeaderBytes) == before.substr(F::kHeaderBytes));  // data untouched
  CHECK(EncryptedLog::ReadKeyId(*file).value() == std::optional<std::string>("k2"));
  CHECK(!EncryptedLog::CheckAndRewrap(*file, *rotated).value());  // already under the active key
  // Only the new key is needed from now on; the old one alone no longer opens it.
  auto log = EncryptedLog::Open(*file, *Keys(kKey2), false);
  REQUIRE(log.ok());
  CHECK(ReadAllOf(**log, *file) == data);
  CHECK(EncryptedLog::Open(*file, *Keys(kKey1), false).status().code() == absl::StatusCode::kFailedPrecondition);

  // A torn rewrap (the new slot half written) leaves the old wrapping current.
  std::string torn = before;
  torn.replace(0, F::kHeaderBytes, after.substr(0, F::kHeaderBytes));
  const auto current = F::DecodeHeader(after.substr(0, F::kHeaderBytes));
  REQUIRE(current);
  torn[static_cast<size_t>(current->index * F::kSlotBytes + 100)] ^= 1;
  WriteFile(file->path(), torn);
  CHECK(EncryptedLog::ReadKeyId(*file).value() == std::optional<std::string>("k1"));
  auto old = EncryptedLog::Open(*file, *Keys(kKey1), false);
  REQUIRE(old.ok());
  CHECK(ReadAllOf(**old, *file) == data);
  CHECK(EncryptedLog::CheckAndRewrap(*file, *rotated).value());
  CHECK(EncryptedLog::ReadKeyId(*file).value() == std::optional<std::string>("k2"));
}
