import Foundation
import Testing
import TestSupport
@testable import TrainingRecords

/// The records against what Keras 3.15's callbacks wrote (`Fixtures/records/`), byte for byte where
/// the bytes are deterministic, field for field in the event files.
final class TrainingRecordsTests {
    let folder: URL

    init() throws { folder = try temporaryFolder() }

    deinit { try? FileManager.default.removeItem(at: folder) }

    /// Keras' CSV rows as records (its fit: 64 samples, batch 16, so 4 optimizer steps an epoch).
    static func kerasRecords() throws -> [EpochRecord] {
        let (columns, rows) = try CSVLog.read(Fixture.path("records/keras_csvlogger.csv"))
        #expect(columns == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"])
        return rows.map { row in
            EpochRecord(
                epoch: Int(row[0]), loss: row[2], accuracy: row[1], validationLoss: row[4], validationAccuracy: row[3],
                learningRate: 0.001, iterations: 4 * (Int(row[0]) + 1))
        }
    }

    @Test func csvIsByteIdenticalToKerasCSVLoggerIncludingAppendOnResume() throws {
        let records = try Self.kerasRecords()
        let path = folder.appendingPathComponent("log.csv").path
        var log = try CSVLog(path: path)
        for record in records.prefix(2) { try log.append(record) }
        var resumed = try CSVLog(path: path, resumingAt: 2)
        try resumed.append(records[2])
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: path))
                == Data(contentsOf: URL(fileURLWithPath: Fixture.path("records/keras_csvlogger.csv"))))
    }

    @Test func resumingDropsEpochsAfterTheCheckpoint() throws {
        let records = try Self.kerasRecords()
        let csv = folder.appendingPathComponent("log.csv").path, json = folder.appendingPathComponent("history.json").path
        var logs: [any EpochLog] = [try CSVLog(path: csv), try HistoryLog(path: json)]
        for record in records { for index in logs.indices { try logs[index].append(record) } }
        // The run died after logging epoch 2 but before its checkpoint: the resume restarts epoch 1.
        logs = [try CSVLog(path: csv, resumingAt: 1), try HistoryLog(path: json, resumingAt: 1)]
        for index in logs.indices { try logs[index].append(records[1]) }
        #expect(try CSVLog.read(csv).rows.map { Int($0[0]) } == [0, 1])
        let history = try HistoryLog.read(json)
        #expect(history.map(\.epoch) == [0, 1])
        #expect(history.map(\.loss) == records.prefix(2).map(\.loss))
        #expect(history.map(\.validationAccuracy) == records.prefix(2).map(\.validationAccuracy))
    }

    @Test func historyIsKerasHistoryAsJSON() throws {
        let path = folder.appendingPathComponent("history.json").path
        var log = try HistoryLog(path: path)
        try log.append(
            EpochRecord(
                epoch: 0, loss: 0.5, accuracy: 0.75, validationLoss: 0.25, validationAccuracy: 0.875,
                learningRate: 0.001, iterations: 3))
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text == "{\"epoch\": [0], \"accuracy\": [0.75], \"loss\": [0.5], \"val_accuracy\": [0.875], \"val_loss\": [0.25]}\n")
    }

    @Test func eventFilesHoldWhatKerasTensorBoardCallbackWrites() throws {
        let records = try Self.kerasRecords()
        let directory = folder.appendingPathComponent("board").path
        var log = try TensorBoardLog(directory: directory)
        for record in records.prefix(2) { try log.append(record) }
        for split in ["train", "validation"] {
            let keras = try EventFileReader(path: Fixture.path("records/keras_tensorboard/\(split)/events.out.tfevents.keras"))
            let files = try FileManager.default.contentsOfDirectory(atPath: "\(directory)/\(split)")
            #expect(files.count == 1)
            #expect(files.allSatisfy { $0.hasPrefix("events.out.tfevents.") && $0.hasSuffix(".v2") })
            let ours = try EventFileReader(path: "\(directory)/\(split)/\(files[0])")
            #expect(ours.events.first?.fileVersion == "brain.Event:2")
            #expect(keras.events.first?.fileVersion == "brain.Event:2")
            // Same tags, plugin, dtype (DT_FLOAT), steps and float32 values, in the same order.
            #expect(
                ours.events.dropFirst().flatMap(\.scalars).map { [$0.plugin, String($0.dataType)] }.allSatisfy { $0 == ["scalars", "1"] })
            #expect(ours.scalars.map(\.tag) == keras.scalars.map(\.tag))
            #expect(ours.scalars.map(\.step) == keras.scalars.map(\.step))
            #expect(ours.scalars.map(\.value) == keras.scalars.map(\.value))
        }
    }

    @Test func aResumedBoardStartsWithASessionStartAtItsEpoch() throws {
        let directory = folder.appendingPathComponent("board").path
        _ = try TensorBoardLog(directory: directory, resumingAt: 3)
        let file = try FileManager.default.contentsOfDirectory(atPath: directory + "/train")[0]
        let events = try EventFileReader(path: "\(directory)/train/\(file)").events
        #expect(events.count == 2)
        #expect(events[1].sessionStatus == 1)
        #expect(events[1].step == 3)
    }

    @Test func crc32cOfTheStandardCheckString() {
        #expect(CRC32C.checksum(Data("123456789".utf8)) == 0xE306_9283)
    }

    @Test func plotDrawsTrainAndTestCurvesOfEachMetric() throws {
        let svg = try CurvePlot(csv: Fixture.path("records/keras_csvlogger.csv")).svg
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        let polylines = svg.components(separatedBy: "<polyline points=\"").dropFirst().map { $0.prefix { $0 != "\"" } }
        #expect(polylines.count == 4)
        #expect(polylines.allSatisfy { $0.split(separator: " ").count == 3 })
        #expect(svg.contains(">Loss</text>"))
        #expect(svg.contains(">Accuracy</text>"))
    }

    @Test func aCSVWithoutTheColumnsIsAnErrorNamingTheFile() throws {
        let path = folder.appendingPathComponent("other.csv").path
        try Data("step,value\r\n1,2\r\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: RecordError.self) { try CurvePlot(csv: path) }
        do { _ = try CurvePlot(csv: path) } catch let error as RecordError {
            #expect(error.description.hasPrefix(path))
        }
    }
}
