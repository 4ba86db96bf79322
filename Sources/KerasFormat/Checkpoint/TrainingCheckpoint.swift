import DenseNetEngine
import HDF5

/// densenet-io's training checkpoint: a model, Adam's state and the run's progress (`CheckpointInfo`)
/// in either container, chosen by the file name when writing (`.keras`: the Keras 3 archive,
/// `KerasArchive`; anything else: the tf-keras full-model HDF5 file, `TFKerasModelFile`) and by
/// content when reading. Both stay files Keras itself loads.
public enum TrainingCheckpoint {
    /// Writes `trainer`'s complete state to `path`, atomically.
    public static func write(_ trainer: Trainer, model: ModelDescription, run: RunDescription, to path: String) throws {
        if WeightFileFormat(fileName: path) == .kerasArchive {
            try KerasArchive.write(trainer, model: model, run: run, to: path)
        } else {
            try TFKerasModelFile.write(trainer, model: model, run: run, to: path)
        }
    }

    /// The training state of the checkpoint at `path` (no weights read).
    public static func readInfo(_ path: String) throws -> CheckpointInfo {
        try readInfo(WeightFile(path))
    }

    /// The training state of an already detected file; refuses files that are not training checkpoints.
    public static func readInfo(_ file: WeightFile) throws -> CheckpointInfo {
        file.format == .kerasArchive
            ? try KerasArchive.readInfo(file.path) : try TFKerasModelFile.readInfo(fullModel(file), file: file.path)
    }

    /// Restores `trainer` from the checkpoint at `path`; everything is checked first.
    @discardableResult
    public static func load(_ path: String, into trainer: Trainer) throws -> CheckpointInfo {
        try load(WeightFile(path), into: trainer)
    }

    /// Restores `trainer` from an already detected file; everything is checked first.
    @discardableResult
    public static func load(_ file: WeightFile, into trainer: Trainer) throws -> CheckpointInfo {
        file.format == .kerasArchive
            ? try KerasArchive.load(file.path, into: trainer) : try TFKerasModelFile.load(fullModel(file), file: file.path, into: trainer)
    }

    /// The root of a file that is not an archive, once it is checked to be a tf-keras full-model file.
    private static func fullModel(_ file: WeightFile) throws -> Group {
        guard let hdf5 = file.hdf5 else {
            throw KerasFormatError(
                .wrongFormat, file: file.path, expected: "a checkpoint (tf-keras full-model HDF5 file or .keras archive)",
                found: "a \(file.format) file")
        }
        return try TFKerasModelFile.fullModel(hdf5.root, file: file.path)
    }
}

extension RunDescription {
    /// Why a run set up as `self` cannot resume the checkpoint's run `saved`; nil when it can.
    /// (`testLimit` only changes what is printed, so it may differ.)
    public func mismatch(resuming saved: RunDescription) -> String? {
        if batchSize != saved.batchSize { return "batch size \(batchSize), but the checkpoint was trained with \(saved.batchSize)" }
        if lossAveraging != saved.lossAveraging { return "loss averaging \(lossAveraging), checkpoint \(saved.lossAveraging)" }
        if trainData != saved.trainData {
            let limit = { (l: Int?) in l.map { "--limit \($0)" } ?? "no --limit" }
            return
                "other training data: \(trainData) (\(limit(trainLimit))), but the checkpoint was trained on \(saved.trainData) (\(limit(saved.trainLimit)))"
        }
        return nil
    }
}
