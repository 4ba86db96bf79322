import DenseNetEngine
import Foundation
import HDF5

/// tf-keras full-model HDF5 files, what `model.save("x.h5")` writes (`WeightFileFormat.tfKerasModel`),
/// and densenet-io's training checkpoints in them: the same file plus one extra group with what
/// exact resume needs:
///
///     /  @keras_version "2.21.0"  @backend "tensorflow"  @model_config {json}  @training_config {json}
///     /model_weights                 exactly `save_weights` (BatchNorm moving statistics included)
///     /optimizer_weights             iteration:0, then the slots (Adam/m/…, Adam/v/…; TFKerasOptimizerWeights)
///     /densenet_io_training_state    epoch, step, shuffle seed, metric sums, run fingerprint (Keras ignores it)
///
/// Files are written atomically (temporary file in the same folder, fsync, rename): a reader, or
/// a run killed mid-write, sees the previous checkpoint or the new one, never a part.
/// See docs/checkpoints.md.
public enum TFKerasModelFile {
    /// The extra group's name.
    public static let trainingStateGroup = TrainingStateGroup.name

    /// Writes `trainer`'s complete state to `path` (replacing it atomically).
    public static func write(_ trainer: Trainer, model description: ModelDescription, run: RunDescription, to path: String) throws {
        let model = trainer.model
        let info = CheckpointInfo(trainer: trainer, model: description, run: run)
        try write(model, modelConfig: description.modelConfig, optimizer: TrainedOptimizer(trainer.optimizer), to: path) {
            try TrainingStateGroup.write(info, to: $0)
        }
    }

    /// Writes a full-model file, with the optimizer's configuration and state when given (`model.save`
    /// of a compiled model; without: `include_optimizer=False`).
    public static func write(
        _ model: Model, modelConfig: String? = nil, optimizer: TrainedOptimizer? = nil, to path: String,
        extra: (Group) throws -> Void = { _ in }
    ) throws {
        let config = try modelConfig ?? ModelConfig.tfKeras(model).description
        let trainingConfig = optimizer.map { ModelConfig.tfKerasTraining($0.config).description }
        try writeAtomically(to: path) { temporary in
            try writeFullModel(model, modelConfig: config, trainingConfig: trainingConfig, to: temporary) { root in
                if let optimizer { try TFKerasOptimizerWeights.write(optimizer, model: model, to: root) }
                try extra(root)
            }
        }
    }

    private static func writeFullModel(
        _ model: Model, modelConfig: String, trainingConfig: String?, to path: String,
        extra: (Group) throws -> Void
    ) throws {
        let file = try File.create(path)
        let root = file.root
        try root.attributes.write(StringArray(scalar: TFKerasWeightsFormat.kerasVersion, format: .variableUTF8), named: "keras_version")
        try root.attributes.write(StringArray(scalar: TFKerasWeightsFormat.backend, format: .variableUTF8), named: "backend")
        try root.attributes.write(StringArray(scalar: modelConfig, format: .variableASCII), named: "model_config")
        if let trainingConfig {
            try root.attributes.write(StringArray(scalar: trainingConfig, format: .variableASCII), named: "training_config")
        }
        try TFKerasWeightsFormat.write(TFKerasWeightLayout(tree: NamedLayerTree(model: model.root)), to: root.createGroup("model_weights"))
        try extra(root)
        try file.flush()
    }

    /// Whether `root` is a full-model file (`model_weights` group and `model_config` attribute).
    static func isFullModel(_ root: Group) throws -> Bool {
        try root.attributes.contains("model_config") && root.contains("model_weights") && root.kind(of: "model_weights") == .group
    }

    /// Opens `path` as a full-model file; clear errors for missing, non-HDF5 or truncated files.
    static func openFullModel(_ path: String) throws -> Group {
        guard FileManager.default.fileExists(atPath: path) else {
            throw KerasFormatError(.io, file: path, found: "no such file")
        }
        do {
            return try fullModel(File.open(path).root, file: path)
        } catch let error as HDF5Error {
            throw KerasFormatError(
                .unknownFormat, file: path, expected: "a checkpoint (tf-keras full-model HDF5 file)",
                found: "unreadable: \(error.description) (corrupted or truncated?)")
        }
    }

    /// `root`, once it is checked to be a full-model file's.
    static func fullModel(_ root: Group, file path: String) throws -> Group {
        do {
            guard try isFullModel(root) else {
                throw KerasFormatError(
                    .wrongFormat, file: path, expected: "a checkpoint (model_config attribute and model_weights group)",
                    found: "an HDF5 file without them (a weights-only file?)")
            }
        } catch let error as HDF5Error {
            throw KerasFormatError(error, file: path)
        }
        return root
    }

    /// The JSON of a root attribute.
    static func jsonAttribute(_ name: String, of root: Group, file: String) throws -> JSON {
        guard try root.attributes.contains(name) else {
            throw KerasFormatError(.malformed, file: file, layer: name, expected: "a \(name) attribute", found: "none")
        }
        do {
            return try JSON.parse(root.attributes.string(name))
        } catch var error as KerasFormatError {
            error.file = file
            error.layer = name
            throw error
        }
    }

    /// Everything but the weights and the optimizer's slots: cheap, and enough to rebuild the model and
    /// check the run before loading. Refuses files that are not densenet-io checkpoints, optimizers
    /// the engine does not implement, and malformed training state.
    public static func readInfo(_ path: String) throws -> CheckpointInfo {
        try readInfo(openFullModel(path), file: path)
    }

    /// `readInfo` for a full-model file already open and checked (`fullModel`).
    static func readInfo(_ root: Group, file path: String) throws -> CheckpointInfo {
        try wrapHDF5(path) {
            guard try root.contains(TrainingStateGroup.name) else {
                throw KerasFormatError(
                    .wrongFormat, file: path, layer: TrainingStateGroup.name,
                    expected: "a densenet-io training checkpoint (a \(TrainingStateGroup.name) group)",
                    found: "a Keras model file without one (`densenet-io import` makes a checkpoint of it)")
            }
            var info = try TrainingStateGroup.read(from: root, file: path)
            try info.checkOptimizer(recorded: optimizerConfig(of: root, file: path), in: "training_config", file: path)
            let config = try jsonAttribute("model_config", of: root, file: path)
            if info.model.modelConfig == nil, config["class_name"]?.stringValue == "Functional" {
                info.model.modelConfig = config.description
            }
            return info
        }
    }

    /// Restores `trainer` (weights, moving statistics, optimizer, epoch, step, metrics) from `path`.
    /// Everything is read and checked first; on any error the trainer is unchanged.
    @discardableResult
    public static func load(_ path: String, into trainer: Trainer) throws -> CheckpointInfo {
        try load(openFullModel(path), file: path, into: trainer)
    }

    /// `load` from a full-model file already open and checked (`fullModel`).
    @discardableResult
    static func load(_ root: Group, file path: String, into trainer: Trainer) throws -> CheckpointInfo {
        let info = try readInfo(root, file: path)
        return try wrapHDF5(path) {
            try checkArchitecture(of: root, against: trainer.model, file: path)
            guard let stored = try TFKerasOptimizerWeights.read(from: root, file: path) else {
                throw KerasFormatError(
                    .malformed, file: path, layer: TFKerasOptimizerWeights.groupName,
                    expected: "the optimizer's state (a checkpoint keeps it)", found: "none")
            }
            let optimizer = try stored.resolved(for: info.optimizer, variables: trainer.optimizer.variables).state
            guard optimizer.iterations == info.iterations else {
                throw KerasFormatError(
                    .malformed, file: path, layer: "optimizer_weights", weight: "iteration:0",
                    expected: "\(info.iterations) (the training state's count)", found: "\(optimizer.iterations)")
            }
            try TFKerasWeightsFormat.load(
                TFKerasWeightLayout(tree: NamedLayerTree(model: trainer.model.root)),
                from: root.group("model_weights"), file: path)
            try trainer.optimizer.reconfigure(info.optimizer)
            try trainer.restore(info.trainerState(optimizer: optimizer, weights: trainer.model.root.getWeights(), base: trainer.state))
            return info
        }
    }

    /// Loads the weights of any full-model file (densenet-io's or tf-keras' `model.save`) into
    /// `model`, and returns the optimizer state it holds.
    @discardableResult
    public static func loadWeights(_ path: String, into model: Model) throws -> StoredOptimizer? {
        try loadWeights(openFullModel(path), file: path, into: model)
    }

    /// `loadWeights` for a full-model file already open and checked (`fullModel`).
    static func loadWeights(_ root: Group, file path: String, into model: Model) throws -> StoredOptimizer? {
        try wrapHDF5(path) {
            try checkArchitecture(of: root, against: model, file: path)
            let optimizer = try TFKerasOptimizerWeights.read(from: root, file: path)?.with(config: optimizerConfig(of: root, file: path))
            try TFKerasWeightsFormat.load(
                TFKerasWeightLayout(tree: NamedLayerTree(model: model.root)),
                from: root.group("model_weights"), file: path)
            return optimizer
        }
    }

    /// The optimizer of the file's `training_config`; nil for a file saved without one.
    static func optimizerConfig(of root: Group, file path: String) throws -> OptimizerConfig? {
        guard try root.attributes.contains("training_config") else { return nil }
        return try ModelConfig.optimizer(fromTraining: jsonAttribute("training_config", of: root, file: path), file: path)
    }

    /// A first, readable refusal when the file's model is of another kind (subclassed vs functional,
    /// another class). Layer-by-layer checks follow in the weight loader.
    static func checkArchitecture(of root: Group, against model: Model, file: String) throws {
        let config = try jsonAttribute("model_config", of: root, file: file)
        let saved = config["class_name"]?.stringValue ?? "?"
        let expected = model.root is FunctionalModel ? "Functional" : model.root.kerasClassName
        let compatible = saved == expected || (expected == "Functional" && ["Model", "Sequential"].contains(saved))
        guard compatible else {
            throw KerasFormatError(
                .wrongFormat, file: file, layer: "model_config",
                expected: "a \(expected) model (the architecture being trained)", found: "a \(saved) model")
        }
    }

    static func wrapHDF5<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as HDF5Error { throw KerasFormatError(error, file: path) }
    }
}
