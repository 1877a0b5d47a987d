"""The checker against hand-made histories: a clean one passes, and each kind of broken one is
caught, so a passing fault run means the checks ran rather than that they cannot fail."""
import unittest

from checker import GroupRecord, ProducerRecord, check
from workload import encode


def history(records_per_key=5):
    """One producer, two keys on partitions 0 and 1, every record acknowledged in order."""
    acked, log = {}, {0: [], 1: []}
    for key in (0, 1):
        for sequence in range(records_per_key):
            offset = len(log[key])
            log[key].append((offset, *encode(0, key, sequence)))
            acked[(key, sequence)] = (key, offset)
    producer = ProducerRecord(0, {0: records_per_key, 1: records_per_key}, acked)
    ends = {p: len(r) for p, r in log.items()}
    group = GroupRecord(delivered=[(p, o, k, v) for p, r in log.items() for o, k, v in r],
                        commits=[(1.0, 0, 2), (3.0, 0, 5)],
                        fetches=[(1.1, 1.2, {0: 2, 1: -1}), (3.1, 3.2, {0: 5, 1: 5})])
    final = (4.0, 4.1, dict(ends))
    return producer, group, final, log, ends


def renumber(records):
    return [(i, k, v) for i, (_, k, v) in enumerate(records)]


class CheckerTest(unittest.TestCase):
    def verdict(self, producer, group, final, log, ends):
        return check([producer], group, final, log, ends)

    def test_a_clean_history_passes(self):
        verdict = self.verdict(*history())
        self.assertTrue(verdict.ok, verdict.problems)
        self.assertEqual(verdict.counts["acked"], 10)

    def test_a_lost_acknowledged_record_is_caught(self):
        producer, group, final, log, ends = history()
        log[0] = renumber(log[0][:2] + log[0][3:])
        ends[0] -= 1
        group.delivered = []
        final[2][0] = ends[0]
        verdict = self.verdict(producer, group, final, log, ends)
        self.assertEqual(verdict.counts.get("lost"), 1, verdict.problems)

    def test_a_duplicated_record_is_caught(self):
        producer, group, final, log, ends = history()
        log[1] = renumber(log[1] + [log[1][-1]])
        ends[1] += 1
        verdict = self.verdict(producer, group, final, log, ends)
        self.assertEqual(verdict.counts.get("duplicated"), 1, verdict.problems)

    def test_sequences_out_of_offset_order_are_caught(self):
        producer, group, final, log, ends = history()
        swapped = log[0][:]
        swapped[1], swapped[2] = swapped[2], swapped[1]
        log[0] = renumber(swapped)
        producer.acked[(0, 1)], producer.acked[(0, 2)] = (0, 2), (0, 1)
        group.delivered = []
        verdict = self.verdict(producer, group, final, log, ends)
        self.assertEqual(verdict.counts.get("key_order"), 1, verdict.problems)

    def test_a_record_never_produced_is_caught(self):
        producer, group, final, log, ends = history()
        log[0].append((len(log[0]), *encode(0, 0, 99)))
        log[0].append((len(log[0]), b"stranger", b"hello"))
        ends[0] += 2
        verdict = self.verdict(producer, group, final, log, ends)
        self.assertEqual(verdict.counts.get("unexpected"), 2, verdict.problems)

    def test_a_record_at_another_offset_than_acknowledged_is_caught(self):
        producer, group, final, log, ends = history()
        producer.acked[(1, 3)] = (1, 0)
        verdict = self.verdict(producer, group, final, log, ends)
        self.assertEqual(verdict.counts.get("moved"), 1, verdict.problems)

    def test_a_hole_in_the_offsets_is_caught(self):
        producer, group, final, log, ends = history()
        log[1] = log[1][:2] + [(o + 1, k, v) for o, k, v in log[1][2:]]
        ends[1] += 1
        group.delivered = []
        verdict = self.verdict(producer, group, final, log, ends)
        self.assertIn("offset_hole", verdict.counts, verdict.problems)

    def test_committed_offsets_going_backwards_are_caught(self):
        producer, group, final, log, ends = history()
        group.fetches.append((3.5, 3.6, {0: 3, 1: 5}))  # sent after a fetch answered 5
        verdict = self.verdict(producer, group, final, log, ends)
        self.assertEqual(verdict.counts.get("offset_backwards"), 1, verdict.problems)

    def test_a_lost_commit_is_caught_even_in_the_final_fetch(self):
        producer, group, final, log, ends = history()
        final[2][1] = -1001  # the coordinator forgot partition 1 (the group committed 5 for it)
        verdict = self.verdict(producer, group, final, log, ends)
        self.assertEqual(verdict.counts.get("offset_backwards"), 1, verdict.problems)

    def test_overlapping_fetches_may_answer_in_either_order(self):
        producer, group, final, log, ends = history()
        # Sent before the commit of 5 (and the fetch that saw it) was answered: it may have been
        # served first, so its older answer arriving later is no regression.
        group.fetches.append((2.9, 3.5, {0: 2, 1: -1}))
        verdict = self.verdict(producer, group, final, log, ends)
        self.assertTrue(verdict.ok, verdict.problems)

    def test_a_fatal_producer_error_and_an_undelivered_record_are_caught(self):
        producer, group, final, log, ends = history()
        producer.fatal.append("KafkaError{code=OUT_OF_ORDER_SEQUENCE_NUMBER,fatal=True}")
        producer.undelivered = 3
        verdict = self.verdict(producer, group, final, log, ends)
        self.assertEqual((verdict.counts.get("producer_fatal"), verdict.counts.get("undelivered")), (1, 1))

    def test_a_delivered_record_missing_from_the_final_log_is_caught(self):
        producer, group, final, log, ends = history()
        group.delivered.append((0, 5, *encode(0, 0, 5)))  # read past what the log kept
        verdict = self.verdict(producer, group, final, log, ends)
        self.assertEqual(verdict.counts.get("delivered_not_in_log"), 1, verdict.problems)


if __name__ == "__main__":
    unittest.main()
