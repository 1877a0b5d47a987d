// Writes the seed corpus (corpus/<target>/<seed>) and dictionaries (dict/<target>.dict) of the
// fuzz targets under the directory given as its argument: a few valid inputs per target, made
// with the project's own encoders, so that fuzzing starts from inputs that reach deep code.
// Run by tests/fuzz/make-seeds; the output is committed.

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "absl/status/status.h"
#include "common/absl_compat.h"
#include "broker/groups/group_records.h"
#include "broker/txn/transaction_records.h"
#include "protocol/kafka/batch/compression.h"
#include "protocol/kafka/batch/control_record.h"
#include "protocol/kafka/batch/record_batch_builder.h"
#include "protocol/kafka/message_headers.h"
#include "protocol/kafka/messages/all.h"
#include "protocol/kafka/messages/samples.h"
#include "protocol/metadata/image.h"
#include "protocol/metadata/leader_hint.h"
#include "protocol/metadata/topic_config.h"
#include "protocol/rpc/frame.h"
#include "storage/encryption/local_key_file.h"
#include "storage/log/checkpoint.h"
#include "storage/log/encrypted_log.h"
#include "storage/log/leader_epoch_checkpoint.h"
#include "tests/fuzz/controller_rpc_messages.h"
#include "tests/fuzz/encrypted_segment_fuzz_key.h"

namespace sluice::fuzz {
namespace {

namespace fs = std::filesystem;
using kafka::Compression;

fs::path root;

void WriteFile(const fs::path& path, std::string_view bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "seed_writer: cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

void Seed(std::string_view target, std::string_view name, std::string_view bytes) {
  WriteFile(root / "corpus" / target / name, bytes);
}

// libFuzzer dictionary syntax: one quoted token per line, non-printable bytes as \xNN.
void Dictionary(std::string_view target, const std::vector<std::string>& tokens) {
  std::string text;
  for (const std::string& token : tokens) {
    text += '"';
    for (unsigned char c : token) {
      text += (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') ? fmt::format("\\x{:02x}", c) : std::string(1, c);
    }
    text += "\"\n";
  }
  WriteFile(root / "dict" / fmt::format("{}.dict", target), text);
}

std::string Byte(int value) { return std::string(1, static_cast<char>(value)); }

std::string Batch(Compression compression, bool log_append_time = false, int64_t base_offset = 0) {
  kafka::RecordBatchBuilder builder(kafka::RecordBatchBuilder::Options{
      .compression = compression,
      .base_offset = base_offset,
      .partition_leader_epoch = 3,
      .producer_id = 1000,
      .producer_epoch = 0,
      .base_sequence = 0,
      .log_append_time_ms = log_append_time ? std::optional<int64_t>(1700000000500) : std::nullopt});
  const kafka::RecordHeaderView headers[] = {{"trace", "abc"}, {"empty", std::nullopt}};
  builder.Add("key-1", "value one", 1700000000000, headers);
  builder.Add(std::nullopt, "keyless", 1700000000001);
  builder.Add("key-1", std::nullopt, 1700000000002);  // a tombstone
  return builder.Build().value();
}

template <class Message>
std::string Encoded(const Message& message, int16_t version) {
  kafka::OutboundMessage out;
  kafka::Writer writer(out);
  message.Encode(writer, version);
  return out.bytes;
}

constexpr bool IsRequest(std::string_view type_name) { return type_name.ends_with("Request"); }

template <class Request>
void KafkaRequestSeeds(std::string_view type_name) {
  for (int16_t version : {Request::kMinVersion, Request::kFirstFlexibleVersion, Request::kMaxVersion}) {
    if (version > Request::kMaxVersion) continue;
    Request request;
    kafka::testing::FillSample(request, version);
    Seed("kafka_request_fuzzer", fmt::format("{}-v{}", type_name, version),
         kafka::EncodeRequest(7, "seed-client", version, request).bytes);
  }
}

void KafkaRequests() {
#define SLUICE_SEED(Type) \
  if constexpr (IsRequest(#Type)) KafkaRequestSeeds<kafka::Type>(#Type);
  SLUICE_KAFKA_FOR_EACH_MESSAGE(SLUICE_SEED)
#undef SLUICE_SEED
  // ApiVersions above our newest version and an API we do not define: headers only.
  kafka::ApiVersionsRequest api_versions;
  const auto newer = static_cast<int16_t>(kafka::ApiVersionsRequest::kMaxVersion + 1);
  Seed("kafka_request_fuzzer", "ApiVersionsRequest-newer",
       kafka::EncodeRequest(8, "seed-client", newer, api_versions).bytes);
  Seed("kafka_request_fuzzer", "unknown-api", std::string("\x03\xe7\x00\x00\x00\x00\x00\x09\x00\x01x", 11));
}

void KafkaFetchResponses() {
  const std::string batches = Batch(Compression::kNone) + Batch(Compression::kLz4, false, 3);
  for (int16_t version : {0, 4, 11, 12, 13, 16, 17}) {
    kafka::FetchResponse response;
    kafka::testing::FillSample(response, version);
    for (auto& topic : response.responses) {
      for (auto& partition : topic.partitions) partition.records = kafka::Records::Borrow(batches);
    }
    kafka::OutboundMessage message = kafka::EncodeResponse(11, version, response);
    Seed("kafka_fetch_response_fuzzer", fmt::format("v{}", version), Byte(version) + message.bytes);
  }
}

void RecordBatches() {
  Seed("record_batch_fuzzer", "none", Byte(0) + Batch(Compression::kNone));
  Seed("record_batch_fuzzer", "gzip", Byte(0) + Batch(Compression::kGzip));
  Seed("record_batch_fuzzer", "snappy", Byte(0) + Batch(Compression::kSnappy));
  Seed("record_batch_fuzzer", "lz4", Byte(0) + Batch(Compression::kLz4));
  Seed("record_batch_fuzzer", "zstd", Byte(0) + Batch(Compression::kZstd));
  Seed("record_batch_fuzzer", "log-append-time", Byte(0) + Batch(Compression::kNone, true));
  Seed("record_batch_fuzzer", "two-batches-fix-crc",
       Byte(1) + Batch(Compression::kNone) + Batch(Compression::kZstd, false, 3));
  Seed("follower_append_fuzzer", "leader-batches",
       Byte(0) + Batch(Compression::kNone, false, 0) + Batch(Compression::kLz4, false, 5));
  Seed("follower_append_fuzzer", "gap-fix-crc", Byte(1) + Batch(Compression::kNone, false, 10));
  Dictionary("follower_append_fuzzer", {std::string("\x7f\xff\xff\xff\xff\xff\xff\xff", 8)});
  Dictionary("record_batch_fuzzer", {Byte(2), std::string("\xff\xff\xff\xff", 4), std::string("\x00\x00\x00\x3d", 4)});
}

void Decompression() {
  const std::string text = "the quick brown fox jumps over the lazy dog; the quick brown fox again";
  for (auto [codec, name] : {std::pair{Compression::kNone, "none"}, {Compression::kGzip, "gzip"},
                             {Compression::kSnappy, "snappy"}, {Compression::kLz4, "lz4"},
                             {Compression::kZstd, "zstd"}}) {
    Seed("decompress_fuzzer", name, Byte(static_cast<int>(codec)) + kafka::Compress(codec, text).value());
  }
  // Snappy in the xerial framing that the Java client writes: magic, two versions, blocks.
  const std::string magic("\x82SNAPPY\x00", 8);
  const std::string block = kafka::Compress(Compression::kSnappy, text).value();
  const std::string length{0, 0, 0, static_cast<char>(block.size())};
  Seed("decompress_fuzzer", "snappy-xerial",
       Byte(2) + magic + std::string("\x00\x00\x00\x01\x00\x00\x00\x01", 8) + length + block);
  Dictionary("decompress_fuzzer", {magic, "\x1f\x8b", std::string("\x04\x22\x4d\x18", 4),
                                   std::string("\x28\xb5\x2f\xfd", 4)});
}

void RpcFrames() {
  using rpc::FrameKind;
  Seed("rpc_frame_fuzzer", "hello",
       rpc::EncodeFrame({.kind = FrameKind::kHello}, rpc::EncodeHello(rpc::kProtocolVersion)));
  Seed("rpc_frame_fuzzer", "error",
       rpc::EncodeFrame({.kind = FrameKind::kError, .correlation_id = 5, .method = 3},
                        rpc::EncodeStatus(metadata::NotLeaderStatus(2, "127.0.0.1", 9093))));
  Seed("rpc_frame_fuzzer", "request",
       rpc::EncodeFrame({.kind = FrameKind::kRequest, .correlation_id = 6, .method = 100}, "payload"));
  Dictionary("rpc_frame_fuzzer", {std::string(rpc::kHelloMagic)});
}

// Map fields serialize in hash order unless asked otherwise: committed seeds must not churn.
std::string Deterministic(const google::protobuf::Message& message) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return out;
}

void ControllerRpc() {
  for (size_t i = 0; i < std::size(kControllerRpcMessages); ++i) {
    const std::string& name = kControllerRpcMessages[i]->GetDescriptor()->name();
    Seed("controller_rpc_fuzzer", fmt::format("{}-empty", name), Byte(static_cast<int>(i)));
  }
  auto seed = [](const google::protobuf::Message& message) {
    for (size_t i = 0; i < std::size(kControllerRpcMessages); ++i) {
      if (kControllerRpcMessages[i]->GetDescriptor() == message.GetDescriptor()) {
        const std::string& name = message.GetDescriptor()->name();
        Seed("controller_rpc_fuzzer", name, Byte(static_cast<int>(i)) + Deterministic(message));
      }
    }
  };
  metadata::RegisterBrokerRequest registration;
  registration.set_broker_id(1);
  registration.set_host("127.0.0.1");
  registration.set_port(9092);
  registration.set_rack("rack-a");
  seed(registration);
  metadata::CreateTopicsRequest create;
  auto* topic = create.add_topics();
  topic->set_name("orders");
  topic->set_num_partitions(3);
  topic->set_replication_factor(2);
  auto* assignment = topic->add_assignments();
  assignment->set_partition(0);
  assignment->add_broker_ids(1);
  assignment->add_broker_ids(2);
  (*topic->mutable_configs())["retention.ms"] = "60000";
  (*topic->mutable_configs())["cleanup.policy"] = "compact";
  seed(create);
  metadata::ReportReplicasRequest report;
  report.set_broker_id(2);
  report.set_broker_epoch(7);
  auto* offline = report.add_offline();
  offline->set_topic_id(std::string("0123456789abcdef", 16));
  offline->set_partition(3);
  report.add_online()->set_partition(0);
  seed(report);
  raft::pb::MessageBatch batch;
  auto* append = batch.add_messages();
  append->set_type(raft::pb::APPEND);
  append->set_from(1);
  append->set_to(2);
  append->set_term(3);
  append->set_index(10);
  append->set_log_term(3);
  append->set_commit(9);
  auto* entry = append->add_entries();
  entry->set_term(3);
  entry->set_index(11);
  entry->set_data("metadata entry bytes");
  auto* snapshot = batch.add_messages();
  snapshot->set_type(raft::pb::SNAPSHOT);
  snapshot->mutable_snapshot()->mutable_meta()->set_index(8);
  snapshot->mutable_snapshot()->mutable_meta()->mutable_config()->add_voters(1);
  snapshot->mutable_snapshot()->set_data("image");
  seed(batch);
}

metadata::Record Registration(int32_t id, int64_t epoch) {
  metadata::Record record;
  auto* r = record.mutable_broker_registration();
  r->set_broker_id(id);
  r->set_broker_epoch(epoch);
  r->set_host("127.0.0.1");
  r->set_port(9092 + id);
  r->set_rack("rack-a");
  return record;
}

void MetadataImages() {
  const std::string topic_id("0123456789abcdef", 16);
  metadata::FetchMetadataResponse response;
  auto* snapshot = response.mutable_snapshot();
  snapshot->set_offset(20);
  snapshot->add_records()->mutable_cluster_id()->set_cluster_id("seed-cluster");
  *snapshot->add_records() = Registration(1, 3);
  *snapshot->add_records() = Registration(2, 5);
  auto* topic = snapshot->add_records()->mutable_topic();
  topic->set_name("orders");
  topic->set_topic_id(topic_id);
  auto* config = snapshot->add_records()->mutable_config();
  config->set_resource_type(metadata::kTopicResource);
  config->set_resource_name("orders");
  config->set_key("retention.ms");
  config->set_value("60000");
  for (int32_t p = 0; p < 2; ++p) {
    auto* partition = snapshot->add_records()->mutable_partition();
    partition->set_topic_id(topic_id);
    partition->set_partition(p);
    partition->add_replicas(1);
    partition->add_replicas(2);
    partition->add_isr(1);
    partition->set_leader(1);
    partition->set_leader_epoch(2);
    partition->set_partition_epoch(4);
  }
  auto* block = snapshot->add_records()->mutable_producer_id_block();
  block->set_broker_id(1);
  block->set_first_producer_id(0);
  block->set_size(1000);
  Seed("metadata_image_fuzzer", "snapshot", response.SerializeAsString());

  metadata::FetchMetadataResponse entries;
  auto* first = entries.add_entries();
  first->set_offset(21);
  *first->add_records() = Registration(3, 0);
  first->add_records()->mutable_broker_fenced()->set_broker_id(3);
  first->mutable_records(1)->mutable_broker_fenced()->set_broker_epoch(21);
  auto* second = entries.add_entries();
  second->set_offset(22);
  auto* other = second->add_records()->mutable_topic();
  other->set_name("events");
  other->set_topic_id(std::string("fedcba9876543210", 16));
  auto* partition = second->add_records()->mutable_partition();
  partition->set_topic_id(other->topic_id());
  partition->set_partition(0);
  partition->add_replicas(3);
  partition->set_leader(-1);
  partition->add_adding_replicas(3);
  partition->add_offline_replicas(3);
  auto* broker_config = second->add_records()->mutable_config();
  broker_config->set_resource_type(metadata::kBrokerResource);
  broker_config->set_resource_name("");
  broker_config->set_key("log.retention.ms");
  broker_config->set_value("1000");
  auto* third = entries.add_entries();
  third->set_offset(23);
  third->add_records()->mutable_remove_topic()->set_topic_id(other->topic_id());
  entries.set_committed_offset(23);
  Seed("metadata_image_fuzzer", "entries", entries.SerializeAsString());
  *response.mutable_entries() = entries.entries();
  Seed("metadata_image_fuzzer", "snapshot-and-entries", response.SerializeAsString());
}

void Checkpoints() {
  Seed("offset_checkpoint_fuzzer", "zero", storage::FormatOffsetCheckpoint(0));
  Seed("offset_checkpoint_fuzzer", "large", storage::FormatOffsetCheckpoint(1234567890123));
  Dictionary("offset_checkpoint_fuzzer", {"sluice-offset-checkpoint 1\n", "9223372036854775807"});
  using storage::EpochEntry;
  Seed("leader_epoch_checkpoint_fuzzer", "empty", storage::FormatLeaderEpochCheckpoint({}));
  const EpochEntry entries[] = {{0, 0}, {3, 150}, {7, 2147483648}};
  Seed("leader_epoch_checkpoint_fuzzer", "three", storage::FormatLeaderEpochCheckpoint(entries));
  Dictionary("leader_epoch_checkpoint_fuzzer", {"0\n", "2147483647", "9223372036854775807", "18446744073709551615"});
}

// Encrypted segment files under the fuzzer's key. Data keys and nonces are random, so these
// seeds differ each time make-seeds runs.
void EncryptedSegments() {
  const std::filesystem::path path = std::filesystem::temp_directory_path() / fmt::format("sluice-seed-{}.log", ::getpid());
  auto keys = storage::LocalKeyFile::Parse(kEncryptedSegmentFuzzKeys, "fuzz keys").value();
  auto seed = [&](std::string_view name, const std::function<void(storage::EncryptedLog&, const storage::File&)>& fill) {
    std::filesystem::remove(path);
    auto file = storage::File::Open(path, O_RDWR | O_CREAT).value();
    auto log = storage::EncryptedLog::Create(*file, *keys).value();
    fill(*log, *file);
    std::ifstream in(path, std::ios::binary);
    Seed("encrypted_segment_fuzzer", name, std::string(std::istreambuf_iterator<char>(in), {}));
  };
  auto append = [](storage::EncryptedLog& log, const storage::File& file, std::string_view data) {
    if (!log.Append(file, data).ok()) std::abort();
  };
  seed("empty", [](storage::EncryptedLog&, const storage::File&) {});
  seed("three-chunks", [&](storage::EncryptedLog& log, const storage::File& file) {
    append(log, file, "first chunk");
    append(log, file, std::string(1000, 'b'));
    append(log, file, "third");
  });
  seed("trimmed-then-appended", [&](storage::EncryptedLog& log, const storage::File& file) {
    append(log, file, std::string(3000, 'c'));
    if (!log.Truncate(file, 1200).ok()) std::abort();
    append(log, file, std::string(500, 'd'));
    if (!log.Truncate(file, 1500).ok()) std::abort();
  });
  std::filesystem::remove(path);
  Dictionary("encrypted_segment_fuzzer", {std::string(storage::encrypted_segment::kMagic), "fz1"});
}

void Properties() {
  Seed("properties_fuzzer", "topic-configs",
       "# topic overrides\n"
       "retention.ms=604800000\n"
       "cleanup.policy: compact,delete\n"
       "  segment.bytes = 1048576  \n"
       "! another comment\n"
       "min.cleanable.dirty.ratio=0.5\n"
       "unclean.leader.election.enable=true\n"
       "\n");
  Seed("properties_fuzzer", "broker", "node.id=1\nlisteners=PLAINTEXT://127.0.0.1:9092\nlog.dirs=/tmp/a,/tmp/b\n");
  std::vector<std::string> tokens = {"=", ":", "#", "!", "true", "false", "-1", "9223372036854775807", "1e308"};
  for (const auto& def : metadata::TopicConfigSchema().defs()) {
    tokens.push_back(def.name);
    for (const auto& value : def.allowed_values) tokens.push_back(value);
  }
  Dictionary("properties_fuzzer", tokens);
}

void Addresses() {
  Seed("quorum_voters_fuzzer", "one", "1@127.0.0.1:9093");
  Seed("quorum_voters_fuzzer", "three", "1@127.0.0.1:9093, 2@localhost:9094,3@CONTROLLER://[::1]:9095");
  Dictionary("quorum_voters_fuzzer", {"@", ":", ",", "://", "65535", "65536", "2147483648"});
  Seed("leader_hint_fuzzer", "known", ToStd(metadata::NotLeaderStatus(2, "127.0.0.1", 9093).message()));
  Seed("leader_hint_fuzzer", "unknown", ToStd(metadata::NotLeaderStatus(-1, "", 0).message()));
  Dictionary("leader_hint_fuzzer", {"; leader: ", "@", ":", "65535", "65536"});
}

void SaslMessages() {
  Seed("sasl_plain_fuzzer", "plain-message", std::string("\0alice\0alice-secret", 19));
  Seed("sasl_plain_fuzzer", "plain-message-authzid", std::string("alice\0alice\0pw", 14));
  Seed("sasl_plain_fuzzer", "jaas-entry",
       "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" "
       "password=\"admin-secret\" user_admin=\"admin-secret\" user_alice=\"a \\\"q\\\" s\";");
  Dictionary("sasl_plain_fuzzer", {"org.apache.kafka.common.security.plain.PlainLoginModule", "required", "user_",
                                   "username=", "password=", "\"", "\\", ";"});
  // SCRAM: RFC 7677's exchange, and a client-first and client-final pair joined by NUL (the
  // fuzz target's exchange input).
  Seed("scram_fuzzer", "client-first", "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  Seed("scram_fuzzer", "client-first-authzid", "n,a=user,n=us=2Cer,r=abc,tokenauth=false");
  Seed("scram_fuzzer", "server-first",
       "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  Seed("scram_fuzzer", "client-final",
       "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  Seed("scram_fuzzer", "server-final", "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  Seed("scram_fuzzer", "server-error", "e=invalid-proof");
  Seed("scram_fuzzer", "exchange",
       std::string("n,,n=user,r=rOprNGfwEbeRWgbNEkqO\0"
                   "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
                   139));
  Dictionary("scram_fuzzer", {"n,,", "y,,", "p=tls-unique,", "a=", "n=", "r=", "s=", "i=", "c=biws", "c=", "p=", "v=",
                              "e=", "=2C", "=3D", "tokenauth=true", "m=", "4096", "16385", std::string(1, '\0')});
}

void OAuthBearer() {
  // A token of the right shape (its signature is not the key's, so it is refused late).
  const std::string token =
      "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsifQ.eyJzdWIiOiJhbGljZSIsImlzcyI6ImkiLCJhdWQiOiJhIiwiZXhwIjoxOTAwMDAwMDAwfQ."
      "AAAA";
  Seed("oauthbearer_fuzzer", "message", std::string("\0n,,\x01", 5) + "auth=Bearer " + token + "\x01\x01");
  Seed("oauthbearer_fuzzer", "token", "\x01" + token);
  Seed("oauthbearer_fuzzer", "jwks",
       "\x02{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"r\",\"n\":\"AQAB\",\"e\":\"AQAB\"},"
       "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}]}");
  Dictionary("oauthbearer_fuzzer", {"auth=Bearer ", "\x01", "n,,", "a=", "\"alg\"", "\"ES256\"", "\"RS256\"",
                                    "\"kid\"", "\"exp\"", "\"nbf\"", "\"aud\"", "\"keys\"", "\"kty\"", "."});
}

void SslPrincipalRules() {
  Seed("ssl_principal_rules_fuzzer", "rules-and-subject",
       "RULE:^CN=(.*?),OU=(.*?),O=(.*?)$/$1@$2/L,RULE:^CN=([^,]*)\\/x$/$1\\/y/U,DEFAULT\nCN=Alice,OU=Eng,O=acme");
  Seed("ssl_principal_rules_fuzzer", "default", "DEFAULT\nCN=x");
  Dictionary("ssl_principal_rules_fuzzer", {"RULE:", "DEFAULT", "/", "\\/", "$1", "(.*?)", "^", "$", ",", "L", "U"});
}

void AclPrincipals() {
  Seed("acl_principal_fuzzer", "principal", "User:alice");
  Seed("acl_principal_fuzzer", "super-users", " User:admin ;User:CN=broker,O=sluice;;");
  Dictionary("acl_principal_fuzzer", {"User:", "User:*", ";", ":", " "});
}

void CoordinatorRecords() {
  using namespace sluice::broker;
  const std::string target = "coordinator_records_fuzzer";
  Seed(target, "offset-key",
       groups::EncodeKey({.kind = groups::RecordKind::kOffset, .group_id = "g", .topic = "t", .partition = 3}));
  Seed(target, "group-key", groups::EncodeKey({.kind = groups::RecordKind::kGroup, .group_id = "g"}));
  Seed(target, "offset-value",
       groups::EncodeOffsetValue({.offset = 42, .leader_epoch = 2, .metadata = "m", .commit_timestamp_ms = 1000}));
  Seed(target, "txn-key", txn::EncodeTxnKey("payments-1"));
  txn::TransactionMetadata ongoing{.producer_id = 7, .producer_epoch = 3, .timeout_ms = 60000,
                                   .state = txn::TxnState::kOngoing, .partitions = {{"a", 0}, {"a", 2}, {"b", 1}},
                                   .start_ms = 1000, .last_update_ms = 2000};
  Seed(target, "txn-value", txn::EncodeTxnValue(ongoing));
  auto marker = kafka::BuildTxnMarkerBatch(7, 3, {.type = kafka::ControlType::kCommit, .coordinator_epoch = 5}, 1000);
  Seed(target, "commit-marker", *marker);
}

}  // namespace
}  // namespace sluice::fuzz

int main(int argc, char** argv) {
  using namespace sluice::fuzz;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  root = argv[1];
  KafkaRequests();
  KafkaFetchResponses();
  RecordBatches();
  Decompression();
  RpcFrames();
  ControllerRpc();
  MetadataImages();
  Checkpoints();
  EncryptedSegments();
  Properties();
  Addresses();
  SaslMessages();
  AclPrincipals();
  SslPrincipalRules();
  OAuthBearer();
  CoordinatorRecords();
  return 0;
}
