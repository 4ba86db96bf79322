import Foundation
import HDF5
import KerasFormat
import TestSupport
import Testing

/// `mpirun -np N densenet-io train`: the run one process gives at the same global batch and seed.
enum MPIRun {
    /// Open MPI's launcher, when installed.
    static let mpirun: String? = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Open MPI refuses root without these; two cores take more ranks only when oversubscribed.
    static let environment = [
        "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_rmaps_base_oversubscribe": "1"
    ]

    static func launcher(ranks: Int) -> [String] { [mpirun!, "-np", "\(ranks)"] }

    /// `densenet-io arguments…` on `ranks` ranks.
    static func run(ranks: Int, _ arguments: [String]) throws -> RunResult {
        try CLI.run(arguments, environment: environment, launcher: launcher(ranks: ranks))
    }

    /// Every float32 dataset of a weights file, by path.
    static func weights(_ path: String) throws -> [String: [Float]] {
        try checkpointContents(path).filter { !$0.key.contains("@") }.mapValues { data in
            data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
    }

    /// ‖a − b‖ / ‖a‖ over all the weights of two files (moving statistics included).
    static func relativeDifference(_ a: String, _ b: String) throws -> Double {
        let x = try weights(a), y = try weights(b)
        #expect(x.keys.sorted() == y.keys.sorted())
        var difference = 0.0, norm = 0.0
        for (key, u) in x {
            for (p, q) in zip(u, y[key] ?? []) {
                difference += Double(p - q) * Double(p - q)
                norm += Double(p) * Double(p)
            }
        }
        return (difference / Swift.max(norm, Double.leastNormalMagnitude)).squareRoot()
    }

    /// The numbers of an epoch line (epoch, loss, accuracy, test loss, test accuracy).
    static func values(_ line: String) -> [Double] {
        line.split(whereSeparator: { $0 == " " || $0 == "," }).compactMap { Double($0) }
    }
}

/// Weights compared by ‖a − b‖ / ‖a‖ over all of them; each test prints what it measured. The
/// one-process runs sum in float64 (`--sums float64`), as distributed runs do by default, so that
/// the world size does not change the sums (docs/distributed.md).
@Suite(.serialized, .enabled(if: MPIRun.mpirun != nil, "mpirun is not installed (Debian: openmpi-bin)"))
struct DistributedTrainTests {
    @Test func twoRanksTrainAsOneProcess() throws {
        let w = try TrainWorkspace(trainCount: 200, testCount: 32)
        let arguments = ["train", "--data", w.data, "--batch-size", "40", "--seed", "3", "--epochs", "1"]
        let one = try CLI.run(arguments + ["--sums", "float64", "--save", w.path("one.h5")])
        #expect(one.status == 0, "\(one.stderr)")
        // float64 is mpirun's default.
        let two = try MPIRun.run(ranks: 2, arguments + ["--save", w.path("two.h5")])
        #expect(two.status == 0, "\(two.stdout) \(two.stderr)")
        // Rank 0 alone prints: one epoch line, one save line.
        #expect(two.epochLines.count == 1)
        #expect(two.stdout.components(separatedBy: "Saved ").count == 2, "\(two.stdout)")
        let difference = try MPIRun.relativeDifference(w.path("one.h5"), w.path("two.h5"))
        print("mpirun -np 2: weights and moving statistics within \(difference) relative of one process")
        // Measured 0.0 (3.3e-8 before image-by-image products and float64 weight gradients); with
        // TensorFlow-order sums on both sides it was 1.1e-3 (epoch loss 7.7e-5).
        #expect(difference <= 1e-5)
        let (a, b) = (MPIRun.values(one.epochLines.first ?? ""), MPIRun.values(two.epochLines.first ?? ""))
        #expect(a.count == 5 && b.count == 5)
        print("epoch lines: \(a) and \(b)")
        for (x, y) in zip(a, b) { #expect(abs(x - y) <= 1e-5 * abs(x), "\(a) vs \(b)") }
    }

    /// DenseNet-121 on 32×32 colour images (a rank-4 IDX folder), 48 of them in batches of 16:
    /// `mpirun -np 2` against one process. Measured: weights and moving statistics equal (0.0), the
    /// epoch lines equal.
    @Test func denseNet121OnTwoRanksTrainsAsOneProcess() throws {
        let w = try TrainWorkspace(trainCount: 48, testCount: 16, imageShape: [32, 32, 3])
        let arguments = [
            "train", "--data", w.data, "--model", "densenet121", "--input-shape", "32,32,3", "--classes", "10",
            "--batch-size", "16", "--seed", "3", "--epochs", "1"
        ]
        let one = try CLI.run(arguments + ["--sums", "float64", "--save", w.path("one.h5")])
        #expect(one.status == 0, "\(one.stderr)")
        let two = try MPIRun.run(ranks: 2, arguments + ["--save", w.path("two.h5")])
        #expect(two.status == 0, "\(two.stdout) \(two.stderr)")
        let difference = try MPIRun.relativeDifference(w.path("one.h5"), w.path("two.h5"))
        print("DenseNet-121 32×32, mpirun -np 2: weights and moving statistics within \(difference) relative of one process")
        #expect(difference <= 1e-5)
        let (a, b) = (MPIRun.values(one.epochLines.first ?? ""), MPIRun.values(two.epochLines.first ?? ""))
        #expect(a.count == 5 && b.count == 5)
        for (x, y) in zip(a, b) { #expect(abs(x - y) <= 1e-5 * abs(x), "\(a) vs \(b)") }
    }

    @Test func checkpointsResumeAtAnyWorldSize() throws {
        let w = try TrainWorkspace(trainCount: 96, testCount: 16)
        let arguments = ["train", "--data", w.data, "--batch-size", "16", "--seed", "3", "--epochs", "1", "--sums", "float64"]
        let reference = try CLI.run(arguments + ["--save", w.path("reference.h5")])
        #expect(reference.status == 0, "\(reference.stderr)")
        func resume(_ checkpoint: String, ranks: Int, as name: String) throws {
            try FileManager.default.copyItem(atPath: checkpoint, toPath: w.path("\(name).ckpt.h5"))
            let resumed = [
                "train", "--data", w.data, "--resume", w.path("\(name).ckpt.h5"), "--epochs", "1", "--sums", "float64",
                "--save", w.path("\(name).h5")
            ]
            let result = ranks == 1 ? try CLI.run(resumed) : try MPIRun.run(ranks: ranks, resumed)
            #expect(result.status == 0, "\(name): \(result.stdout) \(result.stderr)")
            let difference = try MPIRun.relativeDifference(w.path("reference.h5"), w.path("\(name).h5"))
            print("\(name): within \(difference) relative of the uninterrupted run")
            #expect(difference <= 1e-5, "\(name)")  // measured 0.0 each
        }
        let fromTwo = try MPIRun.run(ranks: 2, arguments + ["--checkpoint", w.path("two.h5"), "--stop-after", "2"])
        #expect(fromTwo.status == 0, "\(fromTwo.stdout) \(fromTwo.stderr)")
        #expect(fromTwo.stdout.contains("Stopped at epoch 1, step 2 of 6"))
        #expect(try TrainingCheckpoint.readInfo(w.path("two.h5")).metrics.seen == 32)
        try resume(w.path("two.h5"), ranks: 1, as: "two-then-one")
        try resume(w.path("two.h5"), ranks: 2, as: "two-then-two")
        let fromOne = try CLI.run(arguments + ["--checkpoint", w.path("one.h5"), "--stop-after", "3"])
        #expect(fromOne.status == 0, "\(fromOne.stderr)")
        try resume(w.path("one.h5"), ranks: 2, as: "one-then-two")
    }

    @Test func aRankKilledMidEpochStopsTheRunAndTheCheckpointResumes() throws {
        let w = try TrainWorkspace(trainCount: 96, testCount: 16)
        let arguments = ["train", "--data", w.data, "--batch-size", "16", "--seed", "3", "--epochs", "1", "--sums", "float64"]
        let reference = try CLI.run(arguments + ["--save", w.path("reference.h5")])
        #expect(reference.status == 0, "\(reference.stderr)")
        let checkpoint = w.path("killed.h5")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: MPIRun.mpirun!)
        process.arguments =
            Array(MPIRun.launcher(ranks: 2).dropFirst()) + [CLI.binary.path] + arguments + [
                "--checkpoint", checkpoint, "--checkpoint-every", "1"
            ]
        process.environment = ProcessInfo.processInfo.environment.merging(MPIRun.environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(300)
        while !FileManager.default.fileExists(atPath: checkpoint), process.isRunning, Date() < deadline { usleep(20_000) }
        let ranks = Self.children(of: process.processIdentifier)
        #expect(ranks.count == 2, "mpirun's children: \(ranks)")
        if let victim = ranks.last { kill(victim, SIGKILL) }
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        let info = try TrainingCheckpoint.readInfo(checkpoint)
        #expect(info.epoch == 0 && info.stepInEpoch >= 1 && info.stepInEpoch < 6, "epoch \(info.epoch), step \(info.stepInEpoch)")
        let resumed = try CLI.run(
            ["train", "--data", w.data, "--resume", checkpoint, "--epochs", "1", "--sums", "float64", "--save", w.path("resumed.h5")])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let difference = try MPIRun.relativeDifference(w.path("reference.h5"), w.path("resumed.h5"))
        print("killed at epoch 1, step \(info.stepInEpoch), resumed on 1: within \(difference) relative")
        #expect(difference <= 1e-5)  // measured 0.0
    }

    @Test func ranksRunningOtherArgumentsAreRefusedBeforeTheFirstStep() throws {
        let w = try TrainWorkspace(trainCount: 32, testCount: 8)
        let common = ["train", "--data", w.data, "--epochs", "1", "--checkpoint", w.path("c.h5")]
        // One rank with --batch-size 8, the other with 16 (mpirun's colon form).
        let result = try CLI.run(
            common + ["--batch-size", "8", ":", "-np", "1", CLI.binary.path] + common + ["--batch-size", "16"],
            environment: MPIRun.environment, launcher: MPIRun.launcher(ranks: 1))
        #expect(result.status != 0)
        #expect(result.stderr.contains("rank 1 runs other arguments or reads other data than rank 0"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: w.path("c.h5")))
    }

    @Test func dataMissingOnOneRankStopsEveryRankWithItsMessage() throws {
        let w = try TrainWorkspace(trainCount: 32, testCount: 8)
        let result = try CLI.run(
            [
                "train", "--data", w.data, "--epochs", "1", ":", "-np", "1", CLI.binary.path, "train", "--data", w.path("absent"),
                "--epochs", "1"
            ],
            environment: MPIRun.environment, launcher: MPIRun.launcher(ranks: 1))
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("densenet-io: rank 1: "), "\(result.stderr)")
        #expect(result.stderr.contains("absent"), "\(result.stderr)")
    }

    /// The processes whose parent is `pid`.
    static func children(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { child in
            guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == pid && stat.contains("(densenet-io)")
        }.sorted()
    }
}
