import Foundation
import Testing
import TestSupport
import TrainingRecords

/// `train --csv/--history/--tensorboard` and interrupts, through the built binary: the records hold
/// exactly what the epoch lines print, a resumed run continues them without repeating an epoch, and
/// SIGINT/SIGTERM end a run with its checkpoint written.
@Suite(.serialized) struct TrainRecordsTests {
    /// The epoch lines' numbers: (epoch, loss, accuracy %, test loss, test accuracy %).
    static func numbers(_ lines: [String]) -> [[Double]] {
        lines.map { line in
            line.split(whereSeparator: { $0 == "," || $0 == " " }).compactMap { Double($0) }
        }
    }

    /// The records of `w`'s run as epoch-line numbers, for comparison with what was printed.
    static func recordedLines(csv: String, history: String, board: String) throws -> (
        csv: [[Double]], history: [[Double]], board: [[Double]]
    ) {
        let rows = try CSVLog.read(csv).rows.map { [$0[0] + 1, $0[2], $0[1] * 100, $0[4], $0[3] * 100] }
        let epochs = try HistoryLog.read(history).map {
            [Double($0.epoch + 1), $0.loss, $0.accuracy * 100, $0.validationLoss, $0.validationAccuracy * 100]
        }
        // TensorBoard as its reader merges the files: later files replace steps a SessionLog.START purged.
        func scalars(_ split: String) throws -> [String: [Int: Float]] {
            var byTag: [String: [Int: Float]] = [:]
            let folder = "\(board)/\(split)"
            for file in try FileManager.default.contentsOfDirectory(atPath: folder).sorted() {
                for event in try EventFileReader(path: "\(folder)/\(file)").events {
                    if event.sessionStatus == 1 { for tag in byTag.keys { byTag[tag] = byTag[tag]!.filter { $0.key < event.step } } }
                    for scalar in event.scalars { byTag[scalar.tag, default: [:]][event.step] = scalar.value }
                }
            }
            return byTag
        }
        let train = try scalars("train"), validation = try scalars("validation")
        let steps = (train["epoch_loss"] ?? [:]).keys.sorted()
        let boardLines = steps.map { step in
            [
                Double(step + 1), Double(train["epoch_loss"]![step]!), Double(train["epoch_accuracy"]![step]!) * 100,
                Double(validation["epoch_loss"]![step]!), Double(validation["epoch_accuracy"]![step]!) * 100
            ]
        }
        return (rows, epochs, boardLines)
    }

    /// Rounds as the epoch line prints (float32), so both sides compare exactly.
    static func printed(_ rows: [[Double]]) -> [[Double]] { rows.map { $0.map { Double(Float($0)) } } }

    @Test func recordsEqualTheEpochLinesAcrossAResume() throws {
        let w = try TrainWorkspace()
        let (csv, history, board) = (w.path("log.csv"), w.path("history.json"), w.path("board"))
        let records = ["--csv", csv, "--history", history, "--tensorboard", board]
        let first = try w.train(["--epochs", "3", "--checkpoint", w.path("c.h5"), "--stop-after", "7"] + records)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.epochLines.count == 1)
        let second = try TrainCLI.run(["train", "--data", w.data, "--resume", w.path("c.h5"), "--epochs", "3"] + records)
        #expect(second.status == 0, "\(second.stderr)")
        let printedLines = Self.numbers(first.epochLines + second.epochLines)
        #expect(printedLines.count == 3)
        let recorded = try Self.recordedLines(csv: csv, history: history, board: board)
        #expect(Self.printed(recorded.csv) == printedLines)
        #expect(Self.printed(recorded.history) == printedLines)
        #expect(Self.printed(recorded.board) == printedLines)
    }

    @Test func anEpochLoggedAfterTheLastCheckpointIsNotRepeated() throws {
        let w = try TrainWorkspace()
        let (csv, history, board) = (w.path("log.csv"), w.path("history.json"), w.path("board"))
        let records = ["--csv", csv, "--history", history, "--tensorboard", board]
        // The checkpoint of epoch 1 is kept aside; the run then logs epoch 2 as a run that died before its checkpoint would.
        #expect(try w.train(["--epochs", "1", "--checkpoint", w.path("c.h5")] + records).status == 0)
        try FileManager.default.copyItem(atPath: w.path("c.h5"), toPath: w.path("epoch1.h5"))
        #expect(try TrainCLI.run(["train", "--data", w.data, "--resume", w.path("c.h5"), "--epochs", "2"] + records).status == 0)
        let resumed = try TrainCLI.run(["train", "--data", w.data, "--resume", w.path("epoch1.h5"), "--epochs", "3"] + records)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let recorded = try Self.recordedLines(csv: csv, history: history, board: board)
        #expect(recorded.csv.map { $0[0] } == [1, 2, 3])
        #expect(recorded.history.map { $0[0] } == [1, 2, 3])
        #expect(recorded.board.map { $0[0] } == [1, 2, 3])
        #expect(Self.printed(Array(recorded.csv.suffix(2))) == Self.numbers(resumed.epochLines))
    }

    @Test(arguments: [(SIGINT, Int32(130), "Interrupted (SIGINT)"), (SIGTERM, Int32(143), "Terminated (SIGTERM)")])
    func aSignalEndsTheRunWithItsCheckpoint(signal: Int32, status: Int32, message: String) throws {
        let w = try TrainWorkspace(trainCount: 400)
        let checkpoint = w.path("c.h5")
        let output = URL(fileURLWithPath: w.path("out.txt"))
        let process = try TrainCLI.start(
            [
                "train", "--data", w.data, "--batch-size", "8", "--seed", "3", "--epochs", "50",
                "--checkpoint", checkpoint
            ], output: output)
        // Signal once the first epoch is done (its line printed, its checkpoint written).
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning, Date() < deadline,
            !(String(data: (try? Data(contentsOf: output)) ?? Data(), encoding: .utf8) ?? "").contains("Epoch 1,")
        {
            usleep(10_000)
        }
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        let printed = try String(contentsOf: output, encoding: .utf8)
        #expect(process.terminationStatus == status, "\(printed)")
        #expect(printed.contains("\(message) at epoch"), "\(printed)")
        #expect(printed.contains("resume with --resume \(checkpoint)"), "\(printed)")
        let resumed = try TrainCLI.run(["train", "--data", w.data, "--resume", checkpoint, "--epochs", "2"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
    }

    @Test func plotWritesAnSVGOfTheLog() throws {
        let w = try TrainWorkspace()
        #expect(try w.train(["--epochs", "2", "--csv", w.path("log.csv")]).status == 0)
        let result = try TrainCLI.run(["plot", w.path("log.csv"), "-o", w.path("curves.svg")])
        #expect(result.status == 0, "\(result.stderr)")
        let svg = try String(contentsOfFile: w.path("curves.svg"), encoding: .utf8)
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 4)
        let missing = try TrainCLI.run(["plot", w.path("none.csv"), "-o", w.path("x.svg")])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains(w.path("none.csv")))
    }
}
