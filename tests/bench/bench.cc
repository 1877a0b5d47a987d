// sluice-bench: librdkafka producer/consumer benchmark. Prints one machine-readable
// "RESULT key=value ..." line per run plus a human-readable summary line.
//
//   produce: N messages of S bytes (throughput mode, or paced with --rate for latency);
//            delivery latency is per message, from produce() to its delivery report.
//   consume: reads N messages from the beginning of every partition (no consumer group).
//
// Partition choice: message i goes to partition i*P/N (contiguous runs), so every
// partition receives one dense stream (full batches) and holds N/P messages; a broker
// with bounded per-partition retention (librdkafka's mock keeps 5 MiB) can then keep a
// whole run for the consume benchmark when P is large enough.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include "tests/integration/clients/topic_setup.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string bootstrap;
  std::string mode = "produce";
  std::string topic = "sluice-bench";
  std::string name;  // free-form label copied into the RESULT line
  long messages = 1000000;
  int size = 1024;
  int partitions = 1;
  int replication_factor = 1;
  std::string acks = "1";
  std::string linger_ms = "5";
  std::string batch_num_messages = "10000";
  std::string batch_size;  // librdkafka default unless given
  std::string compression = "none";
  double rate = 0;      // msgs/s; 0 = as fast as possible
  double duration = 0;  // with --rate: run this long instead of --messages
  int timeout_s = 600;
  long transaction_records = 0;  // > 0: a transactional producer committing every N messages
  std::vector<std::pair<std::string, std::string>> extra;  // -X key=value
};

void Usage(FILE* out) {
  std::fputs(
      "usage: sluice-bench --bootstrap HOST:PORT [--mode produce|consume] [options]\n"
      "  --topic T              topic (default sluice-bench); created if missing\n"
      "  --partitions P         partitions when creating (default 1); produce spreads over\n"
      "                         the topic's partitions in contiguous runs\n"
      "  --replication-factor R when creating (default 1)\n"
      "  --messages N           messages to produce / consume (default 1000000)\n"
      "  --size S               payload bytes (default 1024)\n"
      "  --acks A               0, 1 or all (default 1)\n"
      "  --linger-ms MS         (default 5)\n"
      "  --batch-num-messages N (default 10000)\n"
      "  --batch-size BYTES     (default: librdkafka's)\n"
      "  --compression C        none|gzip|snappy|lz4|zstd (default none)\n"
      "  --rate R               produce at R msgs/s (paced) for latency measurement\n"
      "  --duration S           with --rate: N = R*S\n"
      "  --timeout S            bound on the whole run (default 600)\n"
      "  --transaction-records N  transactional producer: one transaction per N messages,\n"
      "                         reporting commit latency (transactional.id: -X, or one per run)\n"
      "  --name LABEL           label echoed in the RESULT line\n"
      "  -X key=value           any librdkafka property (repeatable)\n",
      out);
}

bool ParseNumber(const char* text, double min, double max, double* out) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || v < min || v > max) return false;
  *out = v;
  return true;
}

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; i++) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      Usage(stdout);
      std::exit(0);
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "sluice-bench: missing value for %s\n", argv[i]);
      return false;
    }
    const char* v = argv[++i];
    double n = 0;
    auto number = [&](double min, double max) {
      if (ParseNumber(v, min, max, &n)) return true;
      std::fprintf(stderr, "sluice-bench: bad value for %s: '%s'\n", argv[i - 1], v);
      return false;
    };
    if (arg == "--bootstrap") o->bootstrap = v;
    else if (arg == "--mode") o->mode = v;
    else if (arg == "--topic") o->topic = v;
    else if (arg == "--name") o->name = v;
    else if (arg == "--acks") o->acks = v;
    else if (arg == "--linger-ms") o->linger_ms = v;
    else if (arg == "--batch-num-messages") o->batch_num_messages = v;
    else if (arg == "--batch-size") o->batch_size = v;
    else if (arg == "--compression") o->compression = v;
    else if (arg == "--messages") { if (!number(1, 1e10)) return false; o->messages = static_cast<long>(n); }
    else if (arg == "--size") { if (!number(0, 100e6)) return false; o->size = static_cast<int>(n); }
    else if (arg == "--partitions") { if (!number(1, 100000)) return false; o->partitions = static_cast<int>(n); }
    else if (arg == "--replication-factor") { if (!number(1, 100)) return false; o->replication_factor = static_cast<int>(n); }
    else if (arg == "--rate") { if (!number(1, 1e9)) return false; o->rate = n; }
    else if (arg == "--duration") { if (!number(0.001, 86400)) return false; o->duration = n; }
    else if (arg == "--timeout") { if (!number(1, 86400)) return false; o->timeout_s = static_cast<int>(n); }
    else if (arg == "--transaction-records") { if (!number(1, 1e9)) return false; o->transaction_records = static_cast<long>(n); }
    else if (arg == "-X") {
      const char* eq = std::strchr(v, '=');
      if (!eq || eq == v) {
        std::fprintf(stderr, "sluice-bench: -X needs key=value, got '%s'\n", v);
        return false;
      }
      o->extra.emplace_back(std::string(v, eq), std::string(eq + 1));
    } else {
      std::fprintf(stderr, "sluice-bench: unknown option %s\n", argv[i - 1]);
      return false;
    }
  }
  if (o->bootstrap.empty()) {
    std::fprintf(stderr, "sluice-bench: --bootstrap is required\n");
    return false;
  }
  if (o->mode != "produce" && o->mode != "consume") {
    std::fprintf(stderr, "sluice-bench: --mode must be produce or consume\n");
    return false;
  }
  if (o->duration > 0) {
    if (o->rate <= 0) {
      std::fprintf(stderr, "sluice-bench: --duration needs --rate\n");
      return false;
    }
    o->messages = std::max(1L, static_cast<long>(o->rate * o->duration));
  }
  return true;
}

// Builds a client configuration; reports the failing property on error.
rd_kafka_conf_t* MakeConf(const Options& o, const std::vector<std::pair<std::string, std::string>>& props) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::vector<std::pair<std::string, std::string>> all = {{"bootstrap.servers", o.bootstrap}};
  all.insert(all.end(), props.begin(), props.end());
  all.insert(all.end(), o.extra.begin(), o.extra.end());
  char errstr[512];
  for (const auto& [key, value] : all) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
      std::fprintf(stderr, "sluice-bench: %s=%s: %s\n", key.c_str(), value.c_str(), errstr);
      rd_kafka_conf_destroy(conf);
      return nullptr;
    }
  }
  return conf;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// Latency samples in microseconds; percentiles by selection at the end of the run.
class LatencySamples {
 public:
  void Reserve(size_t n) { samples_.reserve(n); }
  void Add(int64_t ns) { samples_.push_back(static_cast<uint32_t>(std::min<int64_t>(ns / 1000, UINT32_MAX))); }
  double PercentileMs(double q) {
    if (samples_.empty()) return 0;
    size_t k = std::min(samples_.size() - 1, static_cast<size_t>(q * static_cast<double>(samples_.size())));
    std::nth_element(samples_.begin(), samples_.begin() + static_cast<std::ptrdiff_t>(k), samples_.end());
    return samples_[k] / 1000.0;
  }
  double MaxMs() const {
    return samples_.empty() ? 0 : *std::max_element(samples_.begin(), samples_.end()) / 1000.0;
  }

 private:
  std::vector<uint32_t> samples_;
};

struct ProduceState {
  LatencySamples latency;
  long delivered = 0;
  long failed = 0;
  int64_t last_delivery_ns = 0;
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  auto* state = static_cast<ProduceState*>(opaque);
  int64_t now = NowNs();
  if (msg->err) {
    if (state->failed++ < 5)
      std::fprintf(stderr, "sluice-bench: delivery failed: %s\n", rd_kafka_err2str(msg->err));
    return;
  }
  state->delivered++;
  state->latency.Add(now - reinterpret_cast<intptr_t>(msg->_private));
  state->last_delivery_ns = now;
}

// `size` is the payload size: the configured one when producing, the mean when consuming.
void PrintResult(const Options& o, long msgs, long bytes, long size, double seconds, const std::string& extra) {
  double mb_s = seconds > 0 ? bytes / 1e6 / seconds : 0;
  double msgs_s = seconds > 0 ? msgs / seconds : 0;
  std::printf("RESULT name=%s mode=%s msgs=%ld bytes=%ld size=%ld seconds=%.3f mb_s=%.2f msgs_s=%.0f%s\n",
              o.name.empty() ? o.mode.c_str() : o.name.c_str(), o.mode.c_str(), msgs, bytes, size,
              seconds, mb_s, msgs_s, extra.c_str());
  std::printf("%s: %ld msgs of %ld B in %.2f s: %.1f MB/s, %.0f msgs/s\n",
              o.name.empty() ? o.mode.c_str() : o.name.c_str(), msgs, size, seconds, mb_s, msgs_s);
}

// Creates the topic if missing; returns its partition count or -1.
int PrepareTopic(rd_kafka_t* rk, const Options& o) {
  int partitions = 0;
  char err[512];
  if (sluice_ensure_topic(rk, o.topic.c_str(), o.partitions, o.replication_factor, 30000, &partitions, err,
                          sizeof(err)) != 0) {
    std::fprintf(stderr, "sluice-bench: %s\n", err);
    return -1;
  }
  return partitions;
}

// Sleeps until the absolute steady-clock time `deadline_ns`.
void SleepUntil(int64_t deadline_ns) {
  timespec ts{.tv_sec = static_cast<time_t>(deadline_ns / 1000000000), .tv_nsec = deadline_ns % 1000000000};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

int RunProduce(const Options& o) {
  ProduceState state;
  state.latency.Reserve(static_cast<size_t>(o.messages));
  std::vector<std::pair<std::string, std::string>> props = {
      {"acks", o.acks},
      {"linger.ms", o.linger_ms},
      {"batch.num.messages", o.batch_num_messages},
      {"compression.codec", o.compression},
      // Deep enough that the application thread rarely stalls on a full queue.
      {"queue.buffering.max.messages", "1000000"},
      {"queue.buffering.max.kbytes", "2097151"},
  };
  if (!o.batch_size.empty()) props.emplace_back("batch.size", o.batch_size);
  const bool transactional = o.transaction_records > 0;
  const bool txn_id_given = std::any_of(o.extra.begin(), o.extra.end(),
                                        [](const auto& kv) { return kv.first == "transactional.id"; });
  if (transactional && !txn_id_given) props.emplace_back("transactional.id", "sluice-bench-" + std::to_string(getpid()));
  rd_kafka_conf_t* conf = MakeConf(o, props);
  if (!conf) return 2;
  rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
  rd_kafka_conf_set_opaque(conf, &state);
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!rk) {
    std::fprintf(stderr, "sluice-bench: %s\n", errstr);
    return 1;
  }
  int partitions = PrepareTopic(rk, o);
  if (partitions < 0) {
    rd_kafka_destroy(rk);
    return 1;
  }
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, o.topic.c_str(), nullptr);

  // Incompressible payload, shared by every message (librdkafka copies it into batches).
  std::vector<char> payload(static_cast<size_t>(o.size));
  uint64_t x = 88172645463325252ull;
  for (char& c : payload) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    c = static_cast<char>(x);
  }

  const int64_t deadline = NowNs() + int64_t{o.timeout_s} * 1000000000;
  LatencySamples commit_latency;
  // A failed transactional call ends the run: the figures would not describe transactions.
  auto txn_ok = [&](rd_kafka_error_t* error, const char* what) {
    if (error == nullptr) return true;
    std::fprintf(stderr, "sluice-bench: %s failed: %s\n", what, rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
    return false;
  };
  const int txn_timeout_ms = o.timeout_s * 1000;
  if (transactional && !txn_ok(rd_kafka_init_transactions(rk, txn_timeout_ms), "init_transactions")) {
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return 1;
  }
  const int64_t start = NowNs();
  const double interval_ns = o.rate > 0 ? 1e9 / o.rate : 0;
  int rc = 0;
  for (long i = 0; i < o.messages && rc == 0; i++) {
    if (transactional && i % o.transaction_records == 0 &&
        !txn_ok(rd_kafka_begin_transaction(rk), "begin_transaction")) {
      rc = 1;
      break;
    }
    if (interval_ns > 0) {
      int64_t due = start + static_cast<int64_t>(static_cast<double>(i) * interval_ns);
      if (due > NowNs()) {
        rd_kafka_poll(rk, 0);
        SleepUntil(due);
      }
    }
    auto partition = static_cast<int32_t>(static_cast<__int128>(i) * partitions / o.messages);
    while (rd_kafka_produce(rkt, partition, 0, payload.data(), payload.size(), nullptr, 0,
                            reinterpret_cast<void*>(static_cast<intptr_t>(NowNs()))) != 0) {
      rd_kafka_resp_err_t err = rd_kafka_last_error();
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        std::fprintf(stderr, "sluice-bench: produce failed: %s\n", rd_kafka_err2str(err));
        rc = 1;
        break;
      }
      if (NowNs() > deadline) {
        std::fprintf(stderr, "sluice-bench: timed out with the producer queue full at message %ld\n", i);
        rc = 1;
        break;
      }
      rd_kafka_poll(rk, 1);
    }
    if ((i & 1023) == 0) rd_kafka_poll(rk, 0);
    if (transactional && ((i + 1) % o.transaction_records == 0 || i + 1 == o.messages)) {
      const int64_t commit_start = NowNs();
      if (!txn_ok(rd_kafka_commit_transaction(rk, txn_timeout_ms), "commit_transaction")) rc = 1;
      commit_latency.Add(NowNs() - commit_start);
    }
  }
  while (rc == 0 && rd_kafka_outq_len(rk) > 0) {
    if (NowNs() > deadline) {
      std::fprintf(stderr, "sluice-bench: timed out with %d messages undelivered\n", rd_kafka_outq_len(rk));
      rc = 1;
      break;
    }
    rd_kafka_poll(rk, 100);
  }
  if (rc == 0 && (state.failed > 0 || state.delivered != o.messages)) {
    std::fprintf(stderr, "sluice-bench: %ld delivered, %ld failed of %ld\n", state.delivered, state.failed,
                 o.messages);
    rc = 1;
  }
  if (rc == 0) {
    double seconds = static_cast<double>(state.last_delivery_ns - start) / 1e9;
    char extra[256];
    std::snprintf(extra, sizeof(extra),
                  " p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f acks=%s partitions=%d rate=%.0f",
                  state.latency.PercentileMs(0.50), state.latency.PercentileMs(0.99),
                  state.latency.PercentileMs(0.999), state.latency.MaxMs(), o.acks.c_str(), partitions, o.rate);
    if (transactional) {
      const size_t used = std::strlen(extra);
      std::snprintf(extra + used, sizeof(extra) - used, " commit_p50_ms=%.3f commit_p99_ms=%.3f",
                    commit_latency.PercentileMs(0.50), commit_latency.PercentileMs(0.99));
    }
    PrintResult(o, state.delivered, state.delivered * o.size, o.size, seconds, extra);
    std::printf("  delivery latency p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms\n", state.latency.PercentileMs(0.50),
                state.latency.PercentileMs(0.99), state.latency.PercentileMs(0.999));
  }
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  return rc;
}

int RunConsume(const Options& o) {
  // Reset is an error: a silent jump to the log end would stall the count.
  rd_kafka_conf_t* conf = MakeConf(o, {{"auto.offset.reset", "error"}});
  if (!conf) return 2;
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
  if (!rk) {
    std::fprintf(stderr, "sluice-bench: %s\n", errstr);
    return 1;
  }
  int partitions = PrepareTopic(rk, o);
  if (partitions < 0) {
    rd_kafka_destroy(rk);
    return 1;
  }
  // The simple consumer assigns partitions directly: no consumer group involved.
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, o.topic.c_str(), nullptr);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  const int64_t start = NowNs();
  const int64_t deadline = start + int64_t{o.timeout_s} * 1000000000;
  int rc = 0;
  int started = 0;
  for (; started < partitions; started++) {
    if (rd_kafka_consume_start_queue(rkt, started, RD_KAFKA_OFFSET_BEGINNING, queue) != 0) {
      std::fprintf(stderr, "sluice-bench: start partition %d: %s\n", started,
                   rd_kafka_err2str(rd_kafka_last_error()));
      rc = 1;
      break;
    }
  }
  long msgs = 0, bytes = 0;
  std::vector<rd_kafka_message_t*> batch(10000);
  while (rc == 0 && msgs < o.messages) {
    if (NowNs() > deadline) {
      std::fprintf(stderr, "sluice-bench: timed out after %d s having consumed %ld of %ld messages\n",
                   o.timeout_s, msgs, o.messages);
      rc = 1;
      break;
    }
    ssize_t n = rd_kafka_consume_batch_queue(queue, 200, batch.data(), batch.size());
    for (ssize_t k = 0; k < n; k++) {
      rd_kafka_message_t* m = batch[static_cast<size_t>(k)];
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        msgs++;
        bytes += static_cast<long>(m->len);
      } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        std::fprintf(stderr, "sluice-bench: consume error on partition %d: %s\n", m->partition,
                     rd_kafka_message_errstr(m));
        rc = 1;
      }
      rd_kafka_message_destroy(m);
    }
  }
  double seconds = static_cast<double>(NowNs() - start) / 1e9;
  if (rc == 0) PrintResult(o, msgs, bytes, msgs ? bytes / msgs : 0, seconds, " partitions=" + std::to_string(partitions));
  for (int p = 0; p < started; p++) rd_kafka_consume_stop(rkt, p);
  rd_kafka_queue_destroy(queue);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, &o)) {
    Usage(stderr);
    return 2;
  }
  return o.mode == "produce" ? RunProduce(o) : RunConsume(o);
}
