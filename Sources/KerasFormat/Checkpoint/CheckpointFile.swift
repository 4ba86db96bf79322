import DenseNetEngine
import Foundation

/// A training checkpoint in either container, chosen by the file name when writing (`.keras`: the
/// Keras 3 archive, anything else: the tf-keras full-model HDF5 file) and by content when reading.
public enum CheckpointFile {
    /// Whether a new checkpoint at `path` is a `.keras` archive.
    public static func isArchive(fileName path: String) -> Bool { path.hasSuffix(".keras") }

    /// Whether the existing file at `path` starts like a zip (`PK\x03\x04`).
    public static func isArchive(contentsOf path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 4)) == Data([0x50, 0x4B, 0x03, 0x04])
    }

    public static func write(_ trainer: Trainer, model: ModelDescription, run: RunDescription, to path: String) throws {
        if isArchive(fileName: path) {
            try KerasArchive.write(trainer, model: model, run: run, to: path)
        } else {
            try Checkpoint.write(trainer, model: model, run: run, to: path)
        }
    }

    public static func readInfo(_ path: String) throws -> CheckpointInfo {
        isArchive(contentsOf: path) ? try KerasArchive.readInfo(path) : try Checkpoint.readInfo(path)
    }

    @discardableResult
    public static func load(_ path: String, into trainer: Trainer) throws -> CheckpointInfo {
        isArchive(contentsOf: path) ? try KerasArchive.load(path, into: trainer) : try Checkpoint.load(path, into: trainer)
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
            return "other training data: \(trainData) (\(limit(trainLimit))), but the checkpoint was trained on \(saved.trainData) (\(limit(saved.trainLimit)))"
        }
        return nil
    }
}
