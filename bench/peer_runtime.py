"""One peer runtime's DenseNet speed, in its own process (called by compare_densenets.py).

    python bench/peer_runtime.py RUNTIME MODEL ONNX_FILE THREADS [TRAINING_BATCH]
RUNTIME is onnxruntime, openvino (both read ONNX_FILE, NCHW float32; OpenVINO held to float32
arithmetic — on a CPU with AMX or AVX512-BF16 its default is bfloat16, which `openvino-bf16` measures
for the record) torch (torchvision's
MODEL(), channels_last, inference_mode; ONNX_FILE unused) or tensorflow (Keras Applications' MODEL
on TensorFlow's CPU kernels (oneDNN), NHWC, called through one tf.function, as `predict` runs it;
ONNX_FILE unused). Random weights: speed does not depend on
them. Prints one JSON line: images/s at batch 8 (median of 5 calls of one batch, after 2 untimed)
and batch-1 latency in ms (median of 5 calls, after 2 untimed), the spreads, and the peak RSS. With
TRAINING_BATCH (torch and torch-efficient only: torchvision's memory_efficient=True, the checkpointed
blocks): training samples/s instead, median of 5 steps after 2 untimed — forward, cross-entropy,
backward, Adam (Keras' defaults: lr 1e-3, eps 1e-7), as `densenet-io bench` trains.
Installs nothing: ONNX Runtime and OpenVINO come from /work/venv, torch from /work/venv-torch,
TensorFlow from /work/venv-tf.
"""
import json
import resource
import statistics
import sys
import time

import numpy as np

CALLS, WARMUP = 5, 2


def timed(run, inputs):
    for _ in range(WARMUP):
        run(inputs)
    seconds = []
    for _ in range(CALLS):
        began = time.perf_counter()
        run(inputs)
        seconds.append(time.perf_counter() - began)
    return seconds


def runner(runtime, model, onnx_file, threads):
    if runtime == "onnxruntime":
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(onnx_file, options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        return lambda x: session.run(None, {name: x})
    if runtime in ("openvino", "openvino-bf16"):
        import openvino as ov

        core = ov.Core()
        core.set_property("CPU", {"INFERENCE_NUM_THREADS": threads})
        precision = "bf16" if runtime == "openvino-bf16" else "f32"
        compiled = core.compile_model(onnx_file, "CPU", {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": precision})
        request = compiled.create_infer_request()
        return lambda x: request.infer({0: x})
    if runtime == "torch":
        import torch
        import torchvision

        torch.set_num_threads(threads)
        network = getattr(torchvision.models, model)().eval().to(memory_format=torch.channels_last)

        def run(x):
            with torch.inference_mode():
                return network(torch.from_numpy(x).contiguous(memory_format=torch.channels_last))

        return run
    if runtime == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        names = {"densenet121": "DenseNet121", "densenet169": "DenseNet169", "densenet201": "DenseNet201"}
        network = getattr(tf.keras.applications, names[model])(weights=None)
        call = tf.function(lambda x: network(x, training=False))
        return lambda x: call(tf.constant(x.transpose(0, 2, 3, 1))).numpy()
    raise SystemExit(f"unknown runtime {runtime}")


def training(runtime, model, threads, batch):
    import torch
    import torchvision

    torch.set_num_threads(threads)
    network = getattr(torchvision.models, model)(memory_efficient=runtime == "torch-efficient")
    network = network.train().to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(network.parameters(), lr=1e-3, eps=1e-7)
    loss = torch.nn.CrossEntropyLoss()
    images = torch.randn(batch, 3, 224, 224).contiguous(memory_format=torch.channels_last)
    labels = torch.randint(0, 1000, (batch,))

    def step(_):
        optimizer.zero_grad(set_to_none=True)
        loss(network(images), labels).backward()
        optimizer.step()

    per_second = sorted(batch / s for s in timed(step, None))
    return {
        "runtime": runtime,
        "samples_per_second": statistics.median(per_second),
        "samples_per_second_range": [per_second[0], per_second[-1]],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main():
    runtime, model, onnx_file, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    if len(sys.argv) > 5:
        print(json.dumps(training(runtime, model, threads, int(sys.argv[5]))))
        return
    run = runner(runtime, model, onnx_file, threads)
    rng = np.random.default_rng(0)
    batch8 = timed(run, rng.standard_normal((8, 3, 224, 224), dtype=np.float32))
    batch1 = timed(run, rng.standard_normal((1, 3, 224, 224), dtype=np.float32))
    per_second = sorted(8 / s for s in batch8)
    latency = sorted(1000 * s for s in batch1)
    print(json.dumps({
        "runtime": runtime,
        "images_per_second": statistics.median(per_second),
        "images_per_second_range": [per_second[0], per_second[-1]],
        "latency_ms": statistics.median(latency),
        "latency_ms_range": [latency[0], latency[-1]],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
