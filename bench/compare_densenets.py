"""The full-size DenseNets against ONNX Runtime, OpenVINO and PyTorch, interleaved (issue #21).

Run from the repository root after `swift build -c release --product densenet-io`:
    python3 bench/compare_densenets.py [--model densenet121] [--rounds 5]            # inference
    python3 bench/compare_densenets.py --training 8 [--model densenet121] [--rounds 5]
Each round runs every runtime once, in its own process, in an order rotated from round to round
(this machine's speed swings within minutes: only interleaved figures compare). The table gives the
median over rounds and the range (min–max), and the largest peak RSS.

- Inference: images/s at batch 8 and batch-1 latency, each run's median of 5 calls after 2 untimed
  (densenet-io: `bench --steps 1 --repeats 5`, latency of 50 calls). ONNX Runtime and OpenVINO (held
  to float32; `openvino-bf16` is its bfloat16 default on CPUs with AMX, for the record) run
  torchvision's MODEL() exported to ONNX once (bench/generated/MODEL.onnx, opset 17, NCHW); PyTorch
  runs the same model, channels_last; `tensorflow` (not in the default list: `--runtimes
  densenet-io,tensorflow`) runs Keras Applications' model on TensorFlow's CPU kernels.
- Training (`--training BATCH`): samples/s of forward, cross-entropy, backward and Adam at 224×224,
  against PyTorch (`torch`) and PyTorch with torchvision's memory-efficient (checkpointed) blocks
  (`torch-efficient`); densenet-io runs `bench --dataset-size 4·BATCH --steps 2 --repeats 3`.
densenet-io runs the Keras Applications architecture: the same convolutions (5.67 GFLOP per image
forward for DenseNet-121). The peers come from /work/venv (onnxruntime, openvino), /work/venv-torch
(torch, torchvision) and /work/venv-tf (tensorflow-cpu): nothing is installed here. Threads: every processor for everyone.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, ".build/release/densenet-io")
PEER = os.path.join(ROOT, "bench/peer_runtime.py")
KERAS_PYTHON = os.environ.get("KERAS_PYTHON", "/work/venv/bin/python")
TORCH_PYTHON = os.environ.get("TORCH_PYTHON", "/work/venv-torch/bin/python")
TF_PYTHON = os.environ.get("TF_PYTHON", "/work/venv-tf/bin/python")
THREADS = os.cpu_count()

EXPORT = """
import sys, torch, torchvision
model = getattr(torchvision.models, sys.argv[1])().eval()
torch.onnx.export(model, torch.randn(1, 3, 224, 224), sys.argv[2], opset_version=17, dynamo=False,
                  input_names=["input"], output_names=["logits"], dynamic_axes={"input": {0: "batch"}})
"""


def onnx_file(model):
    path = os.path.join(ROOT, "bench/generated", f"{model}.onnx")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        subprocess.run([TORCH_PYTHON, "-c", EXPORT, model, path], check=True)
    return path


def densenet_io(model, training_batch):
    command = [BINARY, "bench", "--model", model, "--input-shape", "224,224,3", "--classes", "1000",
               "--load-model", "", "--json"]
    if training_batch:
        command += ["--batch-size", str(training_batch), "--dataset-size", str(4 * training_batch),
                    "--steps", "2", "--repeats", "3"]
    else:
        command += ["--batch-size", "8", "--no-training", "--steps", "1", "--repeats", "5"]
    report = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    result = {"runtime": "densenet-io", "kernels": report["kernels"]}
    if training_batch:
        training = report["training"]
        result["samples_per_second"] = training["samples_per_s"]
        result["samples_per_second_range"] = [training["samples_per_s_min"], training["samples_per_s_max"]]
        result["peak_rss_mb"] = report["peak_rss_training_bytes"] / 2**20
    else:
        inference, latency = report["inference"], report["latency_batch1_ms"]
        result["images_per_second"] = inference["samples_per_s"]
        result["images_per_second_range"] = [inference["samples_per_s_min"], inference["samples_per_s_max"]]
        result["latency_ms"] = latency["median"]
        result["latency_ms_range"] = [latency["min"], latency["max"]]
        result["peak_rss_mb"] = report["peak_rss_bytes"] / 2**20
    return result


def peer(runtime, model, path, training_batch):
    python = TORCH_PYTHON if runtime.startswith("torch") else TF_PYTHON if runtime == "tensorflow" else KERAS_PYTHON
    command = [python, PEER, runtime, model, path or "-", str(THREADS)] + ([str(training_batch)] if training_batch else [])
    return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])


def spread(values, digits):
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="densenet121")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--training", type=int, metavar="BATCH", help="compare training at this batch size")
    parser.add_argument("--runtimes", help="comma-separated (default: every runtime of the mode)")
    arguments = parser.parse_args()
    default = "densenet-io,torch,torch-efficient" if arguments.training else "densenet-io,onnxruntime,openvino,torch"
    runtimes = (arguments.runtimes or default).split(",")
    path = None if arguments.training else onnx_file(arguments.model)
    results = {runtime: [] for runtime in runtimes}
    for round_index in range(arguments.rounds):
        shift = round_index % len(runtimes)
        for runtime in runtimes[shift:] + runtimes[:shift]:
            if runtime == "densenet-io":
                result = densenet_io(arguments.model, arguments.training)
            else:
                result = peer(runtime, arguments.model, path, arguments.training)
            results[runtime].append(result)
            print(f"round {round_index + 1} {json.dumps(result)}", file=sys.stderr, flush=True)
    title = f"{arguments.model} 224×224, {THREADS} threads, {arguments.rounds} interleaved rounds"
    if arguments.training:
        print(f"| {title} | training batch {arguments.training} (samples/s) | peak RSS (MB) |")
        print("| --- | ---: | ---: |")
    else:
        print(f"| {title} | batch 8 (images/s) | batch 1 latency (ms) | peak RSS (MB) |")
        print("| --- | ---: | ---: | ---: |")
    for runtime in runtimes:
        runs = results[runtime]
        name = f"densenet-io ({runs[0]['kernels']})" if runtime == "densenet-io" else runtime
        rss = f"{max(r['peak_rss_mb'] for r in runs):.0f}"
        if arguments.training:
            print(f"| {name} | {spread([r['samples_per_second'] for r in runs], 2)} | {rss} |")
        else:
            print(f"| {name} | {spread([r['images_per_second'] for r in runs], 1)} "
                  f"| {spread([r['latency_ms'] for r in runs], 0)} | {rss} |")


if __name__ == "__main__":
    main()
