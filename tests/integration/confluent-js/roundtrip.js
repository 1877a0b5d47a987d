// Confluent's JavaScript client (KafkaJS-compatible API over librdkafka 2.15): admin, producer,
// and a consumer in a group. Usage: node roundtrip.js BOOTSTRAP TOPIC GROUP COUNT
const { Kafka, logLevel } = require('@confluentinc/kafka-javascript').KafkaJS;

async function main() {
  const [bootstrap, topic, group, countText] = process.argv.slice(2);
  const count = Number(countText);
  const kafka = new Kafka({ kafkaJS: { brokers: bootstrap.split(','), logLevel: logLevel.ERROR } });
  const admin = kafka.admin();
  await admin.connect();
  const replicationFactor = Number(process.env.SLUICE_TEST_REPLICATION || 1);
  await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor }] });
  const topics = await admin.listTopics();
  if (!topics.includes(topic)) throw new Error(`listTopics lacks ${topic}: ${topics}`);

  const producer = kafka.producer({ kafkaJS: { idempotent: true, acks: -1 } });
  await producer.connect();
  const messages = [];
  for (let i = 0; i < count; i++) messages.push({ key: `k${i % 7}`, value: `v${i}` });
  await producer.send({ topic, messages });
  await producer.disconnect();

  const consumer = kafka.consumer({ kafkaJS: { groupId: group, fromBeginning: true } });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic] });
  const seen = new Set();
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumed ${seen.size} of ${count} in 60 s`)), 60000);
    consumer.run({
      eachMessage: async ({ message }) => {
        seen.add(message.value.toString());
        if (seen.size === count) { clearTimeout(timer); resolve(); }
      },
    });
  });
  await consumer.disconnect();

  const offsets = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  const committed = offsets[0].partitions.reduce((sum, p) => sum + Number(p.offset), 0);
  const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
  await admin.deleteTopics({ topics: [topic] });
  await admin.disconnect();
  console.log(JSON.stringify({ consumed: seen.size, committed, group_listed: groups.includes(group) }));
}

main().catch((err) => { console.error(err); process.exit(1); });
