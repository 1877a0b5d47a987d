"""A consume-transform-produce loop with exactly-once semantics, as stream processors run it on
librdkafka (python3-confluent-kafka): reads the input topic in a consumer group with
read_committed, writes each record's transformed copy to the output topic and the consumed
positions to the group inside one transaction per batch. Exits after `idle` seconds without
input. test_transactions.py kills it with SIGKILL mid-run and starts it again.

Usage: txn_processor.py BOOTSTRAP INPUT OUTPUT GROUP TRANSACTIONAL_ID BATCH IDLE_S"""
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition


def main():
    bootstrap, source, sink, group, txn_id, batch, idle = sys.argv[1:8]
    batch, idle = int(batch), float(idle)
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id,
                         "transaction.timeout.ms": 60000, "linger.ms": 5})
    # Fences an earlier incarnation and aborts its open transaction before anything is read.
    producer.init_transactions(60)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "group.instance.id": txn_id,
                         "isolation.level": "read_committed", "enable.auto.commit": False,
                         "auto.offset.reset": "earliest", "session.timeout.ms": 6000})
    consumer.subscribe([source])
    last_input = time.monotonic()
    while time.monotonic() - last_input < idle:
        messages = consumer.consume(batch, 1.0)
        messages = [m for m in messages if m.error() is None]
        if not messages:
            continue
        last_input = time.monotonic()
        producer.begin_transaction()
        for m in messages:
            producer.produce(sink, key=m.key(), value=b"out-" + m.value())
        positions = consumer.position(consumer.assignment())
        producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), 60)
        producer.commit_transaction(60)
        print(f"committed {len(messages)}", flush=True)
    consumer.close()
    print("idle: done", flush=True)


if __name__ == "__main__":
    try:
        main()
    except KafkaException as e:
        print(f"FAIL: {e}", flush=True)
        sys.exit(1)
