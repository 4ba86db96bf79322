import Foundation
import TestSupport
import Testing
@testable import DenseNetEngine

/// DenseNet-121 at ImageNet size (224×224×3, 1000 classes, batch 8): a training step's time and the
/// process' peak RSS, with memory-efficient dense blocks or op by op, and inference time. Heavy, so
/// run only on request, one mode per process (peak RSS is per process), in release mode:
///
///     DENSENET_IO_BENCH=fused swift test -c release -Xswiftc -enable-testing --filter ApplicationsBenchmarkTests
///     DENSENET_IO_BENCH=naive …    DENSENET_IO_BENCH=infer …
@Suite struct ApplicationsBenchmarkTests {
    static let mode = ProcessInfo.processInfo.environment["DENSENET_IO_BENCH"]

    /// The process' peak resident set (VmHWM), in MiB.
    static func peakRSS() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kb = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { return -1 }
        return kb / 1024
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    @Test(.enabled(if: mode != nil, "set DENSENET_IO_BENCH=fused|naive|infer"))
    func densenet121AtImageNetSize() throws {
        let mode = try #require(Self.mode)
        let batch = 8
        let model = try Model(
            root: DenseNetApplication.densenet121(), inputShape: [224, 224, 3],
            memoryEfficientDenseBlocks: mode != "naive")
        let images = randomFloats(batch * 224 * 224 * 3, seed: 1, range: 0...1)
        let labels = (0..<batch).map { $0 * 97 % 1000 }
        let floats = model.activationFloats(batch: batch)
        let baseline = Self.peakRSS()
        if mode == "infer" {
            _ = try model.predict(images, batchSize: batch)
            var times: [Double] = []
            for _ in 0..<3 { times.append(try Self.seconds { _ = try model.predict(images, batchSize: batch) }) }
            let best = times.min()!, median = times.sorted()[1]
            print(
                "BENCH infer DenseNet-121 224x224x3 batch \(batch), \(model.parallel.workers) workers: best \(Int(best * 1000)) ms, "
                    + "median \(Int(median * 1000)) ms = \(String(format: "%.1f", Double(batch) / median)) images/s; peak RSS \(Self.peakRSS()) MiB"
            )
            return
        }
        let trainer = try Trainer(model: model, batchSize: batch)
        let first = try Self.seconds { try trainer.trainStep(images: images, labels: labels) }
        let second = try Self.seconds { try trainer.trainStep(images: images, labels: labels) }
        print(
            "BENCH train \(mode) DenseNet-121 224x224x3 batch \(batch): step \(String(format: "%.2f", second)) s "
                + "(first \(String(format: "%.2f", first)) s); peak RSS \(Self.peakRSS()) MiB (after model build \(baseline) MiB); "
                + "activations+gradients planned \((floats.planned * 4) >> 20) MiB, op by op \((floats.unfused * 4) >> 20) MiB")
    }
}
