import DenseNetEngine
import Foundation
import HDF5
import ZIPFoundation

/// Keras 3's `.keras` archive: a zip (stored, not compressed) of `metadata.json`, `config.json` and
/// `model.weights.h5`, as `keras/src/saving/saving_lib.py` (`save_model`) writes it.
///
/// `model.weights.h5` is the Keras 3 weights layout (`Keras3WeightsFormat`) plus, for a compiled
/// model, the optimizer at `optimizer/vars` (`0` iterations, `1` learning rate, then the slots;
/// `Keras3OptimizerVars`). A densenet-io training checkpoint adds one entry Keras does not read,
/// `densenet_io_training_state.h5`, holding the same training-state group as the HDF5 checkpoint.
public enum KerasArchive {
    /// The Keras release whose archives these mirror, written to `metadata.json`.
    public static let kerasVersion = "3.15.1"
    static let trainingStateEntry = "densenet_io_training_state.h5"

    /// Writes `model` (and, when given, the optimizer's configuration and state and the training
    /// state) to `path` as a `.keras` archive, atomically.
    public static func write(
        _ model: Model, optimizer: TrainedOptimizer? = nil,
        trainingState: CheckpointInfo? = nil, to path: String
    ) throws {
        let config = try configJSON(model, optimizer: optimizer?.config).description
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd@HH:mm:ss"
        let metadata = JSON.object([("keras_version", .string(kerasVersion)), ("date_saved", .string(formatter.string(from: Date())))])
        try writeAtomically(to: path) { temporary in
            let weightsPath = temporary + ".weights.h5", statePath = temporary + ".state.h5"
            defer { unlink(weightsPath); unlink(statePath) }
            do {
                let file = try File.create(weightsPath)
                try Keras3WeightsFormat.write(Keras3WeightLayout(tree: NamedLayerTree(model: model.root)), to: file.root)
                if let optimizer { try Keras3OptimizerVars.write(optimizer, variables: model.trainableVariables, to: file.root) }
            }
            if let trainingState {
                let file = try File.create(statePath)
                try TrainingStateGroup.write(trainingState, to: file.root)
            }
            do {
                let archive = try Archive(url: URL(fileURLWithPath: temporary), accessMode: .create)
                // Keras writes the two JSON entries with zipfile's default date (1980-01-01).
                let zipEpoch = DateComponents(calendar: Calendar.current, year: 1980, month: 1, day: 1).date ?? Date()
                try add(Data(metadata.description.utf8), as: "metadata.json", date: zipEpoch, to: archive)
                try add(Data(config.utf8), as: "config.json", date: zipEpoch, to: archive)
                try add(Data(contentsOf: URL(fileURLWithPath: weightsPath)), as: "model.weights.h5", date: Date(), to: archive)
                if trainingState != nil {
                    try add(Data(contentsOf: URL(fileURLWithPath: statePath)), as: trainingStateEntry, date: Date(), to: archive)
                }
            } catch let error as KerasFormatError {
                throw error
            } catch {
                throw KerasFormatError(.io, file: path, found: "writing the zip: \(error)")
            }
        }
    }

    /// Writes `trainer`'s complete state as a `.keras` archive (a training checkpoint).
    public static func write(_ trainer: Trainer, model description: ModelDescription, run: RunDescription, to path: String) throws {
        try write(
            trainer.model, optimizer: TrainedOptimizer(trainer.optimizer),
            trainingState: CheckpointInfo(trainer: trainer, model: description, run: run), to: path)
    }

    private static func add(_ data: Data, as name: String, date: Date, to archive: Archive) throws {
        try archive.addEntry(
            with: name, type: .file, uncompressedSize: Int64(data.count), modificationDate: date,
            permissions: 0o600, compressionMethod: .none
        ) { position, size in
            data.subdata(in: Int(position)..<Int(position) + size)
        }
    }

    /// Keras 3 `config.json` for `model`, as `serialize_keras_object(model)` gives it: a functional
    /// model layer by layer (`ModelConfig.keras3Functional`), a subclassed one (the tutorial's
    /// DenseNet) by class and build shape; `compile_config` is empty unless compiled, as in Keras.
    public static func configJSON(_ model: Model, optimizer: OptimizerConfig?) throws -> JSON {
        let compile = optimizer.map(compileConfig) ?? .object([])
        if let functional = model.root as? FunctionalModel {
            return .object([
                ("module", .string("keras.src.models.functional")), ("class_name", .string("Functional")),
                ("config", try ModelConfig.keras3Functional(functional, inputShape: model.inputShape)),
                ("registered_name", .string("Functional")),
                // A functional model is built by its graph: Keras records no input shape for it.
                ("build_config", .object([("input_shape", .null)])),
                ("compile_config", compile)
            ])
        }
        return .object([
            ("module", .string("tutorial_model")),
            ("class_name", .string(model.root.kerasClassName)),
            ("config", .object([("trainable", .bool(true)), ("dtype", ModelConfig.keras3DTypePolicy)])),
            ("registered_name", .string(model.root.kerasClassName)),
            ("build_config", .object([("input_shape", .array([.null] + model.inputShape.map { .int($0) }))])),
            ("compile_config", compile)
        ])
    }

    static func compileConfig(_ optimizer: OptimizerConfig) -> JSON {
        .object([
            ("optimizer", optimizer.keras3Description),
            (
                "loss",
                .object([
                    ("module", .string("keras.losses")), ("class_name", .string("SparseCategoricalCrossentropy")),
                    (
                        "config",
                        .object([
                            ("name", .string("sparse_categorical_crossentropy")), ("reduction", .string("sum_over_batch_size")),
                            ("from_logits", .bool(false)), ("ignore_class", .null)
                        ])
                    ),
                    ("registered_name", .null)
                ])
            ),
            ("loss_weights", .null), ("metrics", .array([.string("accuracy")])), ("weighted_metrics", .null),
            ("run_eagerly", .bool(false)), ("steps_per_execution", .int(1)), ("jit_compile", .bool(false))
        ])
    }

    // MARK: reading

    /// An opened archive: its config and its HDF5 entries, read into memory within the read budget
    /// (`ArchiveReader`).
    final class Opened {
        let path: String
        let config: JSON
        let weights: Group
        let trainingState: Group?

        init(_ path: String) throws {
            self.path = path
            let archive = try ArchiveReader(path)
            guard let configData = try archive.contents(of: "config.json") else {
                throw KerasFormatError(.malformed, file: path, layer: "config.json", expected: "a config.json entry", found: "none")
            }
            do {
                config = try JSON.parse([UInt8](configData), file: path)
            } catch var error as KerasFormatError {
                error.file = path
                error.layer = "config.json"
                throw error
            }
            guard let weights = try Self.hdf5(archive, "model.weights.h5") else {
                throw KerasFormatError(
                    .malformed, file: path, layer: "model.weights.h5", expected: "a model.weights.h5 entry", found: "none")
            }
            self.weights = weights.root
            trainingState = try Self.hdf5(archive, trainingStateEntry)?.root
        }

        /// The HDF5 file in entry `name`, opened from memory; nil when the archive has no such entry.
        static func hdf5(_ archive: ArchiveReader, _ name: String) throws -> File? {
            guard let bytes = try archive.contents(of: name) else { return nil }
            do {
                return try File.open(image: bytes, name: "\(archive.path)/\(name)")
            } catch let error as HDF5Error {
                throw KerasFormatError(.malformed, file: archive.path, layer: name, expected: "an HDF5 file", found: error.detail)
            }
        }

        func checkArchitecture(_ model: Model) throws {
            let saved = config["class_name"]?.stringValue ?? "?"
            let expected = model.root is FunctionalModel ? "Functional" : model.root.kerasClassName
            guard saved == expected else {
                throw KerasFormatError(
                    .wrongFormat, file: path, layer: "config.json",
                    expected: "a \(expected) model (the architecture being trained)", found: "a \(saved) model")
            }
        }

        /// The optimizer state of `model.weights.h5`, with the optimizer of `compile_config`.
        func optimizer() throws -> StoredOptimizer? {
            let compiled = try config["compile_config"].flatMap { try ModelConfig.optimizer(fromTraining: $0, file: path) }
            return try Keras3OptimizerVars.read(from: weights, file: path)?.with(config: compiled)
        }
    }

    /// Loads the model weights of the archive at `path` into `model` (all or nothing) and returns
    /// the optimizer state it holds.
    @discardableResult
    public static func loadWeights(_ path: String, into model: Model) throws -> StoredOptimizer? {
        let opened = try Opened(path)
        return try TFKerasModelFile.wrapHDF5(path) {
            try opened.checkArchitecture(model)
            let optimizer = try opened.optimizer()
            try Keras3WeightsFormat.load(Keras3WeightLayout(tree: NamedLayerTree(model: model.root)), from: opened.weights, file: path)
            return optimizer
        }
    }

    /// The training state of a densenet-io `.keras` checkpoint (no weights read).
    public static func readInfo(_ path: String) throws -> CheckpointInfo {
        let opened = try Opened(path)
        return try TFKerasModelFile.wrapHDF5(path) { try info(of: opened) }
    }

    private static func info(of opened: Opened) throws -> CheckpointInfo {
        guard let state = opened.trainingState else {
            throw KerasFormatError(
                .wrongFormat, file: opened.path, layer: trainingStateEntry,
                expected: "a densenet-io training checkpoint (a \(trainingStateEntry) entry)", found: "a Keras archive without one")
        }
        var info = try TrainingStateGroup.read(from: state, file: opened.path)
        let compiled = try opened.config["compile_config"].flatMap { try ModelConfig.optimizer(fromTraining: $0, file: opened.path) }
        try info.checkOptimizer(recorded: compiled, in: "config.json compile_config", file: opened.path)
        if info.model.modelConfig == nil, opened.config["class_name"]?.stringValue == "Functional" {
            info.model.modelConfig = opened.config.description
        }
        return info
    }

    /// Restores `trainer` from a densenet-io `.keras` checkpoint; checks everything first.
    @discardableResult
    public static func load(_ path: String, into trainer: Trainer) throws -> CheckpointInfo {
        let opened = try Opened(path)
        return try TFKerasModelFile.wrapHDF5(path) {
            let info = try info(of: opened)
            try opened.checkArchitecture(trainer.model)
            guard let stored = try opened.optimizer() else {
                throw KerasFormatError(
                    .malformed, file: path, layer: Keras3OptimizerVars.path, expected: "the optimizer's state (a checkpoint keeps it)",
                    found: "none")
            }
            let optimizer = try stored.resolved(for: info.optimizer, variables: trainer.optimizer.variables)
            guard optimizer.state.iterations == info.iterations else {
                throw KerasFormatError(
                    .malformed, file: path, layer: "optimizer/vars", weight: "0 (iterations)",
                    expected: "\(info.iterations) (the training state's count)", found: "\(optimizer.state.iterations)")
            }
            try Keras3WeightsFormat.load(
                Keras3WeightLayout(tree: NamedLayerTree(model: trainer.model.root)), from: opened.weights, file: path)
            try trainer.optimizer.reconfigure(info.optimizer)
            try trainer.restore(
                info.trainerState(optimizer: optimizer.state, weights: trainer.model.root.getWeights(), base: trainer.state))
            return info
        }
    }
}
