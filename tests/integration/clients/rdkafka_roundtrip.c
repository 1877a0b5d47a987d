/* rdkafka-roundtrip: produces N keyed messages with librdkafka (idempotent producer,
 * chosen compression codec), reads them back with a fresh consumer and checks every
 * key, value and header byte for byte, per-partition offset order and per-key order.
 * Exit 0 only when everything matches. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "tests/integration/clients/topic_setup.h"

enum { KEY_SPACE = 97, MAX_VALUE_SIZE = 2000, MAX_PARTITIONS = 10000 };
static const char kHeaderName[] = "sluice-seq";

struct options {
  const char *bootstrap;
  const char *topic;
  const char *codec;
  long messages;
  int partitions;
  int replication_factor;
  int timeout_s;
};

static void usage(FILE *out) {
  fprintf(out,
          "usage: rdkafka-roundtrip --bootstrap HOST:PORT [--topic T] [--messages N]\n"
          "                         [--codec none|gzip|snappy|lz4|zstd] [--partitions P]\n"
          "                         [--replication-factor R] [--timeout S]\n"
          "  defaults: --topic roundtrip-<codec> --messages 100000 --codec none --partitions 6\n"
          "            --replication-factor 1 --timeout 120 (per phase)\n");
}

static int64_t monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("rdkafka-roundtrip: FAIL: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static long parse_long(const char *text, long min, long max) {
  char *end = NULL;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < min || value > max) return min - 1;
  return value;
}

static int parse_args(int argc, char **argv, struct options *o) {
  *o = (struct options){.codec = "none", .messages = 100000, .partitions = 6,
                        .replication_factor = 1, .timeout_s = 120};
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      usage(stdout);
      exit(0);
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "rdkafka-roundtrip: missing value for %s\n", arg);
      return -1;
    }
    const char *v = argv[++i];
    long n = 0;
    if (!strcmp(arg, "--bootstrap")) {
      o->bootstrap = v;
    } else if (!strcmp(arg, "--topic")) {
      o->topic = v;
    } else if (!strcmp(arg, "--codec")) {
      o->codec = v;
    } else if (!strcmp(arg, "--messages")) {
      if ((n = parse_long(v, 1, 100000000)) < 1) goto bad;
      o->messages = n;
    } else if (!strcmp(arg, "--partitions")) {
      if ((n = parse_long(v, 1, MAX_PARTITIONS)) < 1) goto bad;
      o->partitions = (int)n;
    } else if (!strcmp(arg, "--replication-factor")) {
      if ((n = parse_long(v, -1, 100)) < -1 || n == 0) goto bad;
      o->replication_factor = (int)n;
    } else if (!strcmp(arg, "--timeout")) {
      if ((n = parse_long(v, 1, 86400)) < 1) goto bad;
      o->timeout_s = (int)n;
    } else {
      fprintf(stderr, "rdkafka-roundtrip: unknown option %s\n", arg);
      return -1;
    }
    continue;
  bad:
    fprintf(stderr, "rdkafka-roundtrip: bad value for %s: '%s'\n", arg, v);
    return -1;
  }
  if (!o->bootstrap) {
    fprintf(stderr, "rdkafka-roundtrip: --bootstrap is required\n");
    return -1;
  }
  const char *codecs[] = {"none", "gzip", "snappy", "lz4", "zstd"};
  int known = 0;
  for (size_t c = 0; c < sizeof(codecs) / sizeof(codecs[0]); c++) known |= !strcmp(o->codec, codecs[c]);
  if (!known) {
    fprintf(stderr, "rdkafka-roundtrip: unknown codec '%s'\n", o->codec);
    return -1;
  }
  return 0;
}

/* ---- the deterministic message set: message i is fully derived from i ---- */

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static size_t make_key(long i, char *buf, size_t size) {
  return (size_t)snprintf(buf, size, "k-%ld", i % KEY_SPACE);
}

static size_t make_value(long i, unsigned char *buf) {
  uint64_t state = (uint64_t)i * 0x2545F4914F6CDD1Dull + 1;
  size_t len = 1 + (size_t)(splitmix64(&state) % MAX_VALUE_SIZE);
  for (size_t pos = 0; pos < len; pos += 8) {
    uint64_t word = splitmix64(&state);
    size_t chunk = len - pos < 8 ? len - pos : 8;
    memcpy(buf + pos, &word, chunk);
  }
  return len;
}

static size_t make_header(long i, char *buf, size_t size) {
  return (size_t)snprintf(buf, size, "%ld", i);
}

/* ---- produce ---- */

struct delivery_state {
  long delivered;
  long failed;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
  (void)rk;
  struct delivery_state *state = opaque;
  if (msg->err) {
    if (state->failed++ < 5)
      fail("delivery of message %" PRIdPTR " failed: %s", (intptr_t)msg->_private,
           rd_kafka_err2str(msg->err));
  } else {
    state->delivered++;
  }
}

static rd_kafka_conf_t *base_conf(const struct options *o) {
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", o->bootstrap, errstr, sizeof(errstr)) !=
      RD_KAFKA_CONF_OK) {
    fail("config: %s", errstr);
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  return conf;
}

static int set_conf(rd_kafka_conf_t *conf, const char *name, const char *value) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    fail("config %s=%s: %s", name, value, errstr);
    return -1;
  }
  return 0;
}

static int produce_all(const struct options *o) {
  struct delivery_state state = {0};
  rd_kafka_conf_t *conf = base_conf(o);
  if (!conf) return -1;
  if (set_conf(conf, "enable.idempotence", "true") || set_conf(conf, "compression.codec", o->codec) ||
      set_conf(conf, "linger.ms", "5")) {
    rd_kafka_conf_destroy(conf);
    return -1;
  }
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, &state);
  char errstr[512];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!rk) {
    fail("creating producer: %s", errstr);
    return -1;
  }

  int rc = -1;
  int64_t deadline = monotonic_ms() + (int64_t)o->timeout_s * 1000;
  unsigned char value[MAX_VALUE_SIZE];
  for (long i = 0; i < o->messages; i++) {
    char key[16], header[24];
    size_t key_len = make_key(i, key, sizeof(key));
    size_t value_len = make_value(i, value);
    size_t header_len = make_header(i, header, sizeof(header));
    for (;;) {
      rd_kafka_resp_err_t perr = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_KEY(key, key_len),
          RD_KAFKA_V_VALUE(value, value_len), RD_KAFKA_V_HEADER(kHeaderName, header, header_len),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE((void *)(intptr_t)i),
          RD_KAFKA_V_END);
      if (perr == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (perr != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        fail("produce of message %ld failed: %s", i, rd_kafka_err2str(perr));
        goto out;
      }
      if (monotonic_ms() > deadline) {
        fail("producer queue still full after %d s at message %ld", o->timeout_s, i);
        goto out;
      }
      rd_kafka_poll(rk, 10);
    }
    if (i % 1000 == 0) rd_kafka_poll(rk, 0);
  }
  int64_t left = deadline - monotonic_ms();
  rd_kafka_flush(rk, left > 0 ? (int)left : 0);
  if (rd_kafka_outq_len(rk) > 0) {
    fail("%d messages still undelivered after %d s (delivered %ld of %ld)", rd_kafka_outq_len(rk),
         o->timeout_s, state.delivered, o->messages);
  } else if (state.failed > 0) {
    fail("%ld of %ld messages failed delivery", state.failed, o->messages);
  } else if (state.delivered != o->messages) {
    fail("delivered %ld of %ld messages", state.delivered, o->messages);
  } else {
    rc = 0;
  }
out:
  rd_kafka_destroy(rk);
  return rc;
}

/* ---- consume and verify ---- */

struct verifier {
  long expected;
  long received;
  long errors;
  unsigned char *seen;     /* one flag per message index */
  long last_index_by_key[KEY_SPACE];
  int64_t *last_offset;    /* per partition */
  int partition_count;
};

static void mismatch(struct verifier *v, const char *fmt, ...) {
  if (v->errors++ >= 10) return;
  va_list ap;
  va_start(ap, fmt);
  fputs("rdkafka-roundtrip: FAIL: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static void verify_message(struct verifier *v, const rd_kafka_message_t *m) {
  int32_t p = m->partition;
  if (p < 0 || p >= v->partition_count) {
    mismatch(v, "message from unexpected partition %d", p);
    return;
  }
  if (m->offset <= v->last_offset[p]) {
    mismatch(v, "partition %d: offset %" PRId64 " after %" PRId64 " (not increasing)", p,
             m->offset, v->last_offset[p]);
  }
  v->last_offset[p] = m->offset;

  rd_kafka_headers_t *headers = NULL;
  const void *hval = NULL;
  size_t hsize = 0;
  if (rd_kafka_message_headers(m, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      rd_kafka_header_cnt(headers) != 1 ||
      rd_kafka_header_get(headers, 0, kHeaderName, &hval, &hsize) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      hval == NULL || hsize == 0 || hsize >= 24) {
    mismatch(v, "partition %d offset %" PRId64 ": missing or malformed %s header", p, m->offset,
             kHeaderName);
    return;
  }
  char header[24];
  memcpy(header, hval, hsize);
  header[hsize] = '\0';
  char *end = NULL;
  long i = strtol(header, &end, 10);
  if (*end != '\0' || i < 0 || i >= v->expected) {
    mismatch(v, "partition %d offset %" PRId64 ": header index '%s' out of range", p, m->offset,
             header);
    return;
  }
  if (v->seen[i]) {
    mismatch(v, "message %ld received twice (again at partition %d offset %" PRId64 ")", i, p,
             m->offset);
    return;
  }
  v->seen[i] = 1;
  v->received++;

  char key[16];
  unsigned char value[MAX_VALUE_SIZE];
  size_t key_len = make_key(i, key, sizeof(key));
  size_t value_len = make_value(i, value);
  if (m->key_len != key_len || memcmp(m->key, key, key_len) != 0)
    mismatch(v, "message %ld: key differs (got %zu bytes, want '%s')", i, m->key_len, key);
  if (m->len != value_len || memcmp(m->payload, value, value_len) != 0)
    mismatch(v, "message %ld: value differs (got %zu bytes, want %zu)", i, m->len, value_len);
  long *last = &v->last_index_by_key[i % KEY_SPACE];
  if (i <= *last) mismatch(v, "key %s: message %ld arrived after %ld", key, i, *last);
  *last = i;
}

/* Reads the partitions' current end offsets so that a rerun on a topic that already
 * holds data verifies only what this run wrote. */
static int query_start_offsets(rd_kafka_t *rk, const struct options *o, int partition_count,
                               int64_t *start) {
  for (int p = 0; p < partition_count; p++) {
    int64_t low = 0;
    rd_kafka_resp_err_t err;
    /* Right after creation a replicated partition's leader may not have taken the leadership
     * yet: retry the errors that say so, as clients do, within the phase's bound. */
    for (int attempt = 0;; attempt++) {
      err = rd_kafka_query_watermark_offsets(rk, o->topic, p, &low, &start[p], o->timeout_s * 1000);
      int retriable = err == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION ||
                      err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
                      err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || err == RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE;
      if (!retriable || attempt >= o->timeout_s * 10) break;
      rd_kafka_poll(rk, 100); /* serves metadata refreshes while waiting (bounded by the loop) */
    }
    if (err) {
      fail("ListOffsets for %s/%d: %s", o->topic, p, rd_kafka_err2str(err));
      return -1;
    }
  }
  return 0;
}

/* Explains a shortfall caused by the broker dropping the start of a partition (the
 * mock cluster keeps only the newest 5 MiB per partition). */
static void report_lost_prefix(rd_kafka_t *rk, const struct options *o, int partition_count,
                               const int64_t *start) {
  for (int p = 0; p < partition_count; p++) {
    int64_t low = 0, high = 0;
    if (rd_kafka_query_watermark_offsets(rk, o->topic, p, &low, &high, 5000) != 0) continue;
    if (low > start[p])
      fail("partition %d now starts at offset %" PRId64 ", past this run's first offset %" PRId64
           ": the broker deleted data this run wrote (retention?)",
           p, low, start[p]);
  }
}

static int consume_and_verify(const struct options *o, int partition_count, const int64_t *start,
                              int fresh_topic) {
  rd_kafka_conf_t *conf = base_conf(o);
  if (!conf) return -1;
  /* An offset reset would silently skip data: make it an error the check reports. */
  if (set_conf(conf, "check.crcs", "true") || set_conf(conf, "auto.offset.reset", "error")) {
    rd_kafka_conf_destroy(conf);
    return -1;
  }
  char errstr[512];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
  if (!rk) {
    fail("creating consumer: %s", errstr);
    return -1;
  }
  struct verifier v = {.expected = o->messages, .partition_count = partition_count};
  v.seen = calloc((size_t)o->messages, 1);
  v.last_offset = malloc(sizeof(int64_t) * (size_t)partition_count);
  for (int k = 0; k < KEY_SPACE; k++) v.last_index_by_key[k] = -1;
  for (int p = 0; p < partition_count; p++) v.last_offset[p] = -1;

  /* The simple (legacy) consumer assigns partitions without a consumer group, so no
   * group coordinator is involved. */
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
  rd_kafka_queue_t *queue = rd_kafka_queue_new(rk);
  int rc = -1;
  int started = 0;
  for (; started < partition_count; started++) {
    int64_t offset = fresh_topic ? RD_KAFKA_OFFSET_BEGINNING : start[started];
    if (rd_kafka_consume_start_queue(rkt, started, offset, queue) != 0) {
      fail("starting partition %d: %s", started, rd_kafka_err2str(rd_kafka_last_error()));
      goto out;
    }
  }

  int64_t deadline = monotonic_ms() + (int64_t)o->timeout_s * 1000;
  rd_kafka_message_t *batch[1000];
  while (v.received < v.expected && v.errors == 0) {
    int64_t left = deadline - monotonic_ms();
    if (left <= 0) {
      fail("timed out after %d s: received %ld of %ld messages", o->timeout_s, v.received,
           v.expected);
      report_lost_prefix(rk, o, partition_count, start);
      goto out;
    }
    ssize_t n = rd_kafka_consume_batch_queue(queue, left < 500 ? (int)left : 500, batch, 1000);
    if (n < 0) {
      fail("consume: %s", rd_kafka_err2str(rd_kafka_last_error()));
      goto out;
    }
    for (ssize_t k = 0; k < n; k++) {
      const rd_kafka_message_t *m = batch[k];
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        /* Informational: the partition is caught up for now. */
      } else if (m->err) {
        mismatch(&v, "consumer error on partition %d: %s", m->partition,
                 rd_kafka_message_errstr(m));
      } else {
        verify_message(&v, m);
      }
      rd_kafka_message_destroy(batch[k]);
    }
  }
  if (v.errors == 0) rc = 0;
  else if (v.errors > 10) fail("... %ld verification errors in total", v.errors);

out:
  for (int p = 0; p < started; p++) rd_kafka_consume_stop(rkt, p);
  rd_kafka_queue_destroy(queue);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  free(v.seen);
  free(v.last_offset);
  return rc;
}

int main(int argc, char **argv) {
  struct options o;
  if (parse_args(argc, argv, &o) != 0) {
    usage(stderr);
    return 2;
  }
  char default_topic[64];
  if (!o.topic) {
    snprintf(default_topic, sizeof(default_topic), "roundtrip-%s", o.codec);
    o.topic = default_topic;
  }

  int64_t t0 = monotonic_ms();
  /* Create the topic (if needed) first, then note where it ends before producing. */
  rd_kafka_conf_t *probe_conf = base_conf(&o);
  if (!probe_conf) return 1;
  char errstr[512];
  rd_kafka_t *probe = rd_kafka_new(RD_KAFKA_PRODUCER, probe_conf, errstr, sizeof(errstr));
  if (!probe) {
    fail("creating client: %s", errstr);
    return 1;
  }
  int partition_count = 0;
  int64_t *start = NULL;
  int rc = 1;
  char err[512];
  if (sluice_ensure_topic(probe, o.topic, o.partitions, o.replication_factor, o.timeout_s * 1000,
                          &partition_count, err, sizeof(err)) != 0) {
    fail("%s", err);
    goto out;
  }
  start = calloc((size_t)partition_count, sizeof(int64_t));
  if (query_start_offsets(probe, &o, partition_count, start) != 0) goto out;
  rd_kafka_destroy(probe);
  probe = NULL;
  int fresh_topic = 1;
  for (int p = 0; p < partition_count; p++) fresh_topic &= start[p] == 0;

  if (produce_all(&o) != 0) goto out;
  int64_t t1 = monotonic_ms();
  if (consume_and_verify(&o, partition_count, start, fresh_topic) != 0) goto out;
  int64_t t2 = monotonic_ms();
  printf("rdkafka-roundtrip: OK topic=%s codec=%s partitions=%d messages=%ld produce_s=%.2f "
         "consume_s=%.2f%s\n",
         o.topic, o.codec, partition_count, o.messages, (t1 - t0) / 1000.0, (t2 - t1) / 1000.0,
         fresh_topic ? "" : " (topic held earlier data; verified this run's messages)");
  rc = 0;
out:
  if (probe) rd_kafka_destroy(probe);
  free(start);
  return rc;
}
