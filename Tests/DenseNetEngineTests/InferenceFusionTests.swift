import TestSupport
import Testing

@testable import DenseNetEngine

/// DenseNet's transitions and stem in inference (`InferenceFusion`): a transition (BatchNormalization →
/// ReLU → 1×1 convolution → 2×2 average pooling) runs pooled before its convolution, the stem as a direct
/// strided convolution with its normalization, then one pooling pass: the same functions, rounded differently.
@Suite struct InferenceFusionTests {
    /// The transition's graph on `shape` images, its normalization's statistics and the input random.
    func transition(
        _ shape: [Int], filters: Int, batch: Int, configuration: EngineConfiguration = .default
    ) throws -> (GradientCheck, BatchNormalization, Conv2D) {
        let bn = BatchNormalization(epsilon: 1.001e-5)
        let conv = Conv2D(filters: filters, kernelSize: (1, 1), useBias: false)
        let gc = try GradientCheck(inputShape: shape, batch: batch, mode: .inference, configuration: configuration) { g, x in
            let normalized = try Activation(.relu).call([bn.call([x], in: g)], in: g)
            return try AveragePooling2D().call([conv.call([normalized], in: g)], in: g)
        }
        try randomize(bn, channels: shape[2])
        gc.setInput(randomFloats(batch * product(shape), seed: 5))
        return (gc, bn, conv)
    }

    /// Random gamma, beta and moving statistics.
    func randomize(_ bn: BatchNormalization, channels c: Int) throws {
        for (v, seed, range) in [
            (bn.gamma!, 1, Float(0.5)...1.5), (bn.beta!, 2, -0.5...0.5), (bn.movingMean!, 3, -0.5...0.5),
            (bn.movingVariance!, 4, 0.2...2)
        ] as [(Variable, UInt64, ClosedRange<Float>)] {
            try v.setValues(randomFloats(c, seed: seed, range: range))
        }
    }

    /// relu(BN(v)) of channel j in float64, inference.
    func head(_ v: Float, _ bn: BatchNormalization, _ j: Int) -> Double {
        let normalized =
            (Double(v) - Double(bn.movingMean!.data[j])) / (Double(bn.movingVariance!.data[j]) + Double(bn.epsilon)).squareRoot()
        return max(normalized * Double(bn.gamma!.data[j]) + Double(bn.beta!.data[j]), 0)
    }

    /// The largest difference from `want`, relative where |want| > 1.
    func worstDifference(_ got: UnsafePointer<Float>, _ want: [Double]) -> Double {
        want.indices.map { abs(Double(got[$0]) - want[$0]) / max(1, abs(want[$0])) }.max()!
    }

    /// Keras' order in float64: relu(BN(x)) → 1×1 convolution → the mean of each 2×2 window.
    func expected(_ gc: GradientCheck, _ bn: BatchNormalization, _ conv: Conv2D, shape: [Int], batch: Int) -> [Double] {
        let (h, w, c, f) = (shape[0], shape[1], shape[2], conv.filters)
        let x = gc.input, kernel = conv.kernel!.data
        var out: [Double] = []
        for n in 0..<batch {
            for oy in 0..<(h / 2) {
                for ox in 0..<(w / 2) {
                    for o in 0..<f {
                        var sum = 0.0
                        for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                            for j in 0..<c {
                                sum += head(x[((n * h + 2 * oy + dy) * w + 2 * ox + dx) * c + j], bn, j) * Double(kernel[j * f + o])
                            }
                        }
                        out.append(sum / 4)
                    }
                }
            }
        }
        return out
    }

    /// Even and odd sizes (`valid` pooling drops the last row and column), a batch of 8 (whole images)
    /// and of 1 (bands of pooled rows): inference takes the fused path and computes the transition.
    @Test(arguments: [([12, 10, 16], 24), ([13, 11, 8], 16), ([28, 28, 32], 16)])
    func inferenceComputesTheTransitionPooledFirst(shape: [Int], filters: Int) throws {
        for batch in [8, 1] {
            let (gc, bn, conv) = try transition(shape, filters: filters, batch: batch)
            #expect(gc.ex.inferenceFusions.compactMap { $0 as? PooledTransition }.count == 1)
            let convNode = gc.outID - 1
            gc.ex.outputs[convNode].update(repeating: .nan, count: batch * gc.ex.sizes[convNode])
            gc.ex.forward(batch: batch, mode: .inference)
            #expect(gc.ex.outputs[convNode][0].isNaN, "the convolution's own output is never written")
            let want = expected(gc, bn, conv, shape: shape, batch: batch)
            #expect(worstDifference(gc.ex.outputs[gc.outID], want) < 2e-6, "\(shape), batch \(batch)")
        }
    }

    /// Training runs a transition's nodes in their own order and rounding, skipping only passes that change no
    /// bit (`TrainingFusion`): the ReLU's (the normalization writes its output; the normalization's own output
    /// is never written) and three quarters of the convolution's input-gradient GEMM. Every output and gradient
    /// has the bits of an executor that never fused, with even sizes and odd ones (the pooling drops the last
    /// row and column, whose gradient is zero).
    @Test(arguments: [([12, 10, 16], 24), ([13, 11, 8], 16)])
    func trainingGivesTheBitsOfTheNodesOneByOne(shape: [Int], filters: Int) throws {
        let (gc, _, _) = try transition(shape, filters: filters, batch: 4)
        let normalizationNode = gc.outID - 3
        gc.ex.outputs[normalizationNode].update(repeating: .nan, count: 4 * gc.ex.sizes[normalizationNode])
        gc.ex.forward(batch: 4, mode: .training(updateStatistics: false))
        #expect(gc.ex.outputs[normalizationNode][0].isNaN, "the fused pass ran")
        try expectUnfusedGradients(gc, mode: .training(updateStatistics: false))
    }

    /// Where the convolution takes the portable kernels' direct path (8 filters), whose backward pass sums in
    /// another order than the input gradient's GEMM, training runs the transition node by node.
    @Test func aDirectConvolutionTrainsNodeByNode() throws {
        let (gc, _, _) = try transition([16, 16, 8], filters: 8, batch: 2, configuration: EngineConfiguration(kernels: .portable))
        let fusion = try #require(gc.ex.inferenceFusions.compactMap { $0 as? PooledTransition }.first)
        #expect(!fusion.fusesTraining)
        try expectUnfusedGradients(gc, mode: .training(updateStatistics: false))
    }

    /// A backward pass seeded inside a transition that training ran fused (at its convolution) runs the nodes'
    /// own backward passes on what the fused forward pass wrote: the gradients of an executor that never fused.
    @Test func backwardFromInsideAFusedTransitionRunsItsNodes() throws {
        let (gc, _, _) = try transition([12, 10, 16], filters: 24, batch: 2)
        try expectUnfusedGradients(gc, mode: .training(updateStatistics: false), seed: gc.outID - 1)
    }

    /// A backward pass after a fused inference-mode forward runs that forward pass again unfused first (the
    /// ReLU's mask, the max pooling's indices): every gradient has the bits of an executor that never fused.
    @Test func backwardAfterInferenceRunsTheFusedNodes() throws {
        let (transition, _, _) = try transition([6, 6, 8], filters: 8, batch: 2)
        try expectUnfusedGradients(transition)
        guard EngineConfiguration.default.usesAVX512 else { return }
        let bn = BatchNormalization()
        let stem = try GradientCheck(inputShape: [12, 10, 3], batch: 2, mode: .inference) { g, x in
            let padded = try ZeroPadding2D(padding: ((3, 3), (3, 3))).call([x], in: g)
            let conv = Conv2D(filters: 32, kernelSize: (7, 7), strides: (2, 2), useBias: false)
            let normalized = try Activation(.relu).call([bn.call([conv.call([padded], in: g)], in: g)], in: g)
            return try MaxPooling2D(poolSize: (3, 3), strides: (2, 2))
                .call([ZeroPadding2D(padding: ((1, 1), (1, 1))).call([normalized], in: g)], in: g)
        }
        try randomize(bn, channels: 32)
        stem.setInput(randomFloats(2 * 12 * 10 * 3, seed: 4))
        #expect(stem.ex.inferenceFusions.compactMap { $0 as? DirectStem }.count == 1)
        try expectUnfusedGradients(stem)
    }

    /// `gc`'s gradients after a forward pass in `mode` and a backward pass from `seed` (default: the output,
    /// its gradient `gc.r`, repeated for another node's), and in training its output, against an executor of
    /// the same nodes without fusions.
    func expectUnfusedGradients(_ gc: GradientCheck, mode: ForwardMode = .inference, seed: Int? = nil) throws {
        let seed = seed ?? gc.outID
        #expect(gc.ex.inferenceFusions.contains { $0 != nil })
        let unfused = Executor(
            nodes: gc.ex.nodes, capacity: gc.batch, parallel: Parallel(workers: 2), configuration: gc.ex.configuration,
            gradientForInputs: true, fusesNodes: false)
        let inputs = gc.batch * product(gc.inputShape)
        unfused.outputs[0].update(from: gc.input, count: inputs)
        var gradients: [[UInt32]] = []
        for ex in [gc.ex, unfused] {
            for v in gc.variables { v.grad.update(repeating: 0, count: v.count) }
            ex.forward(batch: gc.batch, mode: mode)
            let output = mode.isTraining ? UnsafeBufferPointer(start: ex.outputs[gc.outID], count: gc.r.count).map(\.bitPattern) : []
            for i in 0..<(gc.batch * ex.sizes[seed]) { ex.grads[seed]![i] = gc.r[i % gc.r.count] }
            ex.backward(batch: gc.batch, seed: seed)
            let input = UnsafeBufferPointer(start: ex.grads[0]!, count: inputs).map(\.bitPattern)
            gradients.append(output + input + gc.variables.flatMap { $0.gradient.map(\.bitPattern) })
        }
        let sameBits = gradients[0] == gradients[1]
        #expect(sameBits)
        #expect(gradients[0].contains { $0 != 0 }, "the gradients are not all zero")
    }

    /// A pooling that is not 2×2 at stride 2, or a convolution with a bias, keeps the nodes apart.
    @Test func otherShapesAreNotFused() throws {
        for (pool, bias) in [(AveragePooling2D(poolSize: (3, 3), strides: (2, 2)), false), (AveragePooling2D(), true)] {
            let gc = try GradientCheck(inputShape: [8, 8, 8], batch: 1, mode: .inference) { g, x in
                let normalized = try Activation(.relu).call([BatchNormalization().call([x], in: g)], in: g)
                return try pool.call([Conv2D(filters: 8, kernelSize: (1, 1), useBias: bias).call([normalized], in: g)], in: g)
            }
            #expect(gc.ex.inferenceFusions.allSatisfy { $0 == nil })
        }
    }

    /// The stem on an odd-sized image (a partial block of 14 output pixels, odd pooled sizes) at batch 8
    /// (whole images) and 1 (bands): the same bits, the function of the nodes, and only with AVX-512.
    @Test func stemRunsAsOneDirectPass() throws {
        let shape = [30, 26, 3], filters = 32
        let bn = BatchNormalization(epsilon: 1.001e-5)
        let conv = Conv2D(filters: filters, kernelSize: (7, 7), strides: (2, 2), useBias: false)
        func stem(batch: Int, configuration: EngineConfiguration = .default) throws -> GradientCheck {
            try GradientCheck(inputShape: shape, batch: batch, mode: .inference, configuration: configuration) { g, x in
                let padded = try ZeroPadding2D(padding: ((3, 3), (3, 3))).call([x], in: g)
                let normalized = try Activation(.relu).call([bn.call([conv.call([padded], in: g)], in: g)], in: g)
                return try MaxPooling2D(poolSize: (3, 3), strides: (2, 2))
                    .call([ZeroPadding2D(padding: ((1, 1), (1, 1))).call([normalized], in: g)], in: g)
            }
        }
        #expect(try stem(batch: 1, configuration: EngineConfiguration(kernels: .avx2)).ex.inferenceFusions.allSatisfy { $0 == nil })
        guard EngineConfiguration.default.usesAVX512 else { return }
        try randomize(bn, channels: filters)
        let images = randomFloats(8 * product(shape), seed: 9)
        var outputs: [[UInt32]] = []
        for batch in [8, 1] {
            let gc = try stem(batch: batch)
            #expect(gc.ex.inferenceFusions.compactMap { $0 as? DirectStem }.count == 1)
            gc.setInput(Array(images[0..<(batch * product(shape))]))
            gc.ex.forward(batch: batch, mode: .inference)
            let size = gc.ex.sizes[gc.outID]
            outputs.append(UnsafeBufferPointer(start: gc.ex.outputs[gc.outID], count: size).map(\.bitPattern))
            if batch == 8 { #expect(worstDifference(gc.ex.outputs[gc.outID], expectedStem(images, bn, conv)) < 2e-6) }
        }
        let sameBits = outputs[0] == outputs[1]
        #expect(sameBits, "image 0 in bands gives the whole image's bits")
    }

    /// The stem in Keras' order in float64, 8 images of 30×26×3: padded by 3, the 7×7 convolution at stride 2
    /// (15×13), relu(BN), padded by 1, 3×3 max pooling at stride 2 (8×7).
    func expectedStem(_ x: [Float], _ bn: BatchNormalization, _ conv: Conv2D) -> [Double] {
        let (h, w, f) = (30, 26, conv.filters), kernel = conv.kernel!.data
        func activation(_ n: Int, _ y: Int, _ xx: Int, _ o: Int) -> Double {
            guard (0..<15).contains(y), (0..<13).contains(xx) else { return 0 }
            var sum = 0.0
            for ky in 0..<7 {
                for kx in 0..<7 {
                    let iy = 2 * y + ky - 3, ix = 2 * xx + kx - 3
                    guard (0..<h).contains(iy), (0..<w).contains(ix) else { continue }
                    for c in 0..<3 { sum += Double(x[((n * h + iy) * w + ix) * 3 + c]) * Double(kernel[((ky * 7 + kx) * 3 + c) * f + o]) }
                }
            }
            return head(Float(sum), bn, o)
        }
        var out: [Double] = []
        for n in 0..<8 {
            for py in 0..<8 {
                for px in 0..<7 {
                    for o in 0..<f {
                        var m = -Double.infinity
                        for dy in 0..<3 { for dx in 0..<3 { m = max(m, activation(n, 2 * py + dy - 1, 2 * px + dx - 1, o)) } }
                        out.append(m)
                    }
                }
            }
        }
        return out
    }
}
