import Testing
@testable import DenseNetEngine

@Suite struct OptimizerTests {
    /// Hand-computed Adam (tf-keras rule) for two steps on a 2-element variable, in Double.
    @Test func adamMatchesHandComputation() throws {
        let v = Variable(name: "kernel", shape: [2], trainable: true)
        try v.setValues([0.5, -1.0])
        let adam = Adam(variables: [v], parallel: Parallel(workers: 1))
        let grads: [[Double]] = [[0.1, -0.2], [0.3, 0.05]]
        var w = [0.5, -1.0], m = [0.0, 0.0], vv = [0.0, 0.0]
        for (t, g) in grads.enumerated() {
            for i in 0..<2 { v.grad[i] = Float(g[i]) }
            adam.step()
            let step = Double(t + 1)
            let alpha = 0.001 * (1 - pow(0.999, step)).squareRoot() / (1 - pow(0.9, step))
            for i in 0..<2 {
                m[i] += (g[i] - m[i]) * 0.1
                vv[i] += (g[i] * g[i] - vv[i]) * 0.001
                w[i] -= m[i] * alpha / (vv[i].squareRoot() + 1e-7)
            }
            for i in 0..<2 {
                #expect(abs(Double(v.data[i]) - w[i]) < 1e-7)
                #expect(abs(Double(adam.state.m[0][i]) - m[i]) < 1e-8)
                #expect(abs(Double(adam.state.v[0][i]) - vv[i]) < 1e-9)
            }
        }
        #expect(adam.iterations == 2)
        // first step moves each weight by ~lr * sign(g)
        #expect(abs(0.5 - 0.001 - (0.5 - 0.001)) < 1e-9)
    }

    @Test func adamFirstStepIsLearningRateTimesSign() throws {
        let v = Variable(name: "bias", shape: [3], trainable: true)
        let adam = Adam(variables: [v])
        v.grad[0] = 2; v.grad[1] = -0.01; v.grad[2] = 0
        adam.step()
        #expect(abs(v.data[0] + 0.001) < 1e-6)
        #expect(abs(v.data[1] - 0.001) < 1e-6)
        #expect(v.data[2] == 0)
    }

    @Test func adamStateRoundTrip() throws {
        let v = Variable(name: "kernel", shape: [4], trainable: true)
        let adam = Adam(variables: [v])
        for i in 0..<4 { v.grad[i] = Float(i) - 1.5 }
        adam.step(); adam.step()
        let s = adam.state
        let v2 = Variable(name: "kernel", shape: [4], trainable: true)
        try v2.setValues(v.values)
        let adam2 = Adam(variables: [v2])
        try adam2.setState(s)
        #expect(adam2.state == s)
        for i in 0..<4 { v2.grad[i] = 0.3; v.grad[i] = 0.3 }
        adam.step(); adam2.step()
        #expect(v.values == v2.values)
        #expect(throws: EngineError.self) { try adam2.setState(AdamState(iterations: 1, m: [[0]], v: [[0]])) }
    }

    /// Moving statistics: moving = momentum * moving + (1 - momentum) * batch_stat, with the
    /// Bessel-corrected variance (tf-keras fused kernel) or the biased one (Keras 3).
    @Test(arguments: [MovingVarianceUpdate.besselCorrected, .biased])
    func batchNormMovingStatistics(_ mode: MovingVarianceUpdate) throws {
        let bn = BatchNormalization(momentum: 0.9, movingVarianceUpdate: mode, name: "bn")
        let model = try Model(root: FunctionalModel(name: "m", nodes: [.init(bn, ["input_1"])], outputName: "bn"),
                              inputShape: [2, 1, 2])
        // batch 3 -> n = 6 values per channel
        let x: [Float] = [1, 10, 2, 20, 3, 30, 4, 40, 6, 60, 8, 80]
        _ = try model.predict(x, batchSize: 3, training: true, updateStatistics: true)
        for c in 0..<2 {
            let vals = stride(from: c, to: 12, by: 2).map { Double(x[$0]) }
            let mean = vals.reduce(0, +) / 6
            let biased = vals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 6
            let used = mode == .besselCorrected ? biased * 6 / 5 : biased
            #expect(abs(Double(bn.movingMean!.values[c]) - 0.1 * mean) < 1e-5 * max(1, mean))
            #expect(abs(Double(bn.movingVariance!.values[c]) - (0.9 + 0.1 * used)) < 1e-5 * max(1, used))
        }
        // inference mode does not touch the moving stats, training without update neither
        let before = bn.getWeights()
        _ = try model.predict(x, batchSize: 3)
        _ = try model.predict(x, batchSize: 3, training: true, updateStatistics: false)
        #expect(bn.getWeights() == before)
        // inference normalises with moving stats
        let y = try model.predict(x, batchSize: 3)
        let mm = bn.movingMean!.values, mv = bn.movingVariance!.values
        for i in 0..<12 {
            let c = i % 2
            #expect(abs(y[i] - (x[i] - mm[c]) / (mv[c] + 1e-3).squareRoot()) < 1e-4)
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
