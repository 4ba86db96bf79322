/// What one finished epoch reports: Keras' `logs` at `on_epoch_end` for `model.fit(…,
/// validation_data=…)` with `metrics=["accuracy"]` — the values the CSV, the history and the
/// TensorBoard records are written from.
public struct EpochRecord: Equatable, Sendable {
    /// 0-based, as Keras counts epochs in its logs (the tutorial's line prints `epoch + 1`).
    public var epoch: Int
    /// The epoch's mean training loss (Keras' `loss`).
    public var loss: Double
    /// The fraction of training samples classified correctly during the epoch (Keras' `accuracy`).
    public var accuracy: Double
    /// The test pass (Keras' `val_` metrics).
    public var validationLoss: Double
    /// The test pass's fraction classified correctly (Keras' `val_accuracy`).
    public var validationAccuracy: Double
    /// The optimizer's learning rate during the epoch (TensorBoard's `epoch_learning_rate`).
    public var learningRate: Double
    /// Optimizer steps taken by the epoch's end (the step of TensorBoard's `evaluation_*_vs_iterations`).
    public var iterations: Int

    /// A record of every value the logs write; `epoch` is 0-based.
    public init(
        epoch: Int, loss: Double, accuracy: Double, validationLoss: Double, validationAccuracy: Double,
        learningRate: Double, iterations: Int
    ) {
        self.epoch = epoch
        self.loss = loss
        self.accuracy = accuracy
        self.validationLoss = validationLoss
        self.validationAccuracy = validationAccuracy
        self.learningRate = learningRate
        self.iterations = iterations
    }

    /// Keras' log keys and values in the order Keras' `CSVLogger` writes them: sorted by key.
    var metrics: [(key: String, value: Double)] {
        [("accuracy", accuracy), ("loss", loss), ("val_accuracy", validationAccuracy), ("val_loss", validationLoss)]
    }

    /// A metric as Python prints the float32 Keras logged: `repr(float(np.float32(x)))`. Swift's
    /// shortest round-trip description is the same digits for metric-sized values.
    static func pythonFloat(_ value: Double) -> String { "\(Double(Float(value)))" }
}

/// A training record that can be continued after a resume: a record file holds epochs
/// `0..<n`; resuming at epoch `e` keeps `0..<e` (anything later came from a run that died before
/// its checkpoint) and appends from there, so no epoch appears twice.
public protocol EpochLog {
    /// Records a finished epoch.
    mutating func append(_ record: EpochRecord) throws
}
