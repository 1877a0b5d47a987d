// kafkajs admin: applies a reassignment plan and waits (bounded) until it is done: nothing
// listed, and the metadata shows every partition on exactly its target replicas, all in sync.
// Usage: node apply_plan.js BOOTSTRAP TOPIC '{"0":[1,2,3],...}' TIMEOUT_MS
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const [bootstrap, topic, planText, timeoutText] = process.argv.slice(2);

function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

function same(a, b) {
  return JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
}

async function main() {
  const plan = JSON.parse(planText);
  const kafka = new Kafka({ clientId: 'sluice-it', brokers: bootstrap.split(','), logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  await admin.connect();
  const started = Date.now();
  const partitionAssignment = Object.entries(plan).map(([p, replicas]) => ({ partition: Number(p), replicas }));
  await admin.alterPartitionReassignments({ topics: [{ topic, partitionAssignment }] });
  const deadline = started + Number(timeoutText);
  for (;;) {
    const listed = await admin.listPartitionReassignments({});
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    const pending = meta.topics[0].partitions.filter((p) => {
      const target = plan[String(p.partitionId)];
      return target && !(same(p.replicas, target) && same(p.isr, target) && target.includes(p.leader));
    });
    if (listed.topics.length === 0 && pending.length === 0) break;
    if (Date.now() > deadline) fail(`the plan did not complete: ${JSON.stringify({ listed, pending })}`);
    await new Promise((resolve) => setTimeout(resolve, 100));  // polling a bounded condition
  }
  await admin.disconnect();
  console.log(`OK kafkajs applied the plan in ${Date.now() - started} ms`);
}

main().catch((e) => fail(e.stack || String(e)));
