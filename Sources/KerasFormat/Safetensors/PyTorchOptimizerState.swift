import DenseNetEngine
import Foundation

/// `torch.optim.Adam` / `AdamW` state in a safetensors file of its own (`WeightFileFormat.torchOptimizer`),
/// for the model whose weights the safetensors weight file holds, in the same names and layouts:
///
///     state.<parameter>.exp_avg      Keras' momentum slot, permuted like the parameter
///     state.<parameter>.exp_avg_sq   Keras' velocity slot, likewise
///     state.<parameter>.step         float32 scalar: the iteration count, as torch keeps it
///     __metadata__  format "densenet-io torch.optim", optimizer "Adam" | "AdamW", lr, beta1, beta2,
///                   eps, weight_decay, params (the parameter names, comma-separated, in the order
///                   of Keras' trainable variables), densenet_io.keras (each tensor's Keras origin)
///
/// Keras and PyTorch put Adam's epsilon in different places: Keras divides by √v + ε, PyTorch by
/// √v / √(1 − β₂ᵗ) + ε, so Keras' ε is PyTorch's ε · √(1 − β₂ᵗ) at step t. `eps` holds Keras' value;
/// docs/pytorch.md has the loading snippet, how to follow Keras exactly, and the measured effect.
enum PyTorchOptimizerState {
    static let formatName = "densenet-io torch.optim"

    /// The file for `optimizer` (Adam or AdamW) over the model of `layout`.
    static func file(for optimizer: TrainedOptimizer, layout: SafetensorsWeightLayout, model: Model, path: String) throws -> SafetensorsFile
    {
        let adam: AdamConfig, weightDecay: Double
        switch optimizer.config {
        case let .adam(c): (adam, weightDecay) = (c, 0)
        case let .adamW(c): (adam, weightDecay) = (c.adam, c.weightDecay)
        case let other:
            throw KerasFormatError(
                .wrongFormat, file: path, layer: "optimizer", expected: "Adam or AdamW state (torch.optim.Adam, AdamW)",
                found: "\(other.kerasClassName)'s (its PyTorch counterpart keeps other slots)")
        }
        let entries = Dictionary(layout.entries.map { (ObjectIdentifier($0.variable), $0) }, uniquingKeysWith: { first, _ in first })
        var file = SafetensorsFile()
        var provenance: [String: SafetensorsWeightsFormat.Provenance] = [:]
        var names: [String] = []
        for (index, variable) in model.trainableVariables.enumerated() {
            guard let entry = entries[ObjectIdentifier(variable)] else {
                throw KerasFormatError(
                    .missingLayer, file: path, weight: variable.name, expected: "a PyTorch parameter for it", found: "none")
            }
            names.append(entry.name)
            for (slot, kind) in [("exp_avg", "momentum"), ("exp_avg_sq", "velocity")] {
                let values = optimizer.state[kind]?[index] ?? []
                file.tensors["state.\(entry.name).\(slot)"] = .init(shape: entry.torchShape, floats: entry.transform.apply(values))
                provenance["state.\(entry.name).\(slot)"] = SafetensorsWeightsFormat.Provenance(
                    layer: entry.kerasLayer, weight: "\(entry.kerasWeight) \(kind)", index: entry.kerasIndex, shape: variable.shape,
                    view: entry.transform.view, axes: entry.transform.axes)
            }
            file.tensors["state.\(entry.name).step"] = .init(shape: [], floats: [Float(optimizer.state.iterations)])
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        file.metadata = [
            "format": formatName, "optimizer": optimizer.config.kerasClassName, "lr": "\(optimizer.config.learningRate)",
            "beta1": "\(adam.beta1)", "beta2": "\(adam.beta2)", "eps": "\(adam.epsilon)", "weight_decay": "\(weightDecay)",
            "iterations": "\(optimizer.state.iterations)", "params": names.joined(separator: ","),
            SafetensorsWeightsFormat.provenanceKey: String(decoding: try encoder.encode(provenance), as: UTF8.self)
        ]
        return file
    }

    /// The state of such a file, in Keras' layout and order, with its configuration.
    static func read(_ file: SafetensorsFile, path: String) throws -> StoredOptimizer {
        func metadata(_ key: String) throws -> String {
            guard let value = file.metadata[key] else {
                throw KerasFormatError(.malformed, file: path, layer: "__metadata__", expected: "a \(key) entry", found: "none")
            }
            return value
        }
        func number(_ key: String) throws -> Double {
            let text = try metadata(key)
            guard let value = Double(text), value.isFinite else {
                throw KerasFormatError(.malformed, file: path, layer: "__metadata__", weight: key, expected: "a number", found: text)
            }
            return value
        }
        let className = try metadata("optimizer")
        let adam = AdamConfig(
            learningRate: try number("lr"), beta1: try number("beta1"), beta2: try number("beta2"), epsilon: try number("eps"))
        let config: OptimizerConfig
        switch className {
        case "Adam": config = .adam(adam)
        case "AdamW":
            var adamW = AdamWConfig(weightDecay: try number("weight_decay"))
            adamW.adam = adam
            config = .adamW(adamW)
        default: throw StoredOptimizer.unsupported(className, file: path, location: "__metadata__")
        }
        let iterations = try number("iterations")
        guard iterations >= 0, iterations < 1e18 else {
            throw KerasFormatError(
                .malformed, file: path, layer: "__metadata__", weight: "iterations", expected: "a count >= 0", found: "\(iterations)")
        }
        let provenance = try SafetensorsWeightsFormat.provenance(of: file, path: path)
        let names = try metadata("params").split(separator: ",").map(String.init)
        let slots = try names.flatMap { name in
            try [("exp_avg", "momentum"), ("exp_avg_sq", "velocity")].map { slot, kind -> StoredOptimizer.Slot in
                let key = "state.\(name).\(slot)"
                guard let tensor = file.tensors[key], let values = tensor.floats, let origin = provenance[key] else {
                    throw KerasFormatError(
                        .malformed, file: path, weight: key, expected: "a float32 tensor with its Keras origin", found: "none")
                }
                let transform = origin.transform
                guard transform.view.reduce(1, *) == values.count, Set(transform.axes) == Set(transform.view.indices),
                    origin.shape.reduce(1, *) == values.count
                else {
                    throw KerasFormatError(
                        .malformed, file: path, weight: key, expected: "a permutation of \(values.count) values", found: "\(origin)")
                }
                return StoredOptimizer.Slot(name: key, kind: kind, shape: origin.shape, values: transform.invert(values))
            }
        }
        return StoredOptimizer(
            file: path, layout: .pytorch, location: "state", config: config, className: className, iterations: Int64(iterations),
            learningRate: nil, slots: slots)
    }
}
