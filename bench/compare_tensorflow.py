#!/usr/bin/env python3
"""densenet-io vs TensorFlow 2.21 (tf-keras), the same workloads, interleaved, printing the ratios.

Run with the venv that has tensorflow-cpu 2.21 and tf_keras (not part of the tests):

    /work/venv/bin/python bench/compare_tensorflow.py [--densenet-io .build/release/densenet-io]
        [--rounds 3] [--steps 100] [--repeats 3] [--batch-size 32] [--json out.json]

Each round runs `densenet-io bench --json` and then this script's TensorFlow worker, each in its own
process (so peak RSS is per framework), alternating so both see the same machine load. Workloads:

- training: the tutorial's `train_step` (tf.function, GradientTape, SparseCategoricalCrossentropy,
  Adam, Mean and SparseCategoricalAccuracy metrics) over `tf.data.from_tensor_slices(...).shuffle(10000)
  .batch(32)` of 60 000 synthetic 28x28x1 float32 images, exactly the tutorial's pipeline;
- inference: `model(images, training=False)` in a tf.function, batch 32, and batch-1 latency;
- weights: tf-keras `load_weights` of a DenseNet-121 (and the tutorial model) `.h5` written by
  `save_weights`, against densenet-io loading a tf-keras `.h5` of the same architecture.

Figures are medians over rounds of each process's own median; ratios are densenet-io / TensorFlow
(for time and memory: TensorFlow / densenet-io, so > 1 always means densenet-io is better).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def tf_worker(args):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf
    import tf_keras

    sys.path.insert(0, os.path.join(ROOT, "Fixtures", "keras"))
    import tutorial_model

    out = {"tensorflow": tf.__version__, "threads": [tf.config.threading.get_inter_op_parallelism_threads(),
                                                      tf.config.threading.get_intra_op_parallelism_threads()]}
    rng = np.random.default_rng(42)
    n = args.dataset_size
    x_train = rng.random((n, 28, 28, 1), dtype=np.float32)
    y_train = (np.arange(n) % 10).astype(np.uint8)
    model = tutorial_model.build(tf_keras)
    bs = args.batch_size

    if not args.no_training:
        loss_object = tf_keras.losses.SparseCategoricalCrossentropy()
        optimizer = tf_keras.optimizers.Adam()
        train_loss = tf_keras.metrics.Mean(name="train_loss")
        train_accuracy = tf_keras.metrics.SparseCategoricalAccuracy(name="train_accuracy")

        @tf.function
        def train_step(model, images, labels, loss_object, optimizer, train_loss, train_accuracy):
            with tf.GradientTape() as tape:
                predictions = model(images, training=True)
                loss = loss_object(labels, predictions)
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))
            train_loss(loss)
            train_accuracy(labels, predictions)

        train_ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(10000).batch(bs)
        it = iter(train_ds.repeat())

        def run(steps):
            for _ in range(steps):
                images, labels = next(it)
                train_step(model, images, labels, loss_object, optimizer, train_loss, train_accuracy)
            train_loss.result().numpy()  # wait for the last step

        run(20)  # warm-up: tracing and first steps
        rates, cpu_rates = [], []
        for _ in range(args.repeats):
            w0, c0 = time.perf_counter(), time.process_time()
            run(args.steps)
            w, c = time.perf_counter() - w0, time.process_time() - c0
            rates.append(args.steps * bs / w)
            cpu_rates.append(args.steps * bs / c)
        out["training"] = {"samples_per_s": statistics.median(rates), "samples_per_s_min": min(rates),
                           "samples_per_s_max": max(rates), "cpu_samples_per_s": statistics.median(cpu_rates)}
        out["peak_rss_training_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    @tf.function
    def infer(images):
        return model(images, training=False)

    batch = tf.constant(x_train[:bs])
    for _ in range(10):
        infer(batch).numpy()
    rates = []
    for _ in range(args.repeats):
        w0 = time.perf_counter()
        for _ in range(args.steps):
            y = infer(batch)
        y.numpy()
        rates.append(args.steps * bs / (time.perf_counter() - w0))
    out["inference"] = {"samples_per_s": statistics.median(rates), "samples_per_s_min": min(rates),
                        "samples_per_s_max": max(rates)}
    one = tf.constant(x_train[:1])
    for _ in range(10):
        infer(one).numpy()
    lat = []
    for _ in range(max(50, 20 * args.repeats)):
        w0 = time.perf_counter()
        infer(one).numpy()
        lat.append(time.perf_counter() - w0)
    out["latency_batch1_ms"] = {"median": statistics.median(lat) * 1e3, "min": min(lat) * 1e3, "max": max(lat) * 1e3}
    out["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    with tempfile.TemporaryDirectory() as d:
        def weight_times(m, name):
            path = os.path.join(d, name + ".h5")
            m.save_weights(path)
            m.load_weights(path)  # warm-up
            loads, reads = [], []
            for _ in range(args.repeats):
                w0 = time.perf_counter()
                m.load_weights(path)
                loads.append(time.perf_counter() - w0)
                w0 = time.perf_counter()
                with open(path, "rb") as f:
                    f.read()
                reads.append(time.perf_counter() - w0)
            return {"file_bytes": os.path.getsize(path), "load_ms": statistics.median(loads) * 1e3,
                    "read_bytes_ms": statistics.median(reads) * 1e3}
        out["weights"] = weight_times(model, "densenet-mini")
        if args.load_model == "densenet121":
            big = tf_keras.applications.DenseNet121(weights=None)
            out["weights_densenet121"] = weight_times(big, "densenet121")
    print(json.dumps(out))


def run_json(cmd, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def get(d, path):
    for k in path.split("."):
        if d is None:
            return None
        d = d.get(k)
    return d


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tf-worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--densenet-io", default=None)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--dataset-size", type=int, default=60000)
    p.add_argument("--load-model", default="densenet121")
    p.add_argument("--no-training", action="store_true")
    p.add_argument("--json", default=None, help="write all raw results here")
    args = p.parse_args()
    if args.tf_worker:
        return tf_worker(args)

    exe = args.densenet_io
    if exe is None:
        for c in (".build-perf/release/densenet-io", ".build/release/densenet-io"):
            if os.path.exists(os.path.join(ROOT, c)):
                exe = os.path.join(ROOT, c)
                break
    common = ["--steps", str(args.steps), "--repeats", str(args.repeats), "--batch-size", str(args.batch_size),
              "--dataset-size", str(args.dataset_size), "--load-model", args.load_model]
    if args.no_training:
        common.append("--no-training")
    swift, tf = [], []
    for r in range(args.rounds):
        t0 = time.time()
        swift.append(run_json([exe, "bench", "--json"] + common))
        tf.append(run_json([sys.executable, os.path.abspath(__file__), "--tf-worker"] + common))
        print(f"round {r + 1}/{args.rounds} done in {time.time() - t0:.0f} s, load average {os.getloadavg()[0]:.1f}",
              file=sys.stderr)

    def med(rs, path):
        vals = [get(x, path) for x in rs if get(x, path) is not None]
        return statistics.median(vals) if vals else None

    rows = [  # (label, path, higher is better, unit, scale)
        ("training samples/s (wall)", "training.samples_per_s", True, "", 1),
        ("training samples/s (CPU time)", "training.cpu_samples_per_s", True, "", 1),
        ("inference samples/s, batch 32", "inference.samples_per_s", True, "", 1),
        ("latency batch 1 (ms)", "latency_batch1_ms.median", False, "", 1),
        ("peak RSS while training (MiB)", "peak_rss_training_bytes", False, "", 1 / 1048576),
        ("load tutorial weights .h5 (ms)", "weights.load_ms", False, "", 1),
        ("load DenseNet-121 weights .h5 (ms)", "weights_densenet121.load_ms", False, "", 1),
        ("DenseNet-121 read file bytes (ms)", "weights_densenet121.read_bytes_ms", False, "", 1),
    ]
    print(f"{'workload':40} {'densenet-io':>12} {'TensorFlow':>12} {'ratio':>8}")
    table = []
    for label, path, higher, _, scale in rows:
        s, t = med(swift, path), med(tf, path)
        if s is None or t is None:
            continue
        ratio = s / t if higher else t / s
        table.append({"workload": label, "densenet_io": s * scale, "tensorflow": t * scale, "ratio": ratio})
        print(f"{label:40} {s * scale:12.2f} {t * scale:12.2f} {ratio:7.2f}x")
    l = med(swift, "weights_densenet121.load_over_read")
    if l is not None:
        print(f"densenet-io DenseNet-121 load / read-bytes time: {l:.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"densenet_io": swift, "tensorflow": tf, "table": table, "args": vars(args)}, f, indent=1)


if __name__ == "__main__":
    main()
