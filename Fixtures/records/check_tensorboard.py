"""Reads densenet-io's TensorBoard directory with TensorBoard's own event reader (EventAccumulator, as
the dashboard loads it, orphaned steps purged) and compares every epoch scalar with the CSV log of the
same run. Not part of the tests (they need no Python).

    venv/bin/python Fixtures/records/check_tensorboard.py BOARD_DIR LOG.csv
"""
import csv
import sys

from tensorboard.backend.event_processing import event_accumulator

board, log = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open(log, newline="")))
ok = True
for split, prefix in [("train", ""), ("validation", "val_")]:
    acc = event_accumulator.EventAccumulator(f"{board}/{split}", size_guidance={event_accumulator.TENSORS: 0})
    acc.Reload()
    for metric in ["loss", "accuracy"]:
        events = acc.Tensors(f"epoch_{metric}")
        values = {e.step: float(e.tensor_proto.tensor_content and __import__("numpy").frombuffer(e.tensor_proto.tensor_content, "<f4")[0]) for e in events}
        expected = {int(r["epoch"]): float(r[prefix + metric]) for r in rows}
        same = values == expected
        ok &= same
        print(f"{split}/epoch_{metric}: steps {sorted(values)} {'equal to' if same else 'DIFFERENT from'} the CSV {log}")
print("ALL PASS" if ok else "FAILED")
sys.exit(0 if ok else 1)
