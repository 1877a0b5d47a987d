// A kafkajs consumer group (two members) consumes everything a kafkajs producer sent, each
// message exactly once across the members, and commits offsets that match the log ends.
// Usage: node groups.js BOOTSTRAP TOPIC COUNT
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const [bootstrap, topic, countText] = process.argv.slice(2);
const count = Number(countText || 3000);
const partitions = 6;
const groupId = `${topic}-group`;
const deadlineMs = 90000;

function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

async function main() {
  const kafka = new Kafka({ clientId: 'sluice-it-groups', brokers: bootstrap.split(','), logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: Number(process.env.SLUICE_TEST_REPLICATION || '1') }], waitForLeaders: true });

  const producer = kafka.producer();
  await producer.connect();
  for (let start = 0; start < count; start += 500) {
    const messages = [];
    for (let i = start; i < Math.min(count, start + 500); i++) messages.push({ key: `k${i % 17}`, value: `v${i}` });
    await producer.send({ topic, messages });
  }
  await producer.disconnect();

  const seen = new Map();  // value -> member index
  const consumers = [];
  let resolveAll;
  const allSeen = new Promise((resolve) => { resolveAll = resolve; });
  for (let index = 0; index < 2; index++) {
    const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 1000 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const value = message.value.toString();
        if (seen.has(value)) fail(`${value} consumed twice`);
        seen.set(value, index);
        if (seen.size === count) resolveAll();
      },
    });
    consumers.push(consumer);
  }
  const timer = setTimeout(() => fail(`only ${seen.size} of ${count} messages consumed in ${deadlineMs} ms`), deadlineMs);
  await allSeen;
  clearTimeout(timer);

  const perMember = [0, 0];
  for (const index of seen.values()) perMember[index]++;
  for (const consumer of consumers) await consumer.disconnect();  // commits what was consumed

  const ends = await admin.fetchTopicOffsets(topic);
  const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
  const committedByPartition = new Map(committed[0].partitions.map((p) => [p.partition, p.offset]));
  for (const end of ends) {
    if (committedByPartition.get(end.partition) !== end.offset) {
      fail(`partition ${end.partition}: committed ${committedByPartition.get(end.partition)}, log end ${end.offset}`);
    }
  }
  await admin.disconnect();
  console.log(`OK: ${count} messages, per member ${perMember.join('/')}`);
}

main().catch((error) => fail(error.stack || String(error)));
