import TestSupport
import Testing

@testable import DenseNetEngine

/// The AVX-512 one-pass dense-unit head (`FusedPointwise`, pointwise_avx512.c): relu(BN(x)) → 1×1 conv →
/// BN → relu for inference. Its sums run in another order than OpenBLAS's, so it is compared bit for bit
/// with a scalar reference that sums in its order, and with the op-by-op graph at float32 tolerance.
@Suite(.enabled(if: EngineConfiguration.cpuHasAVX2FMA && EngineConfiguration.cpuHasAVX512, "the CPU has no AVX-512"))
struct FusedPointwiseTests {
    /// A dense block of two units (BN → relu → 1×1 conv to `bottleneck` → BN → relu → 3×3 conv to 8 →
    /// Concatenate) on a 5×5 input of `channels`, its BatchNormalizations' four variables random; executors of
    /// the fused block (`configuration`) and of the op-by-op graph (AVX2 kernels: OpenBLAS for the 1×1).
    struct Block {
        let fused: Executor, plain: Executor
        let input: Int, output: Int
        let pointwiseKernels: [Variable]

        init(channels: Int, bottleneck: Int, configuration: EngineConfiguration = .default, workers: Int = 2) throws {
            let g = GraphBuilder(seed: 9)
            let x = g.input(shape: [5, 5, channels])
            var t = x
            var layers: [any Layer] = [], pointwise: [Conv2D] = []
            for _ in 0..<2 {
                let conv = Conv2D(filters: bottleneck, kernelSize: (1, 1), useBias: false)
                let unit: [any Layer] = [
                    BatchNormalization(), Activation(.relu), conv, BatchNormalization(), Activation(.relu),
                    Conv2D(filters: 8, kernelSize: (3, 3), padding: .same, useBias: false)
                ]
                var h = t
                for layer in unit { h = try layer.call([h], in: g) }
                t = try Concatenate().call([t, h], in: g)
                layers += unit
                pointwise.append(conv)
            }
            for (i, v) in layers.flatMap({ $0.ownVariables }).enumerated() where v.name != "kernel" {
                let range: ClosedRange<Float> = v.name == "moving_variance" ? 0.5...1.5 : v.name == "gamma" ? 0.8...1.2 : -0.2...0.2
                try v.setValues(randomFloats(v.count, seed: UInt64(40 + i), range: range))
            }
            let nodes = fuseDenseBlocks(g.nodes, keep: [t.id])
            fused = Executor(nodes: nodes, capacity: 8, parallel: Parallel(workers: workers), configuration: configuration)
            plain = Executor(
                nodes: g.nodes, capacity: 8, parallel: Parallel(workers: 2), configuration: EngineConfiguration(kernels: .avx2))
            input = x.id
            output = t.id
            pointwiseKernels = pointwise.map(\.kernel!)
        }

        var denseBlock: DenseBlockKernel { fused.kernels.compactMap { $0 as? DenseBlockKernel }.first! }

        /// Both executors' outputs for `images` (8 × 5 × 5 × channels floats) in `mode`.
        func outputs(_ images: [Float], batch: Int, mode: ForwardMode = .inference) -> (fused: [Float], plain: [Float]) {
            let size = fused.sizes[output] * batch
            var results: [[Float]] = []
            for ex in [fused, plain] {
                for i in images.indices { ex.outputs[input][i] = images[i] }
                ex.forward(batch: batch, mode: mode)
                results.append(Array(UnsafeBufferPointer(start: ex.outputs[output], count: size)))
            }
            return (results[0], results[1])
        }
    }

    /// relu(BN(x)) of `k` channels (rows `xs` apart) → 1×1 conv by `w[k, n]` (each sum from 0 in k's order, one
    /// FMA per product) → BN → relu, every other operation rounded: the pass's arithmetic in scalar Swift.
    func reference(
        _ x: [Float], xs: Int, rows: Int, head: BatchNormArithmetic, w: UnsafePointer<Float>, n: Int,
        after: BatchNormArithmetic
    ) -> [Float] {
        let k = head.c, beta = head.layer.beta!.data, outBeta = after.layer.beta!.data
        var y = [Float](repeating: 0, count: rows * n)
        for r in 0..<rows {
            let a = (0..<k).map { i in Swift.max((x[r * xs + i] - head.mean[i]) * head.scaling[i] + beta[i], 0) }
            for j in 0..<n {
                var sum: Float = 0
                for i in 0..<k { sum = sum.addingProduct(a[i], w[i * n + j]) }
                y[r * n + j] = Swift.max((sum - after.mean[j]) * after.scaling[j] + outBeta[j], 0)
            }
        }
        return y
    }

    /// The pass gives the reference's bits: 48 input channels (three 16-lane vectors) and 40 (a masked
    /// rest), two strips of 32 outputs, row counts below, at and beyond the 14-row microkernel and a
    /// 56-row panel, pieces of one strip (up to 196 rows) and of both (250), rows further apart than the
    /// channels; and a call on the first rows alone gives those rows' bits (pieces do not change them).
    @Test(arguments: [(40, 1), (40, 14), (40, 57), (48, 13), (48, 130), (48, 250)])
    func passIsTheOrderedFusedSum(channels: Int, rows: Int) throws {
        let block = try Block(channels: channels - 8, bottleneck: 64)
        let unit = block.denseBlock.units[1]
        let pointwise = try #require(unit.pointwise)
        #expect(unit.c == channels && pointwise.fusedKernels == 3)
        unit.normalization.useMovingStatistics()
        let xs = channels + 5, n = pointwise.conv.cout, ldy = n + 3
        var x = randomFloats(rows * xs, seed: 71, range: -2...2)
        x[0] = 0
        x[1] = -0.0
        let workspace = (0..<2).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: pointwise.workspacePerWorker) }
        defer { for p in workspace { p.deallocate() } }
        func run(rows: Int) -> [UInt32] {
            var y = [Float](repeating: .nan, count: rows * ldy)
            pointwise.forward(normalizing: x, stride: xs, with: unit.normalization, rows: rows, into: &y, stride: ldy, workspace: workspace)
            return (0..<rows).flatMap { r in y[r * ldy..<(r * ldy + n)].map(\.bitPattern) }
        }
        let whole = run(rows: rows)
        let expected = reference(
            x, xs: xs, rows: rows, head: unit.normalization, w: pointwise.conv.kernel.data, n: n,
            after: try #require(pointwise.outputNormalization))
        #expect(whole == expected.map(\.bitPattern))
        let first = (rows + 1) / 2
        #expect(run(rows: first) == Array(whole.prefix(first * n)))
    }

    /// The training backward pass (pointwise_backward_avx512.c) for the second unit's 1×1 convolution from
    /// `channels` = 48 (a 32-column strip and a 16-column one per worker split) or 64 head channels, over
    /// rows below, at and beyond the 14-row block, and 2 600 rows, where TensorFlow's order sums the
    /// gradient's two halves apart (at 48 channels): the head's gradient is the ordered fused sum bit for
    /// bit; the normalization's sums are TensorFlowOrder.outerColumnSums of that gradient through the
    /// head's relu, bit for bit; the weight gradient is the float64 one at float32 rounding; one worker
    /// gives every bit two do; new weights give their gradient (the pack follows them).
    @Test(arguments: [(48, 13), (48, 14), (64, 57), (48, 2600)])
    func backwardIsTheOrderedFusedPass(channels: Int, rows: Int) throws {
        func run(workers: Int) throws -> (headGrad: [Float], sums: [SIMD4<Float>], weights: [Float]) {
            let block = try Block(channels: channels - 8, bottleneck: 64, workers: workers)
            let unit = block.denseBlock.units[1]
            let pointwise = try #require(unit.pointwise)
            #expect(unit.c == channels && pointwise.fusesBackward)
            let xs = channels + 5, n = pointwise.conv.cout
            var x = randomFloats(rows * xs, seed: 73, range: -2...2)
            x[0] = 0
            x[1] = -0.0
            unit.normalization.computeStatistics(x, stride: xs, rows: rows, mode: .training(updateStatistics: false))
            // an output of exactly 0 in row 2, channel 0: its relu passes nothing back (> 0, not ≥ 0)
            unit.normalization.layer.beta!.data[0] = 0
            x[2 * xs] = unit.normalization.mean[0]
            let dy = randomFloats(rows * n, seed: 74, range: -1...1)
            let workspace = (0..<workers).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: pointwise.workspacePerWorker) }
            defer { for p in workspace { p.deallocate() } }
            // twice: the second time after new weights (a stale pack of them would keep the old gradient)
            func pass() -> (headGrad: [Float], sums: [SIMD4<Float>], weights: [Float]) {
                var headGrad = [Float](repeating: .nan, count: rows * channels)
                let grad = pointwise.conv.kernel.grad
                grad.update(repeating: 0, count: pointwise.conv.kernel.count)
                pointwise.backward(
                    outputGrad: .stored(dy), normalizing: x, stride: xs, with: unit.normalization, rows: rows, into: &headGrad,
                    workspace: workspace)
                let weights = Array(UnsafeBufferPointer(start: grad, count: pointwise.conv.kernel.count))
                let sums = Array(UnsafeBufferPointer(start: unit.normalization.gradientSums, count: channels))
                // the references, from the same inputs
                let head = unit.normalization, w = pointwise.conv.kernel.data, beta = head.layer.beta!.data
                var expectedGrad = [Float](repeating: 0, count: rows * channels)
                var wide = [Double](repeating: 0, count: channels * n), magnitude = wide
                for r in 0..<rows {
                    for j in 0..<channels {
                        var g: Float = 0
                        for o in 0..<n { g = g.addingProduct(dy[r * n + o], w[j * n + o]) }
                        expectedGrad[r * channels + j] = g
                        let h = Double(Swift.max((x[r * xs + j] - head.mean[j]) * head.scaling[j] + beta[j], 0))
                        for o in 0..<n {
                            wide[j * n + o] += h * Double(dy[r * n + o])
                            magnitude[j * n + o] += abs(h * Double(dy[r * n + o]))
                        }
                    }
                }
                let differing = zip(headGrad, expectedGrad).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(differing == 0, "the head's gradient: \(differing) values differ")
                let expectedSums = UnsafeMutablePointer<SIMD4<Float>>.allocate(capacity: 2 * channels)
                defer { expectedSums.deallocate() }
                TensorFlowOrder.outerColumnSums(rows: rows, columns: channels, into: expectedSums, halves: expectedSums + channels) {
                    r, j in
                    let centered = x[r * xs + j] - head.mean[j]
                    let g = centered * head.scaling[j] + beta[j] > 0 ? expectedGrad[r * channels + j] : 0
                    return SIMD4(g, g * (centered * head.invStd[j]), g * centered, 0)
                }
                for j in 0..<channels {
                    let (a, b) = (sums[j], expectedSums[j])
                    #expect([a.x, a.y, a.z].map(\.bitPattern) == [b.x, b.y, b.z].map(\.bitPattern), "sums of channel \(j)")
                }
                let worst = zip(weights.indices, weights).map { e, v in abs(Double(v) - wide[e]) / Swift.max(magnitude[e], 1e-30) }.max()!
                #expect(worst < 2e-6, "weight gradient: relative difference \(worst)")
                return (headGrad, sums, weights)
            }
            _ = pass()
            try pointwise.conv.kernel.setValues(randomFloats(pointwise.conv.kernel.count, seed: 75, range: -0.5...0.5))
            return pass()
        }
        let two = try run(workers: 2), one = try run(workers: 1)
        #expect(zip(one.headGrad, two.headGrad).allSatisfy { $0.bitPattern == $1.bitPattern })
        #expect(zip(one.weights, two.weights).allSatisfy { $0.bitPattern == $1.bitPattern })
        #expect(one.sums.map { [$0.x, $0.y, $0.z].map(\.bitPattern) } == two.sums.map { [$0.x, $0.y, $0.z].map(\.bitPattern) })
        if rows == 2600 { #expect(TensorFlowOrder.outerColumnSumsFirstHalf(rows: rows, columns: channels) < rows) }
    }

    /// The bottleneck normalization's input gradient made inside the backward pass (`.normalizationInputGradient`)
    /// gives every bit that gradient stored gives: the head's gradient, its sums and the weight gradient. Rows
    /// below the 14-row block, beyond the 28-row chunk, and across three chunks; a ReLU output of exactly 0.
    @Test(arguments: [13, 29, 71])
    func normalizationInputGradientMadeInThePassGivesTheStoredBits(rows: Int) throws {
        let block = try Block(channels: 40, bottleneck: 64)
        let unit = block.denseBlock.units[1]
        let pointwise = try #require(unit.pointwise)
        let bottleneck = try #require(pointwise.outputNormalization)
        #expect(pointwise.fusedKernels == 3 && pointwise.fusesBackward)
        let xs = unit.c + 3, n = pointwise.conv.cout
        let x = randomFloats(rows * xs, seed: 81, range: -2...2)
        unit.normalization.computeStatistics(x, stride: xs, rows: rows, mode: .training(updateStatistics: false))
        var y = randomFloats(rows * n, seed: 82, range: -1...1)
        bottleneck.computeStatistics(y, stride: n, rows: rows, mode: .training(updateStatistics: false))
        bottleneck.layer.beta!.data[5] = 0
        y[n + 5] = bottleneck.mean[5]
        var reluOutput = [Float](repeating: .nan, count: rows * n)
        bottleneck.normalize(y, stride: n, into: &reluOutput, stride: n, rows: rows, relu: true)
        #expect(reluOutput[n + 5] == 0)
        let g = randomFloats(rows * n, seed: 83, range: -1...1)
        let workspace = (0..<2).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: pointwise.workspacePerWorker) }
        defer { for p in workspace { p.deallocate() } }
        func pass(makingIt: Bool) -> [[UInt32]] {
            var headGrad = [Float](repeating: .nan, count: rows * unit.c), dy = [Float](repeating: .nan, count: rows * n)
            let grad = pointwise.conv.kernel.grad
            grad.update(repeating: 0, count: pointwise.conv.kernel.count)
            for v in [bottleneck.layer.gamma!, bottleneck.layer.beta!] { v.grad.update(repeating: 0, count: v.count) }
            let outputGrad: FusedPointwise.OutputGradient
            if makingIt {
                bottleneck.backward(
                    x: y, stride: n, outputGrad: g, rows: rows, inputGrad: nil, stride: n, accumulate: false, relu: .output(reluOutput))
                outputGrad = .normalizationInputGradient(bottleneck.inputGradientOperands(x: y, outputGrad: g, relu: .output(reluOutput)))
            } else {
                bottleneck.backward(
                    x: y, stride: n, outputGrad: g, rows: rows, inputGrad: &dy, stride: n, accumulate: false, relu: .output(reluOutput))
                outputGrad = .stored(dy)
            }
            pointwise.backward(
                outputGrad: outputGrad, normalizing: x, stride: xs, with: unit.normalization, rows: rows, into: &headGrad,
                workspace: workspace)
            let sums = UnsafeBufferPointer(start: unit.normalization.gradientSums, count: unit.c).flatMap { [$0.x, $0.y, $0.z] }
            let normalizationGrads = [bottleneck.layer.gamma!, bottleneck.layer.beta!].map {
                Array(UnsafeBufferPointer(start: $0.grad, count: $0.count))
            }
            let results = [headGrad, sums, Array(UnsafeBufferPointer(start: grad, count: pointwise.conv.kernel.count))] + normalizationGrads
            return results.map { $0.map(\.bitPattern) }
        }
        let stored = pass(makingIt: false), made = pass(makingIt: true)
        for (name, (a, b)) in zip(["head gradient", "sums", "weight gradient", "gamma gradient", "beta gradient"], zip(made, stored)) {
            #expect(
                a.count == b.count && zip(a, b).allSatisfy { $0 == $1 },
                "\(name): \(zip(a, b).filter { $0 != $1 }.count) of \(a.count) differ")
        }
    }

    /// Inference through the fused block agrees with the op-by-op graph (OpenBLAS) at float32 tolerance, also
    /// after the 1×1 weights and the following BatchNormalization's statistics change (a stale pack of the
    /// weights would keep the old outputs); training-mode passes do not take it and stay bit-identical.
    @Test func inferenceAgreesWithOpByOpAndFollowsChangedWeights() throws {
        let block = try Block(channels: 24, bottleneck: 32)
        #expect(block.denseBlock.units.allSatisfy { $0.pointwise != nil })
        let batch = 3
        let images = randomFloats(8 * 5 * 5 * 24, seed: 72, range: -1...1)
        func agree(_ what: String) -> [Float] {
            let (fused, plain) = block.outputs(images, batch: batch)
            let worst = zip(fused, plain).map { abs($0 - $1) / Swift.max(1, abs($1)) }.max() ?? .nan
            #expect(worst <= 2e-5, "\(what): relative difference \(worst)")
            return fused
        }
        let before = agree("first call")
        #expect(agree("second call (the pack reused)") == before)
        for (i, w) in block.pointwiseKernels.enumerated() {
            try w.setValues(randomFloats(w.count, seed: UInt64(80 + i), range: -0.5...0.5))
        }
        let changed = agree("new 1×1 weights")
        #expect(changed != before)
        let bn = try #require(block.denseBlock.units[0].pointwise?.outputNormalization?.layer)
        try bn.movingMean!.setValues(randomFloats(bn.movingMean!.count, seed: 90))
        #expect(agree("new moving mean after the 1×1") != changed)
        let training = block.outputs(images, batch: batch, mode: .training(updateStatistics: false))
        #expect(training.fused.map(\.bitPattern) == training.plain.map(\.bitPattern))
    }

    /// The pass is taken only where it may round differently: AVX-512 kernels, TensorFlow-order sums, a
    /// bias-free linear 1×1 convolution to a multiple of 32 channels.
    @Test func takenOnlyWhereItFits() throws {
        #expect(try Block(channels: 24, bottleneck: 32).denseBlock.units[0].pointwise != nil)
        #expect(try Block(channels: 24, bottleneck: 48).denseBlock.units[0].pointwise == nil)
        #expect(try Block(channels: 24, bottleneck: 32, configuration: .init(kernels: .avx2)).denseBlock.units[0].pointwise == nil)
        #expect(try Block(channels: 24, bottleneck: 32, configuration: .init(summation: .float64)).denseBlock.units[0].pointwise == nil)
    }

    @Test func piecesFollowTheRowCountOnly() {
        #expect(FusedPointwise.rowsPerPiece(rows: 49) == 14)
        #expect(FusedPointwise.rowsPerPiece(rows: 196) == 56)
        #expect(FusedPointwise.rowsPerPiece(rows: 25088) == 112)
        #expect(FusedPointwise.rowsPerPiece(rows: 1) == 14)
        #expect(FusedPointwise.columnsPerPiece(rows: 49, columns: 128) == 64)
        #expect(FusedPointwise.columnsPerPiece(rows: 196, columns: 128) == 64)
        #expect(FusedPointwise.columnsPerPiece(rows: 197, columns: 128) == 128)
        #expect(FusedPointwise.columnsPerPiece(rows: 49, columns: 96) == 96)
    }
}
