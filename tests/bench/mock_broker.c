/* sluice-mock-broker: hosts librdkafka's in-memory mock cluster as a standalone
 * process, the reference broker the benchmark and the client tests compare against.
 *
 * Prints "BOOTSTRAP host:port[,host:port...]" as the first stdout line once the
 * cluster listens, then runs until SIGTERM/SIGINT, or until stdin reaches EOF when
 * stdin is a pipe, socket or terminal (so a parent that dies takes the mock with it;
 * /dev/null or a file on stdin is ignored, as shells give background jobs). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MAX_TOPICS 64

struct topic_spec {
  char name[250];
  int partitions;
};

struct options {
  int brokers;
  int default_partitions;
  int replication_factor;
  int topic_count;
  struct topic_spec topics[MAX_TOPICS];
};

static void usage(FILE *out) {
  fprintf(out,
          "usage: sluice-mock-broker [--brokers N] [--partitions P] [--replication-factor R]\n"
          "                          [--topic NAME[:P]]...\n"
          "  --brokers N             mock brokers in the cluster (default 1)\n"
          "  --partitions P          partitions of --topic without :P (default 1)\n"
          "  --replication-factor R  replicas per pre-created partition (default 1, <= N)\n"
          "  --topic NAME[:P]        pre-create a topic (repeatable, up to %d)\n"
          "Prints 'BOOTSTRAP <list>' first on stdout, runs until SIGTERM/SIGINT or EOF on a\n"
          "piped stdin.\n",
          MAX_TOPICS);
}

/* Parses a positive int; returns -1 when the text is not one. */
static int parse_positive(const char *text) {
  char *end = NULL;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value <= 0 || value > 1000000) return -1;
  return (int)value;
}

static int parse_topic(const char *arg, struct topic_spec *spec) {
  const char *colon = strrchr(arg, ':');
  size_t name_len = colon ? (size_t)(colon - arg) : strlen(arg);
  if (name_len == 0 || name_len >= sizeof(spec->name)) return -1;
  memcpy(spec->name, arg, name_len);
  spec->name[name_len] = '\0';
  spec->partitions = 0; /* 0: use --partitions */
  if (colon) {
    spec->partitions = parse_positive(colon + 1);
    if (spec->partitions < 0) return -1;
  }
  return 0;
}

static int parse_args(int argc, char **argv, struct options *opts) {
  opts->brokers = 1;
  opts->default_partitions = 1;
  opts->replication_factor = 1;
  opts->topic_count = 0;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      usage(stdout);
      exit(0);
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "sluice-mock-broker: unknown option or missing value: %s\n", arg);
      return -1;
    }
    const char *value = argv[++i];
    if (strcmp(arg, "--brokers") == 0) {
      opts->brokers = parse_positive(value);
    } else if (strcmp(arg, "--partitions") == 0) {
      opts->default_partitions = parse_positive(value);
    } else if (strcmp(arg, "--replication-factor") == 0) {
      opts->replication_factor = parse_positive(value);
    } else if (strcmp(arg, "--topic") == 0) {
      if (opts->topic_count == MAX_TOPICS ||
          parse_topic(value, &opts->topics[opts->topic_count]) != 0) {
        fprintf(stderr, "sluice-mock-broker: bad --topic '%s' (NAME or NAME:P)\n", value);
        return -1;
      }
      opts->topic_count++;
      continue;
    } else {
      fprintf(stderr, "sluice-mock-broker: unknown option: %s\n", arg);
      return -1;
    }
    if (opts->brokers < 0 || opts->default_partitions < 0 || opts->replication_factor < 0) {
      fprintf(stderr, "sluice-mock-broker: %s needs a positive integer, got '%s'\n", arg, value);
      return -1;
    }
  }
  if (opts->replication_factor > opts->brokers) {
    fprintf(stderr, "sluice-mock-broker: --replication-factor %d exceeds --brokers %d\n",
            opts->replication_factor, opts->brokers);
    return -1;
  }
  return 0;
}

/* EOF on stdin means "parent gone" only for pipes, sockets and terminals. */
static int stdin_is_watchable(void) {
  struct stat st;
  if (fstat(STDIN_FILENO, &st) != 0) return 0;
  return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || isatty(STDIN_FILENO);
}

/* Blocks until a termination signal arrives or a watched stdin closes. */
static int wait_for_shutdown(void) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  int sig_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC);
  if (sig_fd < 0) {
    perror("sluice-mock-broker: signalfd");
    return -1;
  }
  struct pollfd fds[2] = {{.fd = sig_fd, .events = POLLIN},
                          {.fd = stdin_is_watchable() ? STDIN_FILENO : -1, .events = POLLIN}};
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      perror("sluice-mock-broker: poll");
      break;
    }
    if (fds[0].revents) break;
    if (fds[1].revents) {
      char buf[4096];
      ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) break;
    }
  }
  close(sig_fd);
  return 0;
}

int main(int argc, char **argv) {
  struct options opts;
  if (parse_args(argc, argv, &opts) != 0) {
    usage(stderr);
    return 2;
  }

  /* Block the stop signals before librdkafka starts its threads so that every
   * thread inherits the mask and only signalfd sees them. */
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* The mock cluster needs a host handle; it never talks to a real broker. */
  if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "sluice-mock-broker: %s\n", errstr);
    return 1;
  }
  rd_kafka_t *host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!host) {
    fprintf(stderr, "sluice-mock-broker: rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t *cluster = rd_kafka_mock_cluster_new(host, opts.brokers);
  if (!cluster) {
    fprintf(stderr, "sluice-mock-broker: could not create the mock cluster\n");
    rd_kafka_destroy(host);
    return 1;
  }

  int rc = 0;
  for (int i = 0; i < opts.topic_count; i++) {
    const struct topic_spec *spec = &opts.topics[i];
    int partitions = spec->partitions > 0 ? spec->partitions : opts.default_partitions;
    rd_kafka_resp_err_t err =
        rd_kafka_mock_topic_create(cluster, spec->name, partitions, opts.replication_factor);
    if (err) {
      fprintf(stderr, "sluice-mock-broker: creating topic %s: %s\n", spec->name,
              rd_kafka_err2str(err));
      rc = 1;
      break;
    }
  }

  if (rc == 0) {
    printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(cluster));
    fflush(stdout);
    if (wait_for_shutdown() != 0) rc = 1;
  }

  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(host);
  return rc;
}
