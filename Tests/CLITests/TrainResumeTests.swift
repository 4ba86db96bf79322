import Foundation
import HDF5
import KerasFormat
import TestSupport
import Testing

/// `densenet-io train --checkpoint / --resume`: exact resume across processes, crash safety, refusals.
/// Runs the built binary on a small synthetic MNIST-format folder (seconds per run).
enum TrainCLI {
    typealias Result = RunResult

    /// Starts `densenet-io arguments…` without waiting, standard output to `output`.
    static func start(_ arguments: [String], output: URL) throws -> Process {
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = arguments
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func run(_ arguments: [String]) throws -> Result { try CLI.run(arguments) }
}

/// A scratch folder with a synthetic MNIST-format dataset (raw IDX files, 28×28 images, or rank-4
/// H×W×C ones for another `imageShape`).
final class TrainWorkspace {
    let folder: String
    var data: String { folder + "/data" }

    init(trainCount: Int = 40, testCount: Int = 16, imageShape: [Int] = [28, 28]) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("densenet-io-train-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder + "/data", withIntermediateDirectories: true)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt8 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        func idx(_ type: UInt8, _ dims: [Int], _ payload: [UInt8]) -> Data {
            var d = Data([0, 0, type, UInt8(dims.count)])
            for n in dims { d += withUnsafeBytes(of: UInt32(n).bigEndian) { Data($0) } }
            return d + Data(payload)
        }
        for (prefix, count) in [("train", trainCount), ("t10k", testCount)] {
            let labels = (0..<count).map { _ in next() % 10 }
            // Each class brightens its own band of rows, so the model has something to learn.
            let size = imageShape.reduce(1, *), rowSize = size / imageShape[0]
            let pixels = labels.flatMap { label in
                (0..<size).map { i in (i / rowSize) / 3 == Int(label) ? 200 &+ next() % 56 : next() % 90 }
            }
            try idx(0x08, [count] + imageShape, pixels).write(to: URL(fileURLWithPath: "\(data)/\(prefix)-images-idx3-ubyte"))
            try idx(0x08, [count], labels).write(to: URL(fileURLWithPath: "\(data)/\(prefix)-labels-idx1-ubyte"))
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: folder) }

    func path(_ name: String) -> String { folder + "/" + name }

    /// `train` on this folder's data with the tests' small settings, plus `extra`.
    func train(_ extra: [String]) throws -> TrainCLI.Result {
        try TrainCLI.run(["train", "--data", data, "--batch-size", "8", "--seed", "3"] + extra)
    }
}

/// Every dataset's bytes and every attribute of an HDF5 file (paths sorted), for bit-exact comparison.
func checkpointContents(_ path: String) throws -> [String: Data] {
    var out: [String: Data] = [:]
    func attributes(_ a: Attributes, at path: String) throws {
        for name in try a.names() {
            let attribute = try a.attribute(name)
            out["\(path)@\(name)"] =
                try attribute.dataType() == .string
                ? Data(try attribute.readStrings().strings.joined(separator: "\u{0}").utf8) : Data(try attribute.readRawBytes().bytes)
        }
    }
    func visit(_ group: Group) throws {
        try attributes(group.attributes, at: group.path)
        for child in try group.childNames() {
            switch try group.kind(of: child) {
            case .group: try visit(group.group(child))
            case .dataset:
                let dataset = try group.dataset(child)
                out["\(group.path)/\(child)"] = Data(try dataset.readRawBytes().bytes)
                try attributes(dataset.attributes, at: "\(group.path)/\(child)")
            default: break
            }
        }
    }
    try visit(File.open(path).root)
    return out
}

@Suite(.serialized) struct TrainResumeTests {
    @Test func resumeAfterAnEpochIsBitIdentical() throws {
        let w = try TrainWorkspace()
        let full = try w.train(["--epochs", "2", "--checkpoint", w.path("full.h5"), "--save", w.path("full-weights.h5")])
        #expect(full.status == 0, "\(full.stderr)")
        #expect(full.epochLines.count == 2)

        let first = try w.train(["--epochs", "1", "--checkpoint", w.path("split.h5")])
        #expect(first.status == 0, "\(first.stderr)")
        let info = try TFKerasModelFile.readInfo(w.path("split.h5"))
        #expect(info.epoch == 1)
        #expect(info.stepInEpoch == 0)
        #expect(info.iterations == 5)
        // A new process: only the checkpoint carries the run on.
        let second = try TrainCLI.run([
            "train", "--data", w.data, "--resume", w.path("split.h5"), "--epochs", "2",
            "--save", w.path("split-weights.h5")
        ])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(first.epochLines + second.epochLines == full.epochLines)
        #expect(try checkpointContents(w.path("split.h5")) == checkpointContents(w.path("full.h5")))
        #expect(try checkpointContents(w.path("split-weights.h5")) == checkpointContents(w.path("full-weights.h5")))
    }

    @Test(arguments: ["h5", "keras"])
    func resumeMidEpochIsBitIdentical(format: String) throws {
        let w = try TrainWorkspace()
        let full = try w.train(["--epochs", "2", "--save", w.path("full.h5")])
        #expect(full.status == 0, "\(full.stderr)")
        let checkpoint = w.path("ckpt.\(format)")
        // Stop after 3 of 5 steps of epoch 1, then twice more, each in a new process.
        let first = try w.train(["--epochs", "2", "--checkpoint", checkpoint, "--stop-after", "3"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.epochLines.isEmpty)
        #expect(first.stdout.contains("Stopped at epoch 1, step 3 of 5"))
        let info = try TrainingCheckpoint.readInfo(checkpoint)
        #expect(info.epoch == 0)
        #expect(info.stepInEpoch == 3)
        #expect(info.metrics.seen == 24)
        let second = try TrainCLI.run(["train", "--data", w.data, "--resume", checkpoint, "--epochs", "2", "--stop-after", "4"])
        #expect(second.status == 0, "\(second.stderr)")
        let third = try TrainCLI.run(["train", "--data", w.data, "--resume", checkpoint, "--epochs", "2", "--save", w.path("split.h5")])
        #expect(third.status == 0, "\(third.stderr)")
        #expect(first.epochLines + second.epochLines + third.epochLines == full.epochLines)
        #expect(try checkpointContents(w.path("split.h5")) == checkpointContents(w.path("full.h5")))
    }

    @Test func checkpointEveryWritesMidEpochState() throws {
        let w = try TrainWorkspace()
        let result = try w.train(["--epochs", "1", "--checkpoint", w.path("c.h5"), "--checkpoint-every", "2", "--stop-after", "3"])
        #expect(result.status == 0, "\(result.stderr)")
        // Written at step 2 (every 2) and at step 3 (the stop).
        #expect(try TFKerasModelFile.readInfo(w.path("c.h5")).stepInEpoch == 3)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: w.folder).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty)
    }

    /// SIGKILL at random moments of a run that checkpoints after every step: the file left behind is
    /// always a complete checkpoint, and resuming it ends exactly where the uninterrupted run does.
    @Test func killedRunsAlwaysLeaveALoadableCheckpoint() throws {
        let iterations = Int(ProcessInfo.processInfo.environment["DENSENET_IO_KILL_ITERATIONS"] ?? "") ?? 12
        let w = try TrainWorkspace()
        let reference = try w.train(["--epochs", "2", "--save", w.path("reference.h5")])
        #expect(reference.status == 0, "\(reference.stderr)")
        let referenceWeights = try checkpointContents(w.path("reference.h5"))
        var generator = SystemRandomNumberGenerator()
        var killedMidWrite = 0, withCheckpoint = 0
        for iteration in 0..<iterations {
            let checkpoint = w.path("kill-\(iteration).h5")
            let process = try TrainCLI.start(
                [
                    "train", "--data", w.data, "--batch-size", "8", "--seed", "3", "--epochs", "2",
                    "--checkpoint", checkpoint, "--checkpoint-every", "1"
                ],
                output: URL(fileURLWithPath: w.path("kill-\(iteration).out")))
            // Once the first checkpoint exists, steps and checkpoint writes alternate: kill at a random moment.
            let deadline = Date().addingTimeInterval(20)
            while !FileManager.default.fileExists(atPath: checkpoint), process.isRunning, Date() < deadline { usleep(5_000) }
            usleep(UInt32.random(in: 0...900_000, using: &generator))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let temporaries = try FileManager.default.contentsOfDirectory(atPath: w.folder).filter { $0.hasSuffix(".tmp") }
            if !temporaries.isEmpty { killedMidWrite += 1 }
            temporaries.forEach { try? FileManager.default.removeItem(atPath: w.path($0)) }
            guard FileManager.default.fileExists(atPath: checkpoint) else { continue }  // killed before the first write
            withCheckpoint += 1
            let info = try TFKerasModelFile.readInfo(checkpoint)
            let resumed = try TrainCLI.run([
                "train", "--data", w.data, "--resume", checkpoint, "--epochs", "2",
                "--save", w.path("resumed-\(iteration).h5")
            ])
            #expect(resumed.status == 0, "iteration \(iteration) (epoch \(info.epoch), step \(info.stepInEpoch)): \(resumed.stderr)")
            #expect(try checkpointContents(w.path("resumed-\(iteration).h5")) == referenceWeights, "iteration \(iteration)")
        }
        print(
            "SIGKILL test: \(iterations) kills, \(withCheckpoint) left a checkpoint (all resumed bit-identically), \(killedMidWrite) landed while a checkpoint was being written"
        )
        #expect(withCheckpoint > 0)
    }

    // MARK: refusals: exit status 2, one clear line, no training step, the checkpoint untouched

    func expectRefusal(_ w: TrainWorkspace, _ arguments: [String], checkpoint: String, mentioning words: [String]) throws {
        let before = try? Data(contentsOf: URL(fileURLWithPath: checkpoint))
        let result = try TrainCLI.run(["train", "--data", w.data] + arguments)
        #expect(result.status == 2, "\(result.stdout) \(result.stderr)")
        #expect(result.epochLines.isEmpty)
        for word in words { #expect(result.stderr.contains(word), "\(result.stderr)") }
        #expect((try? Data(contentsOf: URL(fileURLWithPath: checkpoint))) == before)
    }

    @Test func refusesMismatchedOrDamagedCheckpoints() throws {
        let w = try TrainWorkspace()
        let checkpoint = w.path("c.h5")
        let first = try w.train(["--epochs", "1", "--checkpoint", checkpoint, "--stop-after", "2"])
        #expect(first.status == 0, "\(first.stderr)")
        let resume = ["--resume", checkpoint, "--epochs", "2"]
        // Another run setup.
        try expectRefusal(w, resume + ["--batch-size", "4"], checkpoint: checkpoint, mentioning: ["batch size 4"])
        try expectRefusal(w, resume + ["--limit", "32"], checkpoint: checkpoint, mentioning: ["other training data"])
        try expectRefusal(w, resume + ["--seed", "9"], checkpoint: checkpoint, mentioning: ["seed"])
        // Another architecture (the same preset for 32×32 images has other shapes).
        try expectRefusal(w, resume + ["--input-shape", "32,32,1"], checkpoint: checkpoint, mentioning: ["32, 32, 1"])
        // Truncated and corrupted files.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: checkpoint))
        for (name, damaged) in [("truncated.h5", bytes.prefix(bytes.count / 3)), ("zeros.h5", Data(count: 4096))] {
            let path = w.path(name)
            try Data(damaged).write(to: URL(fileURLWithPath: path))
            try expectRefusal(w, ["--resume", path, "--epochs", "2"], checkpoint: path, mentioning: [path])
        }
        // An optimizer the toolkit does not train with.
        let sgd = w.path("sgd.h5")
        try FileManager.default.copyItem(atPath: checkpoint, toPath: sgd)
        do {
            let root = try File.open(sgd, mode: .readWrite).root
            let config = try root.attributes.string("training_config").replacingOccurrences(of: "Custom>Adam", with: "Custom>RMSprop")
            try root.attributes.delete("training_config")
            try root.attributes.write(StringArray(scalar: config, format: .variableASCII), named: "training_config")
        }
        try expectRefusal(w, ["--resume", sgd, "--epochs", "2"], checkpoint: sgd, mentioning: ["RMSprop", "Adam"])
        // A checkpoint of another architecture: the tiny weights file is no full model.
        let weights = w.path("weights.h5")
        #expect(try w.train(["--epochs", "1", "--limit", "8", "--save", weights]).status == 0)
        try expectRefusal(
            w, ["--resume", weights, "--epochs", "2"], checkpoint: weights,
            mentioning: ["not a densenet-io checkpoint", "densenet-io import"])
    }
}
