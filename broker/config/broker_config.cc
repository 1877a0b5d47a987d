#include "broker/config/broker_config.h"

#include <charconv>

#include <fmt/format.h>

#include "absl/strings/numbers.h"
#include "common/absl_compat.h"
#include "protocol/metadata/topic_config.h"
#include "protocol/net/tls_config.h"

namespace sluice::broker {

using config::Type;

const config::Schema& BrokerSchema() {
  static const config::Schema schema = [] {
    config::Schema s;
    auto def = [&s](std::string name, Type type, std::string default_value, std::string doc,
                    std::optional<int64_t> min = std::nullopt, std::vector<std::string> allowed = {}) {
      s.Define({.name = std::move(name), .type = type, .default_value = std::move(default_value), .doc = std::move(doc),
                .min = min, .allowed_values = std::move(allowed)});
    };
    def("node.id", Type::kInt, "1", "this broker's id", 0);
    def("listeners", Type::kString, "PLAINTEXT://127.0.0.1:9092",
        "where clients connect: NAME://host:port,... (one Kafka listener each)");
    def("advertised.listeners", Type::kString, "",
        "NAME://host:port,... given in Metadata to clients of each listener (default: listeners)");
    def("inter.broker.listener.name", Type::kString, "",
        "the listener other brokers replicate from (empty: the first in listeners)");
    def("controller.listener.names", Type::kString, "CONTROLLER",
        "the controllers' listener; its listener.security.protocol.map entry (PLAINTEXT or SSL, none: PLAINTEXT) "
        "is how brokers reach them");
    def("ssl.principal.mapping.rules", Type::kString, "DEFAULT",
        "RULE:pattern/replacement/[LU],...,DEFAULT: user names from client certificate subjects");
    net::DefineTlsProperties(s);
    def("controller.quorum.voters", Type::kString, "",
        "the controller quorum's voters as id@host:port,...; empty: controller.quorum.bootstrap.servers");
    def("controller.quorum.bootstrap.servers", Type::kString, "127.0.0.1:9093",
        "host:port,... of the controllers, used when controller.quorum.voters is empty");
    def("admin.listeners", Type::kString, "",
        "admin HTTP listener (/healthz, /readyz, /metrics) as http://host:port; empty: none");
    def("log.dirs", Type::kString, "/tmp/sluice-logs", "directory holding the partition logs");
    def("broker.rack", Type::kString, "", "rack or availability zone of this broker");
    def("num.partitions", Type::kInt, "1", "partitions of a topic created without a count", 1);
    def("default.replication.factor", Type::kInt, "1", "replicas of a topic created without a factor", 1);
    def("auto.create.topics.enable", Type::kBool, "true", "create a topic when Metadata asks for an unknown one");
    def("message.max.bytes", Type::kInt, "1048588", "largest record batch accepted (topic: max.message.bytes)", 0);
    def("log.retention.ms", Type::kLong, "", "age beyond which segments are deleted; -1 keeps data forever", -1);
    def("log.retention.minutes", Type::kLong, "", "retention in minutes, used when log.retention.ms is unset", -1);
    def("log.retention.hours", Type::kLong, "168", "retention in hours, used when ms and minutes are unset", -1);
    def("log.retention.bytes", Type::kLong, "-1", "partition size beyond which old segments are deleted", -1);
    def("log.segment.bytes", Type::kInt, "1073741824", "segment size at which a new one is rolled", 14);
    def("log.roll.ms", Type::kLong, "604800000", "segment age at which a new one is rolled", 1);
    def("log.fd.cache.size", Type::kInt, "4096",
        "descriptors kept open for closed segments and indexes (at most a quarter of the file limit)", 16);
    def("log.encryption.enable", Type::kBool, "false",
        "encrypt new log segments at rest (AES-256-GCM, a data key per segment wrapped by the active master key); "
        "plaintext segments stay readable");
    def("log.encryption.master.key.file", Type::kString, "",
        "master keys for log.encryption.enable, one '<key id> <64 hex digits>' per line, the last one active; "
        "a new last key is rotated to at start (see docs/security.md)");
    def("log.index.interval.bytes", Type::kInt, "4096", "bytes between offset index entries", 0);
    def("log.index.size.max.bytes", Type::kInt, "10485760", "maximum size of a segment's offset index", 4);
    def("log.flush.interval.messages", Type::kLong, "9223372036854775807", "fsync after this many messages", 1);
    def("log.flush.interval.ms", Type::kLong, "9223372036854775807", "fsync after this many milliseconds", 0);
    def("log.retention.check.interval.ms", Type::kLong, "300000", "how often retention runs", 1);
    def("log.message.timestamp.type", Type::kString, "CreateTime", "CreateTime or LogAppendTime", std::nullopt,
        {"CreateTime", "LogAppendTime"});
    def("log.cleanup.policy", Type::kString, "delete", "default cleanup policy of topics", std::nullopt,
        {"delete", "compact", "compact,delete", "delete,compact"});
    def("log.cleaner.delete.retention.ms", Type::kLong, "86400000",
        "how long the log cleaner keeps tombstones (topic: delete.retention.ms)", 0);
    def("log.cleaner.min.cleanable.ratio", Type::kDouble, "0.5",
        "share of not yet compacted bytes at which a log is cleaned (topic: min.cleanable.dirty.ratio)");
    def("log.cleaner.backoff.ms", Type::kLong, "15000", "least time between two cleanings of a log", 0);
    def("compression.type", Type::kString, "producer", "producer: store batches as the producer compressed them",
        std::nullopt, {"producer"});
    def("min.insync.replicas", Type::kInt, "1", "replicas that must acknowledge an acks=all write", 1);
    def("unclean.leader.election.enable", Type::kBool, "false", "allow a replica outside the ISR to become leader");
    def("socket.request.max.bytes", Type::kInt, "104857600", "largest request accepted on a connection", 1);
    def("connections.max.idle.ms", Type::kLong, "600000", "idle connections are closed after this long", 1);
    def("num.network.threads", Type::kInt, "0", "I/O threads (each with its own event loop); 0 = one per core", 0);
    def("broker.heartbeat.interval.ms", Type::kLong, "500",
        "interval of heartbeats to the controller; a broker whose connection closes is fenced after two", 10);
    def("num.recovery.threads.per.data.dir", Type::kInt, "2",
        "threads that open, recover, truncate and delete logs (never the I/O threads)", 1);
    def("controlled.shutdown.enable", Type::kBool, "true",
        "on SIGTERM, have the controller move this broker's leaderships away before it stops");
    def("replica.lag.time.max.ms", Type::kLong, "30000",
        "a follower that has not caught up with the leader for this long leaves the ISR", 1);
    def("replica.fetch.wait.max.ms", Type::kInt, "500", "how long a leader holds a follower's fetch for new data", 0);
    def("replica.fetch.min.bytes", Type::kInt, "1", "bytes a follower's fetch waits for", 1);
    def("replica.fetch.max.bytes", Type::kInt, "1048576", "bytes per partition a follower fetches at most", 1);
    def("replica.fetch.response.max.bytes", Type::kInt, "10485760", "bytes per follower fetch response at most", 1);
    def("replica.fetch.backoff.ms", Type::kLong, "1000", "pause after a follower's fetch failed", 0);
    def("replica.high.watermark.checkpoint.interval.ms", Type::kLong, "5000",
        "how often each replica's high watermark is written to disk", 1);
    def("offsets.topic.num.partitions", Type::kInt, "50", "partitions of __consumer_offsets (fixed once created)", 1);
    def("offsets.topic.replication.factor", Type::kInt, "3",
        "replicas of each __consumer_offsets partition (fewer when fewer brokers are live, as in a dev cluster)", 1);
    def("offsets.commit.timeout.ms", Type::kLong, "5000", "how long an offset commit waits for the ISR to hold it", 1);
    def("group.initial.rebalance.delay.ms", Type::kLong, "3000", "how long a new group waits for more members to join", 0);
    def("group.min.session.timeout.ms", Type::kInt, "6000", "smallest session timeout a member may ask for", 0);
    def("group.max.session.timeout.ms", Type::kInt, "1800000", "largest session timeout a member may ask for", 0);
    def("offsets.retention.minutes", Type::kLong, "10080", "how long offsets of an empty group are kept", 1);
    def("offsets.retention.check.interval.ms", Type::kLong, "600000", "how often expired offsets are removed", 1);
    def("group.max.size", Type::kInt, "2147483647", "largest number of members in one group", 1);
    def("transaction.state.log.num.partitions", Type::kInt, "50",
        "partitions of __transaction_state (fixed once created)", 1);
    def("transaction.state.log.replication.factor", Type::kInt, "3",
        "replicas of each __transaction_state partition (fewer when fewer brokers are live, as in a dev cluster)", 1);
    def("transaction.state.log.min.isr", Type::kInt, "2",
        "min.insync.replicas of __transaction_state (at most its replication factor)", 1);
    def("transaction.state.log.segment.bytes", Type::kInt, "104857600", "segment size of __transaction_state", 14);
    def("transaction.max.timeout.ms", Type::kInt, "900000",
        "largest transaction timeout a producer may ask for (INVALID_TRANSACTION_TIMEOUT beyond)", 1);
    def("transactional.id.expiration.ms", Type::kLong, "604800000",
        "how long a transactional id without transactions is kept before it is removed", 1);
    def("transaction.abort.timed.out.transaction.cleanup.interval.ms", Type::kLong, "10000",
        "how often transactions older than their timeout are aborted (and their producer fenced)", 1);
    def("transaction.remove.expired.transaction.cleanup.interval.ms", Type::kLong, "3600000",
        "how often expired transactional ids are removed", 1);
    def("producer.id.expiration.ms", Type::kLong, "86400000",
        "how long a partition keeps an idle producer's state (sequences, epoch) after its last write", 1);
    def("producer.id.expiration.check.interval.ms", Type::kLong, "600000",
        "how often partitions forget producers idle past producer.id.expiration.ms", 1);
    def("transaction.partition.verification.enable", Type::kBool, "true",
        "ask the coordinator before a producer's first transactional write to a partition (KIP-890)");
    def("listener.security.protocol.map", Type::kString,
        "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
        "listener name -> security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)");
    def("sasl.enabled.mechanisms", Type::kList, "PLAIN",
        "SASL mechanisms a SASL listener accepts: any of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512");
    def("sasl.mechanism.inter.broker.protocol", Type::kString, "PLAIN",
        "mechanism this broker logs in to other brokers with; must be in sasl.enabled.mechanisms", std::nullopt,
        {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"});
    def("sasl.jaas.config", Type::kString, "",
        "login module entries: PlainLoginModule with user_NAME=\"PASSWORD\" accepted users and username/password "
        "this broker's own PLAIN login; ScramLoginModule with username/password this broker's own SCRAM login "
        "(SCRAM users live in the cluster metadata)");
    def("sasl.oauthbearer.jwks.endpoint.url", Type::kString, "",
        "file:///PATH of the JWKS whose keys sign OAUTHBEARER tokens (read again when it changes)");
    def("sasl.oauthbearer.expected.issuer", Type::kString, "", "the iss an OAUTHBEARER token must carry; empty: any");
    def("sasl.oauthbearer.expected.audience", Type::kString, "",
        "an aud an OAUTHBEARER token must include; empty: any");
    def("sasl.oauthbearer.sub.claim.name", Type::kString, "sub", "the token claim that names the principal");
    def("sasl.oauthbearer.clock.skew.seconds", Type::kLong, "30", "leeway for exp, nbf and iat", 0);
    def("connections.max.reauth.ms", Type::kLong, "0",
        "a SASL login's session ends after this long (or at its token's expiry); clients log in again on the "
        "connection (KIP-368); 0: sessions never end", 0);
    def("connection.failed.authentication.delay.ms", Type::kInt, "100",
        "pause before a failed authentication is answered and the connection closed", 0);
    def("authorizer.class.name", Type::kString, "",
        "empty: no authorization (everyone may do everything); "
        "org.apache.kafka.metadata.authorizer.StandardAuthorizer: ACLs decide");
    def("super.users", Type::kString, "",
        "principals (Type:name, separated by semicolons) that every ACL check allows; list the brokers' own login");
    def("allow.everyone.if.no.acl.found", Type::kBool, "false",
        "with the ACL authorizer: allow everything on resources that no ACL covers");
    def("audit.log.file", Type::kString, "",
        "file the admin operations' audit trail is appended to as JSON lines; empty: no audit log");
    def("audit.log.max.bytes", Type::kLong, "104857600", "size at which the audit log is rotated", 1);
    def("audit.log.max.files", Type::kInt, "10", "rotated audit logs kept (file.1 is the newest)", 1);
    def("audit.log.topic", Type::kString, "",
        "topic the audit log's lines are also produced to (created on first use); empty: none");
    def("log.level", Type::kString, "info", "debug, info, warn or error", std::nullopt, {"debug", "info", "warn", "error"});
    return s;
  }();
  return schema;
}

int64_t BrokerRetentionMs(const config::Properties& broker) {
  if (broker.IsSet("log.retention.ms")) return broker.GetLong("log.retention.ms");
  if (broker.IsSet("log.retention.minutes")) {
    int64_t minutes = broker.GetLong("log.retention.minutes");
    return minutes < 0 ? -1 : minutes * 60'000;
  }
  int64_t hours = broker.GetLong("log.retention.hours");
  return hours < 0 ? -1 : hours * 3'600'000;
}

std::map<std::string, TopicConfigValue> EffectiveTopicConfigs(const config::Properties& broker,
                                                              const std::map<std::string, std::string>& overrides) {
  std::map<std::string, TopicConfigValue> out;
  for (const auto& key : metadata::TopicConfigKeys()) {
    if (auto it = overrides.find(key.topic_name); it != overrides.end()) {
      out[key.topic_name] = {it->second, true};
    } else if (key.topic_name == "retention.ms") {
      out[key.topic_name] = {std::to_string(BrokerRetentionMs(broker)), false};
    } else {
      out[key.topic_name] = {broker.GetString(key.broker_name), false};
    }
  }
  return out;
}

storage::LogConfig ToLogConfig(const std::map<std::string, TopicConfigValue>& effective) {
  auto number = [&](const char* key) {
    int64_t value = 0;
    const std::string& text = effective.at(key).value;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
  };
  storage::LogConfig config;
  config.segment_bytes = number("segment.bytes");
  config.segment_ms = number("segment.ms");
  config.retention_ms = number("retention.ms");
  config.retention_bytes = number("retention.bytes");
  config.flush_messages = number("flush.messages");
  config.flush_ms = number("flush.ms");
  config.index_interval_bytes = static_cast<int32_t>(number("index.interval.bytes"));
  config.segment_index_bytes = static_cast<int32_t>(number("segment.index.bytes"));
  config.log_append_time = effective.at("message.timestamp.type").value == "LogAppendTime";
  const std::string& policy = effective.at("cleanup.policy").value;
  config.compact = policy.find("compact") != std::string::npos;
  // A compact-only topic keeps its data until the cleaner supersedes it: no retention.
  config.delete_policy = policy.find("delete") != std::string::npos;
  if (!config.delete_policy) {
    config.retention_ms = -1;
    config.retention_bytes = -1;
  }
  config.delete_retention_ms = number("delete.retention.ms");
  // Validated as a number in [0, 1] when set (ValidateTopicConfig, the broker schema).
  if (!absl::SimpleAtod(ToAbsl(effective.at("min.cleanable.dirty.ratio").value), &config.min_cleanable_dirty_ratio)) {
    config.min_cleanable_dirty_ratio = 0.5;
  }
  return config;
}

}  // namespace sluice::broker
