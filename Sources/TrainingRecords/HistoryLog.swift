import Foundation

/// Keras' `History` as JSON: `{"epoch": [0, 1, …], "accuracy": […], "loss": […],
/// "val_accuracy": […], "val_loss": […]}` — `history.epoch` and `json.dump(history.history)`
/// side by side, rewritten whole after each epoch.
public struct HistoryLog: EpochLog {
    /// The JSON file's path, as given.
    public let path: String
    private var records: [EpochRecord] = []

    /// Starts a new history at `path`, or, with `resumingAt`, keeps the existing epochs before it.
    public init(path: String, resumingAt epoch: Int? = nil) throws {
        self.path = path
        if let epoch, FileManager.default.fileExists(atPath: path) {
            records = try Self.read(path).filter { $0.epoch < epoch }
        }
        try write()
    }

    /// Adds the epoch and rewrites the whole file atomically, so it is valid JSON after every epoch.
    ///
    /// - Throws: `RecordError` when the file cannot be written.
    public mutating func append(_ record: EpochRecord) throws {
        records.append(record)
        try write()
    }

    private func write() throws {
        var columns = [("epoch", records.map { String($0.epoch) })]
        for (index, key) in ["accuracy", "loss", "val_accuracy", "val_loss"].enumerated() {
            columns.append((key, records.map { EpochRecord.pythonFloat($0.metrics[index].value) }))
        }
        let body = columns.map { "\"\($0.0)\": [\($0.1.joined(separator: ", "))]" }.joined(separator: ", ")
        try RecordFile.replace(path, with: Data("{\(body)}\n".utf8))
    }

    /// The epochs a history file holds (learning rate and iterations are not part of Keras' history).
    public static func read(_ path: String) throws -> [EpochRecord] {
        struct Columns: Decodable {
            let epoch: [Int]
            let accuracy, loss, val_accuracy, val_loss: [Double]
        }
        let columns: Columns
        do {
            columns = try JSONDecoder().decode(Columns.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw RecordError(
                path: path, problem: "is not a densenet-io history (epoch, accuracy, loss, val_accuracy, val_loss lists): \(error)")
        }
        let counts = [columns.accuracy.count, columns.loss.count, columns.val_accuracy.count, columns.val_loss.count]
        guard counts.allSatisfy({ $0 == columns.epoch.count }) else {
            throw RecordError(path: path, problem: "has lists of different lengths \([columns.epoch.count] + counts)")
        }
        return columns.epoch.indices.map { i in
            EpochRecord(
                epoch: columns.epoch[i], loss: columns.loss[i], accuracy: columns.accuracy[i],
                validationLoss: columns.val_loss[i], validationAccuracy: columns.val_accuracy[i], learningRate: .nan,
                iterations: 0)
        }
    }
}
