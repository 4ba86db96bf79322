/// The Keras layer of a torchvision DenseNet module (`features.denseblock1.denselayer2.conv1` →
/// `conv2_block2_1_conv`), Keras 3's spelling; the inverse of `torchvisionDenseNetModule(for:)`;
/// nil for other module paths.
public func kerasDenseNetLayer(forTorchvisionModule module: String) -> String? {
    switch module {
    case "features.conv0": return "conv1_conv"
    case "features.norm0": return "conv1_bn"
    case "features.norm5": return "bn"
    case "classifier": return "predictions"
    default: break
    }
    if let match = module.wholeMatch(of: /features\.denseblock(\d+)\.denselayer(\d+)\.(norm1|conv1|norm2|conv2)/),
        let block = Int(match.1)
    {
        let part = ["norm1": "0_bn", "conv1": "1_conv", "norm2": "1_bn", "conv2": "2_conv"][String(match.3)]!
        return "conv\(block + 1)_block\(match.2)_\(part)"
    }
    if let match = module.wholeMatch(of: /features\.transition(\d+)\.(norm|conv)/), let block = Int(match.1) {
        return "pool\(block + 1)_\(match.2 == "norm" ? "bn" : "conv")"
    }
    return nil
}

/// What a tensor of a safetensors file PyTorch wrote (no densenet-io metadata) is in Keras terms,
/// told from its name and shape as `torch.nn` names parameters: `weight` of rank 4 is a Conv2d
/// kernel (out, in, H, W) — Keras (H, W, in, out) — of rank 2 a Linear one (out, in) — Keras
/// (in, out) — and of rank 1 BatchNorm's gamma; `bias` is beta beside running statistics, else a
/// bias; `running_mean`/`running_var` are the moving statistics. Positions follow Keras' variable
/// order (kernel, bias; gamma, beta, moving_mean, moving_variance). nil for what has no Keras
/// counterpart (`num_batches_tracked`) or an unknown parameter name.
struct PyTorchOrigin: Equatable {
    let layer: String
    let weight: String
    let index: Int
    let kerasShape: [Int]
    let transform: SafetensorsWeightLayout.Transform

    /// `hasRunningStatistics`: whether the tensor's module also holds `running_mean` (BatchNorm).
    init?(tensor name: String, shape: [Int], hasRunningStatistics: Bool) {
        let parts = name.split(separator: ".").map(String.init)
        let module = parts.dropLast().joined(separator: ".")
        layer = kerasDenseNetLayer(forTorchvisionModule: module) ?? module
        switch (parts.last ?? name, shape.count) {
        case ("weight", 4):
            (weight, index, kerasShape) = ("kernel", 0, [shape[2], shape[3], shape[1], shape[0]])
            transform = .init(view: kerasShape, axes: [3, 2, 0, 1])
            return
        case ("weight", 2):
            (weight, index, kerasShape) = ("kernel", 0, [shape[1], shape[0]])
            transform = .init(view: kerasShape, axes: [1, 0])
            return
        case ("weight", 1): (weight, index) = ("gamma", 0)
        case ("bias", _): (weight, index) = (hasRunningStatistics ? "beta" : "bias", 1)
        case ("running_mean", _): (weight, index) = ("moving_mean", 2)
        case ("running_var", _): (weight, index) = ("moving_variance", 3)
        default: return nil
        }
        kerasShape = shape
        transform = .identity(shape)
    }
}
