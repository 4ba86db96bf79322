import Foundation
import HDF5
import Testing
import TestSupport
@testable import DenseNetEngine

/// BatchNormalization and bias gradients equal TensorFlow 2.21's CPU kernels bit for bit
/// (fixture: Fixtures/keras/generate_tensorflow_kernels.py — FusedBatchNormV3, FusedBatchNormGradV3
/// and BiasAddGrad on inputs rebuilt here from the same formula).
@Suite struct TensorFlowOrderTests {
    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Fixtures/keras/tensorflow_kernels.h5").standardizedFileURL.path

    /// x[i] = (i·7919 mod 1000)/250 + 1, dy[i] = (i·104729 mod 2001 − 1000)/500, as the generator.
    static func inputs(count: Int) -> (x: [Float], dy: [Float]) {
        (
            (0..<count).map { Float(($0 * 7919) % 1000) / 250 + 1 },
            (0..<count).map { Float(($0 * 104729) % 2001 - 1000) / 500 }
        )
    }

    /// The generator's checksum: the sum of the float32 bit patterns mod 2^32.
    static func checksum(_ values: [Float]) -> UInt32 {
        values.reduce(UInt32(0)) { $0 &+ $1.bitPattern }
    }

    static func floats(_ g: Group, _ name: String) throws -> [Float] { try g.dataset(name).read(as: Float.self).scalars }

    static let cases = ["packets_and_leftovers", "few_rows", "odd_rows", "split_halves", "wide", "tutorial_stem"]

    @Test(arguments: cases, EngineConfiguration.Kernels.allCases)
    func batchNormalizationAndBiasGradientsEqualTensorFlow(name: String, kernels: EngineConfiguration.Kernels) throws {
        let g = try File.open(Self.file).root.group(name)
        let shape = try g.dataset("shape").read(as: Int64.self).scalars.map(Int.init)
        let c = shape.last!, rows = shape.dropLast().reduce(1, *)
        let (x, dy) = Self.inputs(count: rows * c)
        let layer = BatchNormalization(epsilon: Double(try Self.floats(g, "epsilon")[0]))
        layer.build(channels: c)
        try layer.gamma!.setValues(try Self.floats(g, "gamma"))
        try layer.beta!.setValues(try Self.floats(g, "beta"))
        try layer.movingMean!.setValues(try Self.floats(g, "moving_mean_before"))
        try layer.movingVariance!.setValues(try Self.floats(g, "moving_variance_before"))
        let bn = BatchNormArithmetic(
            layer: layer, channels: c,
            spec: KernelSpec(
                inputShapes: [[rows, c]], outputShape: [rows, c], capacity: 1, parallel: Parallel(workers: 2),
                configuration: EngineConfiguration(kernels: kernels), collective: SingleProcess()))

        var y = [Float](repeating: 0, count: rows * c), dx = y
        x.withUnsafeBufferPointer { xp in
            bn.computeStatistics(xp.baseAddress!, stride: c, rows: rows, mode: .training(updateStatistics: true))
            y.withUnsafeMutableBufferPointer {
                bn.normalize(xp.baseAddress!, stride: c, into: $0.baseAddress!, stride: c, rows: rows, relu: false)
            }
            dy.withUnsafeBufferPointer { dyp in
                dx.withUnsafeMutableBufferPointer {
                    bn.backward(
                        x: xp.baseAddress!, stride: c, outputGrad: dyp.baseAddress!, rows: rows,
                        inputGrad: $0.baseAddress!, stride: c, accumulate: false)
                }
            }
        }
        let bits = { (a: [Float]) in a.map(\.bitPattern) }
        #expect(bits(Array(UnsafeBufferPointer(start: bn.mean, count: c))) == bits(try Self.floats(g, "batch_mean")))
        #expect(bits(Array(UnsafeBufferPointer(start: bn.variance, count: c))) == bits(try Self.floats(g, "batch_variance")))
        #expect(bits(layer.movingMean!.values) == bits(try Self.floats(g, "moving_mean")))
        #expect(bits(layer.movingVariance!.values) == bits(try Self.floats(g, "moving_variance")))
        #expect(bits(layer.beta!.gradient) == bits(try Self.floats(g, "dbeta")))

        let bias = Variable(name: "bias", shape: [c], trainable: true)
        dy.withUnsafeBufferPointer {
            BiasGradientSums(columns: c, float64Sums: nil).add($0.baseAddress!, rows: rows, to: bias.grad)
        }
        #expect(bits(bias.gradient) == bits(try Self.floats(g, "bias_grad")))

        // TensorFlow's rsqrt refines the CPU's estimate (rsqrtss): x86-64 CPUs of one vendor agree, so
        // what depends on it is bit-exact on a CPU like the fixture's and within float32 rounding elsewhere.
        let invStd = Array(UnsafeBufferPointer(start: bn.invStd, count: c))
        guard RecordingCPU.reproducesTensorFlowRsqrt else {
            #expect(maxRelativeDifference(invStd, try Self.floats(g, "rsqrt")) <= 1e-6)
            #expect(maxRelativeDifference(Array(y.prefix(64)), try Self.floats(g, "y_head")) <= 1e-5)
            #expect(maxRelativeDifference(Array(dx.prefix(64)), try Self.floats(g, "dx_head")) <= 1e-4)
            #expect(maxRelativeDifference(layer.gamma!.gradient, try Self.floats(g, "dgamma")) <= 1e-4)
            return
        }
        #expect(bits(invStd) == bits(try Self.floats(g, "rsqrt")))
        #expect(Self.checksum(y) == (try g.dataset("y_checksum").read(as: UInt32.self).scalars[0]))
        #expect(bits(Array(y.prefix(64))) == bits(try Self.floats(g, "y_head")))
        #expect(Self.checksum(dx) == (try g.dataset("dx_checksum").read(as: UInt32.self).scalars[0]))
        #expect(bits(Array(dx.prefix(64))) == bits(try Self.floats(g, "dx_head")))
        #expect(bits(layer.gamma!.gradient) == bits(try Self.floats(g, "dgamma")))
    }

    /// A ReLU's backward pass fused into the normalization's (`FollowingReLU.output`) gives the bits of the
    /// two passes one after the other, on every kernel path; channels 0..<16 and 32..<40 of rows
    /// 0 and 1 and the whole last channel pass no gradient (a fused pass that ignores the mask fails).
    @Test(arguments: EngineConfiguration.Kernels.allCases)
    func reluBackwardFusedIntoTheNormalizationGivesTheSameBits(kernels: EngineConfiguration.Kernels) throws {
        let rows = 37, c = 41
        let (x, dy) = Self.inputs(count: rows * c)
        var reluOutput = randomFloats(rows * c, seed: 5, range: 0...1)
        for r in 0..<2 { for j in Array(0..<16) + Array(32..<40) { reluOutput[r * c + j] = 0 } }
        for r in 0..<rows { reluOutput[r * c + c - 1] = 0 }
        let masked = zip(reluOutput, dy).map { $0 > 0 ? $1 : 0 }
        let separate = Self.normalizationBackward(kernels: kernels, x: x, gradient: masked, channels: c, relu: .none)
        #expect(Self.normalizationBackward(kernels: kernels, x: x, gradient: dy, channels: c, relu: .given(reluOutput)) == separate)
        #expect(Self.normalizationBackward(kernels: kernels, x: x, gradient: dy, channels: c, relu: .none) != separate)
    }

    /// The ReLU's signs made again from the normalization's input (`FollowingReLU.recomputed`, as the
    /// dense blocks take them) give the bits of reading the ReLU's output, on every kernel path, with a
    /// beta that moves some signs (a pass that ignored the mask, or beta, fails).
    @Test(arguments: EngineConfiguration.Kernels.allCases)
    func reluSignsRecomputedFromTheInputGiveTheSameBits(kernels: EngineConfiguration.Kernels) throws {
        let rows = 37, c = 41
        let (x, dy) = Self.inputs(count: rows * c)
        let beta = randomFloats(c, seed: 9, range: -1...1)
        let read = Self.normalizationBackward(kernels: kernels, x: x, gradient: dy, channels: c, beta: beta, relu: .ownOutput)
        let recomputed = Self.normalizationBackward(
            kernels: kernels, x: x, gradient: dy, channels: c, beta: beta, relu: .ownOutputRecomputed)
        let withoutBeta = Self.normalizationBackward(kernels: kernels, x: x, gradient: dy, channels: c, relu: .ownOutputRecomputed)
        let unmasked = Self.normalizationBackward(kernels: kernels, x: x, gradient: dy, channels: c, beta: beta, relu: .none)
        // compared outside #expect, which would print every bit pattern
        let (same, betaMatters, maskMatters) = (recomputed == read, withoutBeta != read, unmasked != read)
        #expect(same)
        #expect(betaMatters)
        #expect(maskMatters)
    }

    /// The AVX-512 statistics and gradient sums, which stream rows 64 at a time past the chains of up
    /// to 256 channels, give the other kernels' bits over several of each: 150 rows (two blocks, a part
    /// and two rows past the last packet of four) of 600 channels (two workers' 304 and 296: chunks of
    /// 256 and the rest), with and without the ReLU's mask.
    @Test(.enabled(if: EngineConfiguration.cpuHasAVX512, "the CPU has no AVX-512"))
    func sumsInRowBlocksAndChannelChunksGiveTheSameBits() {
        let rows = 150, c = 600
        let (x, dy) = Self.inputs(count: rows * c)
        let beta = randomFloats(c, seed: 11, range: -1...1)
        for relu in [ReLUCase.none, .ownOutputRecomputed] {
            let results = [EngineConfiguration.Kernels.automatic, .avx2].map {
                Self.normalizationBackward(kernels: $0, x: x, gradient: dy, channels: c, beta: beta, relu: relu)
            }
            let same = results[0] == results[1]  // compared outside #expect, which would print every bit pattern
            #expect(same, "\(relu)")
        }
    }

    /// A normalization that extends an earlier one's channels (a dense block's next unit) copies the
    /// statistics the earlier one took as it would take them, and gives the bits of taking them all
    /// itself: 13 channels before (packets of 8 and 5 summed row by row, which the 40-channel packets
    /// take in) and 16; 37 rows (packets) and 9 (row by row); both summations, every kernel path. The
    /// moving statistics too. Copying all 13 channels, or none of the new ones' sums, fails it.
    @Test(arguments: EngineConfiguration.Kernels.allCases, EngineConfiguration.Summation.allCases)
    func statisticsExtendingAnEarlierNormalizationGiveTheSameBits(
        kernels: EngineConfiguration.Kernels, summation: EngineConfiguration.Summation
    ) {
        let c = 40
        for (rows, earlierChannels) in [(37, 13), (37, 16), (9, 13)] {
            let (x, _) = Self.inputs(count: rows * c)
            func normalization(channels: Int) -> BatchNormArithmetic {
                let layer = BatchNormalization()
                layer.build(channels: channels)
                return BatchNormArithmetic(
                    layer: layer, channels: channels,
                    spec: KernelSpec(
                        inputShapes: [[rows, c]], outputShape: [rows, c], capacity: 1, parallel: Parallel(workers: 2),
                        configuration: EngineConfiguration(kernels: kernels, summation: summation),
                        collective: SingleProcess()))
            }
            let alone = normalization(channels: c), earlier = normalization(channels: earlierChannels)
            let extending = normalization(channels: c)
            x.withUnsafeBufferPointer {
                let x = $0.baseAddress!, mode = ForwardMode.training(updateStatistics: true)
                alone.computeStatistics(x, stride: c, rows: rows, mode: mode)
                earlier.computeStatistics(x, stride: c, rows: rows, mode: mode)
                extending.computeStatistics(x, stride: c, rows: rows, mode: mode, extending: earlier)
            }
            func bits(_ bn: BatchNormArithmetic) -> [[UInt32]] {
                [
                    Array(UnsafeBufferPointer(start: bn.mean, count: c)), Array(UnsafeBufferPointer(start: bn.variance, count: c)),
                    Array(UnsafeBufferPointer(start: bn.invStd, count: c)), bn.layer.movingMean!.values,
                    bn.layer.movingVariance!.values
                ].map { $0.map(\.bitPattern) }
            }
            let same = bits(extending) == bits(alone)  // compared outside #expect, which would print every bit pattern
            #expect(same, "\(rows) rows after \(earlierChannels) channels")
        }
    }

    /// How `normalizationBackward` passes a following ReLU: none, this output, or the normalization's own
    /// relu(BN(x)), read or made again.
    enum ReLUCase {
        case none, given([Float]), ownOutput, ownOutputRecomputed
    }

    /// BatchNormArithmetic's training backward pass (x's batch statistics, accumulating into a dx of 0.5):
    /// the bits of dx and the gamma and beta gradients.
    static func normalizationBackward(
        kernels: EngineConfiguration.Kernels, x: [Float], gradient: [Float], channels c: Int, beta: [Float]? = nil,
        relu: ReLUCase
    ) -> [[UInt32]] {
        let rows = x.count / c
        let layer = BatchNormalization()
        layer.build(channels: c)
        if let beta { try! layer.beta!.setValues(beta) }
        let bn = BatchNormArithmetic(
            layer: layer, channels: c,
            spec: KernelSpec(
                inputShapes: [[rows, c]], outputShape: [rows, c], capacity: 1, parallel: Parallel(workers: 2),
                configuration: EngineConfiguration(kernels: kernels), collective: SingleProcess()))
        var dx = [Float](repeating: 0.5, count: rows * c), output = [Float](repeating: 0, count: rows * c)
        x.withUnsafeBufferPointer { xp in
            let x = xp.baseAddress!
            bn.computeStatistics(x, stride: c, rows: rows, mode: .training(updateStatistics: false))
            output.withUnsafeMutableBufferPointer { bn.normalize(x, stride: c, into: $0.baseAddress!, stride: c, rows: rows, relu: true) }
            if case .ownOutput = relu { #expect(output.contains(0) && output.contains { $0 > 0 }) }
            let given: [Float] = if case .given(let values) = relu { values } else { output }
            gradient.withUnsafeBufferPointer { g in
                given.withUnsafeBufferPointer { y in
                    let following: FollowingReLU? =
                        switch relu {
                        case .none: nil
                        case .given, .ownOutput: .output(y.baseAddress!)
                        case .ownOutputRecomputed: .recomputed
                        }
                    dx.withUnsafeMutableBufferPointer {
                        bn.backward(
                            x: x, stride: c, outputGrad: g.baseAddress!, rows: rows,
                            inputGrad: $0.baseAddress!, stride: c, accumulate: true, relu: following)
                    }
                }
            }
        }
        return [dx, layer.gamma!.gradient, layer.beta!.gradient].map { $0.map(\.bitPattern) }
    }

    /// The largest |a − b| / max(|b|, 1e-3) over the elements (a count mismatch is infinite).
    func maxRelativeDifference(_ a: [Float], _ b: [Float]) -> Double {
        guard a.count == b.count else { return .infinity }
        return zip(a, b).map { abs(Double($0) - Double($1)) / max(abs(Double($1)), 1e-3) }.max() ?? 0
    }
}
