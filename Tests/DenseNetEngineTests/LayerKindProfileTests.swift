import TestSupport
import Testing
@testable import DenseNetEngine

/// `bench --profile`'s accounting: every convolution and dense multiply-add is counted once, under
/// the kind of its layer, whether the layer runs alone, in an image chain or inside a dense block.
@Suite struct LayerKindProfileTests {
    @Test(arguments: ["mini", "small"])
    func everyMultiplyAddIsCountedOnceByKind(which: String) throws {
        let shape = which == "mini" ? [28, 28, 1] : [32, 32, 3]
        let root: any Layer =
            which == "mini"
            ? DenseNet.mini() : try DenseNetApplication.build(DenseNetOptions(blocks: [2, 3, 2, 2], inputShape: shape, classes: 5))
        let model = try Model(root: root, inputShape: shape, seed: 2, parallel: Parallel(workers: 2))
        let batch = 3, steps = 2
        for training in [false, true] {
            let entries = try ModelBenchmark.profile(
                model: model, batchSize: batch, steps: steps, training: training, datasetSize: 6)
            let forward = entries.filter { !$0.kind.hasSuffix(" backward") }.reduce(0) { $0 + $1.entry.flops }
            let backward = entries.filter { $0.kind.hasSuffix(" backward") }.reduce(0) { $0 + $1.entry.flops }
            #expect(forward == steps * batch * model.forwardFLOPsPerSample, "training \(training)")
            #expect(backward == (training ? 2 * forward : 0), "training \(training)")
            #expect(entries.map(\.entry.seconds) == entries.map(\.entry.seconds).sorted(by: >))
            #expect(entries.contains { $0.kind == "rest" })
            if which == "small" {
                let kinds = Set(entries.map(\.kind))
                for kind in ["convolution 1×1", "convolution 3×3", "batch normalization", "concatenation"] {
                    #expect(kinds.contains { $0.hasPrefix(kind) }, "\(kind), training \(training)")
                }
                if training { #expect(kinds.contains("batch normalization backward")) }
            }
        }
    }

    /// The measured peak is positive where the CPU has FMA (every machine this runs on has AVX2).
    @Test func peakIsMeasured() {
        #expect(!EngineConfiguration.cpuHasAVX2FMA || Parallel(workers: 2).measuredPeakGFLOPS(rounds: 1) > 0)
    }
}
