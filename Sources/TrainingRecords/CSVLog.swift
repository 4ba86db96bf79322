import Foundation

/// Keras' `CSVLogger` file: the header `epoch,accuracy,loss,val_accuracy,val_loss`, one row per
/// epoch (0-based), Python's float repr, `\r\n` line ends (Python's `csv.excel` dialect) — the
/// bytes `keras.callbacks.CSVLogger` 3.15 writes (`Fixtures/records/keras_csvlogger.csv`).
///
/// Mirrors `keras/src/callbacks/csv_logger.py`, with `append=True` on resume; unlike Keras, rows
/// of epochs at or after the resumed epoch are dropped first, so a run killed between its CSV row
/// and its checkpoint does not log that epoch twice.
public struct CSVLog: EpochLog {
    /// The CSV file's path, as given.
    public let path: String
    static let header = "epoch,accuracy,loss,val_accuracy,val_loss"

    /// Starts a new log at `path` (replacing any file there), or, with `resumingAt`, keeps the
    /// existing rows of earlier epochs.
    public init(path: String, resumingAt epoch: Int? = nil) throws {
        self.path = path
        var kept = [Self.header]
        if let epoch, let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let rows = text.split(separator: "\r\n").dropFirst().filter { row in
                guard let first = row.split(separator: ",").first, let rowEpoch = Int(first) else { return false }
                return rowEpoch < epoch
            }
            kept += rows.map(String.init)
        }
        try RecordFile.replace(path, with: Data(kept.map { $0 + "\r\n" }.joined().utf8))
    }

    /// Appends the epoch's row and flushes it, as `CSVLogger.on_epoch_end` does.
    ///
    /// - Throws: `RecordError` when the file cannot be appended to (removed, or the disk full).
    public mutating func append(_ record: EpochRecord) throws {
        let row = ([String(record.epoch)] + record.metrics.map { EpochRecord.pythonFloat($0.value) }).joined(separator: ",")
        try RecordFile.append(path, Data((row + "\r\n").utf8))
    }

    /// The rows of a CSV log as Keras wrote them: column name → values, in row order.
    public static func read(_ path: String) throws -> (columns: [String], rows: [[Double]]) {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw RecordError(path: path, problem: "cannot be read: \(error.localizedDescription)")
        }
        let lines = text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline)
        guard let header = lines.first else { throw RecordError(path: path, problem: "is empty, expected a CSV header") }
        let columns = header.split(separator: ",").map(String.init)
        let rows = try lines.dropFirst().enumerated().map { index, line in
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            guard cells.count == columns.count, case let values = cells.compactMap({ Double($0) }), values.count == cells.count else {
                throw RecordError(path: path, problem: "row \(index + 1) is not \(columns.count) numbers: \(line)")
            }
            return values
        }
        return (columns, rows)
    }
}
