import Foundation

/// The event files Keras' `TensorBoard` callback writes for `fit(…, validation_data=…)`:
/// `DIR/train/` with `epoch_loss`, `epoch_accuracy`, `epoch_learning_rate` and `DIR/validation/`
/// with `evaluation_accuracy_vs_iterations`, `evaluation_loss_vs_iterations` at step = optimizer
/// iterations, then `epoch_loss`, `epoch_accuracy`; the `epoch_` scalars at step = epoch (0-based), as Keras 3.15's
/// `keras/src/callbacks/tensorboard.py` lays them out (`Fixtures/records/` holds its files).
///
/// Each run writes new files beside any earlier ones, as Keras does; a resumed run first writes
/// `SessionLog.START` at its epoch, so TensorBoard drops steps an interrupted run wrote after its
/// last checkpoint instead of showing them twice.
public struct TensorBoardLog: EpochLog {
    /// The log directory holding `train/` and `validation/` (Keras' `log_dir`).
    public let directory: String
    private let train: EventFile
    private let validation: EventFile

    /// Creates a new event file in each of `train/` and `validation/`; with `resumingAt`, each starts with
    /// `SessionLog.START` at that epoch.
    ///
    /// - Throws: `RecordError` when a folder or event file cannot be created.
    public init(directory: String, resumingAt epoch: Int? = nil) throws {
        self.directory = directory
        train = try EventFile(directory: directory + "/train", index: 0)
        validation = try EventFile(directory: directory + "/validation", index: 1)
        if let epoch {
            try train.sessionStart(step: epoch)
            try validation.sessionStart(step: epoch)
        }
    }

    /// Appends the epoch's seven scalars (see the type's summary) to the two event files, each flushed to
    /// disk.
    ///
    /// - Throws: `RecordError` when an event file cannot be appended to.
    public mutating func append(_ record: EpochRecord) throws {
        try train.scalar("epoch_accuracy", Float(record.accuracy), step: record.epoch)
        try train.scalar("epoch_loss", Float(record.loss), step: record.epoch)
        try train.scalar("epoch_learning_rate", Float(record.learningRate), step: record.epoch)
        try validation.scalar("evaluation_accuracy_vs_iterations", Float(record.validationAccuracy), step: record.iterations)
        try validation.scalar("evaluation_loss_vs_iterations", Float(record.validationLoss), step: record.iterations)
        try validation.scalar("epoch_accuracy", Float(record.validationAccuracy), step: record.epoch)
        try validation.scalar("epoch_loss", Float(record.validationLoss), step: record.epoch)
    }
}
