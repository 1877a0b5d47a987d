"""The workload that runs while faults happen: idempotent acks=all producers writing numbered,
keyed records, and a two-member consumer group committing synchronously. Each thread records
exactly what the cluster acknowledged, so the checker can hold the cluster to it.

Record: key b"p<producer>-k<key>", value b"<producer>:<key>:<sequence of that key>".
"""
import logging
import threading
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

# librdkafka retries for as long as message.timeout.ms; it outlasts every schedule, so a record
# that is not delivered by the end means the cluster never took it back.
MESSAGE_TIMEOUT_MS = 180_000


def client_logger(path):
    """librdkafka's log lines of one schedule go to its own file, not to the runner's output."""
    logger = logging.getLogger(f"clients:{path}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger.addHandler(handler)
    return logger


def close_logger(logger):
    for handler in list(logger.handlers):
        handler.close()
        logger.removeHandler(handler)


def encode(producer, key, sequence):
    return b"p%d-k%d" % (producer, key), b"%d:%d:%d" % (producer, key, sequence)


def decode(key, value):
    """(producer, key, sequence), or None when the record is not one of ours."""
    try:
        producer, k, sequence = (int(x) for x in value.decode().split(":"))
    except (AttributeError, UnicodeDecodeError, ValueError):
        return None
    return (producer, k, sequence) if (key, value) == encode(producer, k, sequence) else None


class ProducerWorker(threading.Thread):
    def __init__(self, producer_id, bootstrap, topic, keys, rate, stop, logger):
        super().__init__(name=f"producer-{producer_id}", daemon=True)
        self.producer_id, self.bootstrap, self.topic, self.logger = producer_id, bootstrap, topic, logger
        self.keys, self.rate, self.stop = keys, rate, stop
        self.abandon = threading.Event()                # the run is aborted: drop what is queued
        self.produced = {k: 0 for k in range(keys)}   # key -> sequences handed to the client
        self.acked = {}                                 # (key, sequence) -> (partition, offset)
        self.delivery_errors = []                       # (key, sequence, error text)
        self.fatal = []                                 # fatal client errors
        self.client_errors = []                         # error_cb reports (informational)
        self.undelivered = None                         # messages left after the final flush
        self.crashed = None

    def _delivered(self, err, message):
        producer, key, sequence = decode(message.key(), message.value())
        if err is not None:
            self.delivery_errors.append((key, sequence, str(err)))
            if err.fatal():
                self.fatal.append(str(err))
        else:
            self.acked[(key, sequence)] = (message.partition(), message.offset())

    def _error(self, err):
        if err.fatal():
            self.fatal.append(str(err))
        elif len(self.client_errors) < 50:
            self.client_errors.append(str(err))

    def run(self):
        try:
            self._run()
        except Exception as e:  # reported by the checker, never lost with the thread
            self.crashed = repr(e)

    def _run(self):
        producer = Producer({
            "bootstrap.servers": self.bootstrap, "acks": "all", "enable.idempotence": True,
            "linger.ms": 5, "message.timeout.ms": MESSAGE_TIMEOUT_MS, "request.timeout.ms": 5000,
            "reconnect.backoff.max.ms": 1000, "error_cb": self._error, "logger": self.logger,
        })
        i = 0
        while not self.stop.is_set() and not self.fatal:
            key = i % self.keys
            record_key, value = encode(self.producer_id, key, self.produced[key])
            try:
                producer.produce(self.topic, key=record_key, value=value, on_delivery=self._delivered)
            except BufferError:
                producer.poll(0.1)
                continue
            self.produced[key] += 1
            i += 1
            producer.poll(0)
            self.stop.wait(1.0 / self.rate)  # pacing of the offered load, not synchronisation
        # Flush in short steps, so an aborted run can make the thread drop its queue and end
        # before the next schedule's cluster takes the same addresses.
        deadline = time.monotonic() + MESSAGE_TIMEOUT_MS / 1000
        while len(producer) and not self.abandon.is_set() and time.monotonic() < deadline:
            producer.flush(0.5)
        self.undelivered = len(producer)
        if self.abandon.is_set():
            producer.purge()
            producer.flush(1)

    def acked_count(self):
        return len(self.acked)


class GroupMember(threading.Thread):
    """One member of the consumer group: polls, commits synchronously every `commit_every`
    seconds, and after each successful commit fetches the group's committed offsets of every
    partition from the coordinator, with the times the fetch was sent and answered."""

    def __init__(self, member, bootstrap, topic, partitions, group, stop, logger, commit_every=0.5):
        super().__init__(name=f"member-{member}", daemon=True)
        self.logger = logger
        self.member, self.bootstrap, self.topic, self.partitions = member, bootstrap, topic, partitions
        self.group, self.stop, self.commit_every = group, stop, commit_every
        self.delivered = []        # (partition, offset, key, value)
        self.commits = []          # (answered at, partition, offset)
        self.fetches = []          # (sent at, answered at, {partition: offset})
        self.failed_commits = 0
        self.assignment = set()
        self.fatal = []
        self.crashed = None

    def run(self):
        try:
            self._run()
        except Exception as e:
            self.crashed = repr(e)

    def _error(self, err):
        if err.fatal():
            self.fatal.append(str(err))

    def _run(self):
        consumer = Consumer({
            "bootstrap.servers": self.bootstrap, "group.id": self.group, "enable.auto.commit": False,
            "auto.offset.reset": "earliest", "session.timeout.ms": 6000, "heartbeat.interval.ms": 1000,
            "reconnect.backoff.max.ms": 1000, "enable.partition.eof": False, "error_cb": self._error,
            "logger": self.logger,
        })
        consumer.subscribe([self.topic], on_assign=self._assigned, on_revoke=self._revoked)
        last_commit, uncommitted = time.monotonic(), 0
        try:
            while not self.stop.is_set():
                message = consumer.poll(0.2)
                if message is not None and message.error() is None:
                    self.delivered.append((message.partition(), message.offset(), message.key(), message.value()))
                    uncommitted += 1
                if uncommitted and time.monotonic() - last_commit >= self.commit_every:
                    if self._commit(consumer):
                        uncommitted = 0
                    last_commit = time.monotonic()
            if uncommitted:
                self._commit(consumer)
        finally:
            consumer.close()

    def _assigned(self, consumer, partitions):
        self.assignment = {p.partition for p in partitions}

    def _revoked(self, consumer, partitions):
        self.assignment = set()

    def _commit(self, consumer):
        try:
            result = consumer.commit(asynchronous=False)
        except KafkaException as e:
            if e.args[0].code() != KafkaError._NO_OFFSET:
                self.failed_commits += 1
            return False
        answered = time.monotonic()
        succeeded = [(answered, tp.partition, tp.offset) for tp in result or [] if tp.error is None and tp.offset >= 0]
        self.commits.extend(succeeded)
        self.failed_commits += sum(1 for tp in result or [] if tp.error is not None)
        self.fetches_after(consumer)
        return bool(succeeded)

    def fetches_after(self, consumer):
        sent = time.monotonic()
        try:
            got = consumer.committed([TopicPartition(self.topic, p) for p in range(self.partitions)], timeout=5)
        except KafkaException:
            return
        offsets = {tp.partition: tp.offset for tp in got if tp.error is None}
        self.fetches.append((sent, time.monotonic(), offsets))


def fetch_committed(bootstrap, topic, partitions, group, logger, timeout=30):
    """The group's committed offsets as a fresh client fetches them from the coordinator:
    (sent at, answered at, {partition: offset}); bounded, retried while the coordinator moves."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                         "logger": logger})
    deadline = time.monotonic() + timeout
    try:
        while True:
            sent = time.monotonic()
            try:
                got = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=5)
                if all(tp.error is None for tp in got):
                    return sent, time.monotonic(), {tp.partition: tp.offset for tp in got}
                problem = [str(tp.error) for tp in got if tp.error is not None]
            except KafkaException as e:
                problem = str(e)
            if time.monotonic() >= deadline:
                raise TimeoutError(f"timed out after {timeout}s fetching the committed offsets of {group}: {problem}")
            time.sleep(0.2)
    finally:
        consumer.close()


def read_partitions(bootstrap, topic, partitions, logger, timeout=60):
    """Every record of every partition from offset 0 up to the high watermark, with the
    watermarks: ({partition: [(offset, key, value)]}, {partition: high watermark})."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "fault-checker", "enable.auto.commit": False,
                         "enable.partition.eof": True, "logger": logger})
    try:
        ends = {}
        for p in range(partitions):
            _, ends[p] = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        records = {p: [] for p in range(partitions)}
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions) if ends[p] > 0])
        pending = {p for p in range(partitions) if ends[p] > 0}
        deadline = time.monotonic() + timeout
        while pending:
            if time.monotonic() >= deadline:
                have = {p: len(records[p]) for p in pending}
                raise TimeoutError(f"timed out after {timeout}s reading {topic} to its high watermarks {ends} (have {have})")
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error() is not None:
                if message.error().code() == KafkaError._PARTITION_EOF:
                    if message.offset() >= ends[message.partition()]:
                        pending.discard(message.partition())
                continue
            records[message.partition()].append((message.offset(), message.key(), message.value()))
            if message.offset() + 1 >= ends[message.partition()]:
                pending.discard(message.partition())
        return records, ends
    finally:
        consumer.close()
