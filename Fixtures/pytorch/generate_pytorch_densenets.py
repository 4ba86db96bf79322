"""PyTorch DenseNets as their users save them (issue #17): state dicts of torchvision's and timm's
DenseNet written by `safetensors.torch.save_file` (no densenet-io metadata) and by `torch.save`
(`.pth`, the zip layout), with the inputs and torchvision's outputs, so the Swift tests compare
densenet-io's predictions with PyTorch's without Python; plus `.pth` files that try to run code.

torch 2.15, torchvision 0.29, timm 1.0.31, safetensors, h5py (/work/venv-torch); run from the
repository root:

    /work/venv-torch/bin/python Fixtures/pytorch/generate_pytorch_densenets.py           # small, committed
    /work/venv-torch/bin/python Fixtures/pytorch/generate_pytorch_densenets.py --large   # 121/169/201, git-ignored

The small models are torchvision's generic `DenseNet(growth_rate=32, block_config=(2, 2, 2, 2),
num_init_features=64, num_classes=10)` and timm's `DenseNet(growth_rate=32, block_config=(2, 2, 2, 2),
num_classes=10)` — Keras Applications' `DenseNet(blocks=[2, 2, 2, 2], classes=10)`. BatchNorm's
statistics and affine parameters are randomised (a fresh model has mean 0, variance 1, γ 1, β 0, which
would hide a mix-up of them), so the outputs depend on every tensor.

Each model's `<name>_io.h5` holds `inputs` (N×H×W×C float32, Keras' layout; PyTorch ran them
transposed to N×C×H×W), `outputs` (softmax of the model's logits, what Keras' DenseNet computes),
`logits`, and `outputs_eps1001`: the same model with every BatchNorm's eps set to 1.001e-5, Keras'.
"""
import argparse
import io
import os
import pickle
import zipfile
from pathlib import Path

import h5py
import numpy as np
import timm
import torch
import torchvision
from safetensors.torch import save_file

HERE = Path(__file__).parent
HOSTILE = HERE.parent / "hostile"
GENERATED = HERE / "generated"
KERAS_EPSILON = 1.001e-5


def randomise_batchnorm(model, generator):
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            n = module.num_features
            with torch.no_grad():
                module.weight.copy_(0.8 + 0.4 * torch.rand(n, generator=generator))
                module.bias.copy_(0.1 * torch.randn(n, generator=generator))
                module.running_mean.copy_(0.1 * torch.randn(n, generator=generator))
                module.running_var.copy_(0.5 + torch.rand(n, generator=generator))
            module.num_batches_tracked.fill_(7)
    classifier = model.classifier
    with torch.no_grad():
        classifier.bias.copy_(0.1 * torch.randn(classifier.bias.shape, generator=generator))
    return model.eval()


def softmax_outputs(model, images_nchw, epsilon=None):
    if epsilon is not None:
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.eps = epsilon
    with torch.no_grad():
        logits = model(images_nchw)
    return logits, torch.softmax(logits, dim=1)


def write_model(model, name, folder, shape, count, seed, pth=False):
    """`name`.safetensors (+ `name`.pth) and `name`_io.h5 for `model`, inputs of `shape` (H, W, C)."""
    generator = torch.Generator().manual_seed(seed)
    randomise_batchnorm(model, generator)
    state = model.state_dict()
    save_file({k: v.contiguous() for k, v in state.items()}, str(folder / f"{name}.safetensors"))
    if pth:
        torch.save(state, folder / f"{name}.pth")
    images = torch.rand((count, shape[2], shape[0], shape[1]), generator=generator)
    logits, outputs = softmax_outputs(model, images)
    _, outputs_keras_eps = softmax_outputs(model, images, KERAS_EPSILON)
    with h5py.File(folder / f"{name}_io.h5", "w") as f:
        f["inputs"] = images.permute(0, 2, 3, 1).numpy().astype(np.float32)
        f["outputs"] = outputs.numpy().astype(np.float32)
        f["logits"] = logits.numpy().astype(np.float32)
        f["outputs_eps1001"] = outputs_keras_eps.numpy().astype(np.float32)
        f.attrs["model"] = name
        f.attrs["written_by"] = f"torch {torch.__version__}, torchvision {torchvision.__version__}, timm {timm.__version__}"
    difference = (outputs - outputs_keras_eps).abs().max().item()
    print(f"{name}: {len(state)} tensors, eps 1e-5 vs 1.001e-5 outputs differ by at most {difference:.3g}")


# ----- .pth files that try to run code (torch.save's zip layout, a hostile data.pkl) -----


class SystemCall:
    """Pickles as os.system("…"): GLOBAL posix.system + REDUCE."""

    def __reduce__(self):
        return (os.system, ("touch /tmp/densenet-io-pwned",))


class Evaluation:
    """Pickles as builtins.eval("…") (protocol 2 writes the module as __builtin__)."""

    def __reduce__(self):
        return (eval, ("__import__('os').system('touch /tmp/densenet-io-pwned')",))


class Unknown:
    """Any class of the writer's own: GLOBAL __main__.Unknown + NEWOBJ + BUILD."""

    def __init__(self):
        self.weight = torch.ones(2)


def hostile_pth(path, payload):
    """torch.save of {"conv.weight": tensor, "extra": payload}: a real checkpoint whose data.pkl
    also asks for the payload's global."""
    torch.save({"conv.weight": torch.arange(6, dtype=torch.float32).reshape(2, 3), "extra": payload}, path)


def wrapped_checkpoints(folder):
    """Small checkpoints in the common wrappers and layouts: {"state_dict": …} with training
    bookkeeping beside it, {"model": …} with DataParallel's `module.` prefix, a strided view."""
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    tensors = {"fc.weight": base[:, ::2], "fc.bias": torch.tensor([0.5, -1.5, 2.0, 3.25], dtype=torch.float32),
               "bn.num_batches_tracked": torch.tensor(7)}
    torch.save({"state_dict": tensors, "epoch": 3, "arch": "tiny", "best_acc": 0.75}, folder / "wrapped_state_dict.pth")
    torch.save({"model": {f"module.{k}": v for k, v in tensors.items()}}, folder / "wrapped_model_dataparallel.pth")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--large", action="store_true", help="DenseNet-121/169/201 and timm's densenet121 into generated/")
    arguments = parser.parse_args()
    torch.manual_seed(0)
    if arguments.large:
        GENERATED.mkdir(exist_ok=True)
        for name, build in [("torchvision_densenet121", torchvision.models.densenet121),
                            ("torchvision_densenet169", torchvision.models.densenet169),
                            ("torchvision_densenet201", torchvision.models.densenet201),
                            ("timm_densenet121", lambda: timm.create_model("densenet121", pretrained=False))]:
            write_model(build(), name, GENERATED, (64, 64, 3), 2, seed=len(name), pth=True)
        return
    small = dict(growth_rate=32, block_config=(2, 2, 2, 2), num_classes=10)
    write_model(torchvision.models.DenseNet(num_init_features=64, **small), "torchvision_densenet_small", HERE,
                (40, 40, 3), 4, seed=1, pth=True)
    write_model(timm.models.densenet.DenseNet(**small), "timm_densenet_small", HERE, (40, 40, 3), 4, seed=2)
    wrapped_checkpoints(HERE)
    hostile_pth(HOSTILE / "pth_os_system.pth", SystemCall())
    hostile_pth(HOSTILE / "pth_builtins_eval.pth", Evaluation())
    hostile_pth(HOSTILE / "pth_unknown_global.pth", Unknown())
    whole = (HERE / "wrapped_state_dict.pth").read_bytes()
    (HOSTILE / "pth_truncated.pth").write_bytes(whole[: len(whole) // 2])
    for name in ["pth_os_system.pth", "pth_builtins_eval.pth", "pth_unknown_global.pth"]:
        path = HOSTILE / name
        try:
            torch.load(path, weights_only=True)
        except pickle.UnpicklingError as error:
            print(f"{path.name}: torch.load(weights_only=True) refuses it: {str(error).splitlines()[0][:100]}")


if __name__ == "__main__":
    main()
