import DenseNetEngine
import HDF5

/// What a checkpoint says about its model, so the toolkit can rebuild it before loading weights.
public struct ModelDescription: Equatable, Sendable {
    /// The `ModelPreset` name (`densenet-mini`); nil for a model not built from a preset.
    public var preset: String?
    /// The per-sample input shape the model was built for, e.g. `[28, 28, 1]`.
    public var inputShape: [Int]
    /// The model's output classes.
    public var classes: Int
    /// The seed the initial weights came from (informational: the weights are in the file).
    public var weightSeed: UInt64
    /// A Keras `model_config` to write verbatim instead of generating one (the config→model
    /// builder's seam: a model built from a Keras config hands that config back here).
    public var modelConfig: String?

    /// A description of a model built from `preset` (nil: from `modelConfig`) for `inputShape` and `classes`.
    public init(preset: String?, inputShape: [Int], classes: Int, weightSeed: UInt64 = 0, modelConfig: String? = nil) {
        self.preset = preset
        self.inputShape = inputShape
        self.classes = classes
        self.weightSeed = weightSeed
        self.modelConfig = modelConfig
    }
}

/// A cheap identity of a training set: sample count and checksums of labels and image bits.
/// A resume on other data (another `--limit`, another folder) is refused with it.
public struct DataFingerprint: Equatable, Sendable, CustomStringConvertible {
    /// The number of training samples.
    public var samples: Int
    /// FNV-1a of the labels.
    public var labelsChecksum: UInt64
    /// FNV-1a of the images' float32 bit patterns.
    public var imagesChecksum: UInt64

    /// A fingerprint as a checkpoint recorded it.
    public init(samples: Int, labelsChecksum: UInt64, imagesChecksum: UInt64) {
        self.samples = samples
        self.labelsChecksum = labelsChecksum
        self.imagesChecksum = imagesChecksum
    }

    /// FNV-1a over the labels (as Int64) and over the images' float32 bit patterns, word by word.
    public init(_ data: LabeledImages) {
        func fnv(_ words: some Sequence<UInt64>) -> UInt64 {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for word in words { hash = (hash ^ word) &* 0x0000_0100_0000_01b3 }
            return hash
        }
        samples = data.count
        labelsChecksum = fnv(data.labels.lazy.map { UInt64(bitPattern: Int64($0)) })
        imagesChecksum = data.images.withUnsafeBufferPointer { fnv($0.lazy.map { UInt64($0.bitPattern) }) }
    }

    /// The count and both checksums in hex, for the message refusing a resume on other data.
    public var description: String {
        "\(samples) samples, labels checksum \(String(labelsChecksum, radix: 16)), images checksum \(String(imagesChecksum, radix: 16))"
    }
}

/// How the run was set up; resuming must use the same.
public struct RunDescription: Equatable, Sendable {
    /// Samples per training step.
    public var batchSize: Int
    /// How the epoch's mean loss weighs batches.
    public var lossAveraging: LossAveraging
    /// The identity of the training data, checked again on resume.
    public var trainData: DataFingerprint
    /// `--limit` of the run: the training samples used (nil: all).
    public var trainLimit: Int?
    /// `--test-limit` of the run: the test samples evaluated (nil: all).
    public var testLimit: Int?

    /// A run's setup as the training command recorded it.
    public init(
        batchSize: Int, lossAveraging: LossAveraging = .perBatch, trainData: DataFingerprint,
        trainLimit: Int? = nil, testLimit: Int? = nil
    ) {
        self.batchSize = batchSize
        self.lossAveraging = lossAveraging
        self.trainData = trainData
        self.trainLimit = trainLimit
        self.testLimit = testLimit
    }
}

/// Everything in a checkpoint except the weights and the optimizer's slots.
public struct CheckpointInfo: Equatable, Sendable {
    /// The model to rebuild before loading the checkpoint's weights.
    public var model: ModelDescription
    /// The run's setup, which a resume must repeat.
    public var run: RunDescription
    /// The optimizer and its hyperparameters (its slots are stored with the weights, not here).
    public var optimizer: OptimizerConfig
    /// Epoch in progress (0-based).
    public var epoch: Int
    /// Batches of `epoch` already done; 0 at an epoch boundary.
    public var stepInEpoch: Int
    /// The data order is `Trainer.permutation(count:seed:epoch:)` of this seed.
    public var shuffleSeed: UInt64
    /// Running sums of the epoch in progress.
    public var metrics: MetricState
    /// The optimizer's iteration count (also in its own variables; checked to agree).
    public var iterations: Int64

    /// An info from its values, as read from a checkpoint.
    public init(
        model: ModelDescription, run: RunDescription, optimizer: OptimizerConfig, epoch: Int, stepInEpoch: Int,
        shuffleSeed: UInt64, metrics: MetricState, iterations: Int64
    ) {
        self.model = model
        self.run = run
        self.optimizer = optimizer
        self.epoch = epoch
        self.stepInEpoch = stepInEpoch
        self.shuffleSeed = shuffleSeed
        self.metrics = metrics
        self.iterations = iterations
    }

    /// The info of `trainer`'s current state.
    public init(trainer: Trainer, model: ModelDescription, run: RunDescription) {
        self.init(
            model: model, run: run, optimizer: trainer.optimizer.config, epoch: trainer.epoch,
            stepInEpoch: trainer.stepInEpoch, shuffleSeed: trainer.shuffleSeed, metrics: trainer.metrics,
            iterations: trainer.optimizer.iterations)
    }
}

/// The checkpoint's extra group, `densenet_io_training_state`: what exact resume needs beyond the
/// weights and the optimizer's slots. Keras ignores it (it reads only `model_weights` and
/// `optimizer_weights`). All values are attributes, numbers at full precision (float64 sums,
/// uint64 seeds), so a resumed run continues bit for bit.
///
/// Version 2 records any optimizer (`optimizer`: Keras 3's description, `optimizer_learning_rate`:
/// the rate at float64); version 1 recorded Adam's four `adam_*` numbers and is still read.
enum TrainingStateGroup {
    static let name = "densenet_io_training_state"
    static let formatName = "densenet-io training state"
    static let version: Int64 = 2

    static func write(_ info: CheckpointInfo, to parent: Group) throws {
        let a = try parent.createGroup(name).attributes
        func int(_ value: Int, _ key: String) throws { try a.write(NDArray(scalar: Int64(value)), named: key) }
        func uint(_ value: UInt64, _ key: String) throws { try a.write(NDArray(scalar: value), named: key) }
        func double(_ value: Double, _ key: String) throws { try a.write(NDArray(scalar: value), named: key) }
        func string(_ value: String, _ key: String) throws { try a.write(StringArray(scalar: value, format: .variableUTF8), named: key) }
        try string(formatName, "format")
        try a.write(NDArray(scalar: version), named: "format_version")
        try string(info.model.preset ?? "", "model_preset")
        try a.write(NDArray(info.model.inputShape.map(Int64.init)), named: "input_shape")
        try int(info.model.classes, "classes")
        try uint(info.model.weightSeed, "weight_seed")
        try int(info.run.batchSize, "batch_size")
        try string(info.run.lossAveraging.rawValue, "loss_averaging")
        try int(info.run.trainData.samples, "train_samples")
        try uint(info.run.trainData.labelsChecksum, "train_labels_checksum")
        try uint(info.run.trainData.imagesChecksum, "train_images_checksum")
        try int(info.run.trainLimit ?? -1, "train_limit")
        try int(info.run.testLimit ?? -1, "test_limit")
        try int(info.epoch, "epoch")
        try int(info.stepInEpoch, "step_in_epoch")
        try uint(info.shuffleSeed, "shuffle_seed")
        try a.write(NDArray(scalar: info.iterations), named: "iterations")
        try double(info.metrics.lossSum, "metric_loss_sum")
        try double(info.metrics.lossWeight, "metric_loss_weight")
        try int(info.metrics.correct, "metric_correct")
        try int(info.metrics.seen, "metric_seen")
        try string(info.optimizer.keras3Description.description, "optimizer")
        try double(info.optimizer.learningRate, "optimizer_learning_rate")
    }

    /// Reads the group, checked whole.
    static func read(from parent: Group, file: String) throws -> CheckpointInfo {
        guard try parent.contains(name), try parent.kind(of: name) == .group else {
            throw KerasFormatError(
                .malformed, file: file, layer: name,
                expected: "a group /\(name) (a densenet-io training checkpoint)", found: "none")
        }
        let a = try parent.group(name).attributes
        func fail(_ key: String, _ expected: String, _ found: String) -> KerasFormatError {
            KerasFormatError(.malformed, file: file, layer: name, weight: key, expected: expected, found: found)
        }
        func scalar<T: DataElement>(_ key: String, _ type: T.Type) throws -> T {
            guard try a.contains(key) else { throw fail(key, "attribute \(key)", "none") }
            let array: NDArray<T>
            do { array = try a.read(key, as: T.self) } catch let error as HDF5Error {
                throw fail(key, "a \(T.self) scalar", error.description)
            }
            guard array.shape == [], let value = array.scalars.first else { throw fail(key, "a scalar", "shape \(array.shape)") }
            return value
        }
        func int(_ key: String, minimum: Int = 0) throws -> Int {
            let value = try scalar(key, Int64.self)
            guard value >= minimum, value <= Int64(Int.max) else { throw fail(key, "a number >= \(minimum)", "\(value)") }
            return Int(value)
        }
        func optional(_ key: String) throws -> Int? { let v = try int(key, minimum: -1); return v < 0 ? nil : v }
        func string(_ key: String) throws -> String {
            guard try a.contains(key) else { throw fail(key, "attribute \(key)", "none") }
            return try a.string(key)
        }
        let format = try string("format")
        guard format == formatName else { throw fail("format", formatName, format) }
        let version = try scalar("format_version", Int64.self)
        guard version == 1 || version == Self.version else {
            throw fail("format_version", "1 or \(Self.version)", "\(version) (written by another densenet-io)")
        }
        let optimizer: OptimizerConfig
        if version == 1 {
            optimizer = .adam(
                AdamConfig(
                    learningRate: try scalar("adam_learning_rate", Double.self), beta1: try scalar("adam_beta_1", Double.self),
                    beta2: try scalar("adam_beta_2", Double.self), epsilon: try scalar("adam_epsilon", Double.self)))
        } else {
            let description: JSON
            do { description = try JSON.parse(string("optimizer")) } catch var error as KerasFormatError {
                (error.file, error.layer, error.weight) = (file, name, "optimizer")
                throw error
            }
            optimizer = try OptimizerConfig(keras: description, file: file)
                .with(learningRate: scalar("optimizer_learning_rate", Double.self))
        }
        guard try a.contains("input_shape") else { throw fail("input_shape", "attribute input_shape", "none") }
        let shape = try a.read("input_shape", as: Int64.self).scalars.map { Int($0) }
        guard !shape.isEmpty, shape.allSatisfy({ $0 > 0 }) else { throw fail("input_shape", "positive dimensions", "\(shape)") }
        let averagingName = try string("loss_averaging")
        guard let averaging = LossAveraging(rawValue: averagingName) else {
            throw fail("loss_averaging", "perBatch or perSample", averagingName)
        }
        let preset = try string("model_preset")
        let batchSize = try int("batch_size", minimum: 1)
        let info = CheckpointInfo(
            model: ModelDescription(
                preset: preset.isEmpty ? nil : preset, inputShape: shape, classes: try int("classes", minimum: 1),
                weightSeed: try scalar("weight_seed", UInt64.self)),
            run: RunDescription(
                batchSize: batchSize, lossAveraging: averaging,
                trainData: DataFingerprint(
                    samples: try int("train_samples", minimum: 1),
                    labelsChecksum: try scalar("train_labels_checksum", UInt64.self),
                    imagesChecksum: try scalar("train_images_checksum", UInt64.self)),
                trainLimit: try optional("train_limit"), testLimit: try optional("test_limit")),
            optimizer: optimizer,
            epoch: try int("epoch"), stepInEpoch: try int("step_in_epoch"), shuffleSeed: try scalar("shuffle_seed", UInt64.self),
            metrics: MetricState(
                lossSum: try scalar("metric_loss_sum", Double.self), lossWeight: try scalar("metric_loss_weight", Double.self),
                correct: try int("metric_correct"), seen: try int("metric_seen")),
            iterations: try scalar("iterations", Int64.self))
        let steps = (info.run.trainData.samples + batchSize - 1) / batchSize
        guard info.stepInEpoch < steps else { throw fail("step_in_epoch", "less than \(steps) steps per epoch", "\(info.stepInEpoch)") }
        guard info.iterations >= 0 else { throw fail("iterations", "a count >= 0", "\(info.iterations)") }
        return info
    }
}

extension CheckpointInfo {
    /// Refuses a checkpoint whose Keras configuration (`training_config`, `compile_config`) names
    /// another optimizer class than its training state: one of the two was changed by hand.
    func checkOptimizer(recorded: OptimizerConfig?, in place: String, file: String) throws {
        guard let recorded, recorded.kerasClassName != optimizer.kerasClassName else { return }
        throw KerasFormatError(
            .malformed, file: file, layer: place,
            expected: "\(optimizer.kerasClassName), the optimizer of the training state", found: recorded.kerasClassName)
    }

    /// The trainer state this info describes, with `optimizer` and `weights` read from the file
    /// (`base` supplies the value type; every field is replaced).
    func trainerState(optimizer: OptimizerState, weights: [[Float]], base: TrainerState) -> TrainerState {
        var state = base
        state.epoch = epoch
        state.stepInEpoch = stepInEpoch
        state.shuffleSeed = shuffleSeed
        state.metrics = metrics
        state.optimizer = optimizer
        state.weights = weights
        return state
    }
}
