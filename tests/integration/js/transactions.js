// kafkajs producer.transaction() against Sluice: a transaction that sends records and the
// consumer group's offsets (sendOffsets) and commits, one that aborts, then a read_committed
// consumer (readUncommitted: false) and the group's committed offsets. Prints "OK" when what is
// visible is exactly the committed part; any other outcome exits 1.
// Usage: node transactions.js BOOTSTRAP TOPIC GROUP
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const [bootstrap, topic, group] = process.argv.slice(2);

function check(condition, what) {
  if (!condition) throw new Error(what);
}

async function main() {
  const kafka = new Kafka({ clientId: 'sluice-it-txn', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }], waitForLeaders: true });
  const producer = kafka.producer({ transactionalId: `${topic}-txn`, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();

  const committed = await producer.transaction();
  await committed.send({ topic, messages: [{ key: 'a', value: 'committed-1' }, { key: 'b', value: 'committed-2' }] });
  await committed.sendOffsets({ consumerGroupId: group, topics: [{ topic, partitions: [{ partition: 0, offset: '2' }] }] });
  await committed.commit();

  const aborted = await producer.transaction();
  await aborted.send({ topic, messages: [{ key: 'c', value: 'aborted-1' }] });
  await aborted.sendOffsets({ consumerGroupId: group, topics: [{ topic, partitions: [{ partition: 0, offset: '3' }] }] });
  await aborted.abort();
  await producer.disconnect();
  // A plain record after both: once the reader has it, it has passed both transactions.
  const plain = kafka.producer();
  await plain.connect();
  await plain.send({ topic, acks: -1, messages: [{ value: 'sentinel' }] });
  await plain.disconnect();

  const offsets = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  const offset = offsets[0].partitions.find((p) => p.partition === 0).offset;
  check(offset === '2', `the group's committed offset is ${offset}, not the committed transaction's 2`);

  const consumer = kafka.consumer({ groupId: `${group}-reader`, readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out; saw ${seen}`)), 30000);
    consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value.toString());
        if (seen[seen.length - 1] === 'sentinel') {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  await admin.disconnect();
  check(JSON.stringify(seen) === JSON.stringify(['committed-1', 'committed-2', 'sentinel']), `read_committed saw ${seen}`);
  console.log('OK');
}

main().catch((e) => {
  console.error(`FAIL: ${e.stack || String(e)}`);
  process.exit(1);
});
