import Synchronization
import Testing
@testable import DenseNetEngine

/// Every update rule against a Double reference written from Keras' formulas, and the
/// optimizer's state handling.
@Suite struct OptimizerTests {
    static let start: [Double] = [0.5, -1.0, 2.0, 0.0]
    static let gradients: [[Double]] = [[0.1, -0.2, 0.0, 3.0], [0.3, 0.05, -1e-6, -2.0], [-0.4, 0.2, 0.5, 1e-3]]

    /// The reference: one step of `config` in Double on (weights, slots by name), at 1-based step `t`.
    /// Hyperparameters are first rounded to float32 as Keras casts them (`f`): with β₂ = 0.999,
    /// 1 − float32(β₂) is 1.3e-5 off 0.001, which moves Adam's first step by 6e-6 of itself.
    static func referenceStep(
        _ config: OptimizerConfig, _ w: inout [Double], _ slots: inout [String: [Double]],
        gradient g: [Double], t: Double
    ) {
        func f(_ x: Double) -> Double { Double(Float(x)) }
        let zeros = [Double](repeating: 0, count: w.count)
        for i in w.indices {
            switch config {
            case let .sgd(c):
                guard c.momentum != 0 else { w[i] -= f(c.learningRate) * g[i]; continue }
                let m = f(c.momentum) * slots["momentum", default: zeros][i] - f(c.learningRate) * g[i]
                slots["momentum", default: zeros][i] = m
                w[i] += c.nesterov ? f(c.momentum) * m - f(c.learningRate) * g[i] : m
            case let .rmsprop(c):
                let velocity = f(c.rho) * slots["velocity", default: zeros][i] + f(1 - c.rho) * g[i] * g[i]
                slots["velocity", default: zeros][i] = velocity
                var denominator = velocity + f(c.epsilon)
                if c.centered {
                    let average = f(c.rho) * slots["average_gradient", default: zeros][i] + f(1 - c.rho) * g[i]
                    slots["average_gradient", default: zeros][i] = average
                    denominator -= average * average
                }
                let increment = f(c.learningRate) * g[i] / denominator.squareRoot()
                if c.momentum > 0 {
                    let m = f(c.momentum) * slots["momentum", default: zeros][i] + increment
                    slots["momentum", default: zeros][i] = m
                    w[i] -= m
                } else {
                    w[i] -= increment
                }
            case .adam, .adamW:
                let (c, decay) = {
                    if case let .adamW(c) = config { return (c.adam, c.weightDecay) }
                    if case let .adam(c) = config { return (c, 0.0) }; fatalError()
                }()
                w[i] -= w[i] * f(decay) * f(c.learningRate)
                let m0 = slots["momentum", default: zeros][i], v0 = slots["velocity", default: zeros][i]
                let m = m0 + (g[i] - m0) * f(1 - c.beta1)
                let v = v0 + (g[i] * g[i] - v0) * f(1 - c.beta2)
                slots["momentum", default: zeros][i] = m
                slots["velocity", default: zeros][i] = v
                let alpha = f(c.learningRate) * (1 - pow(f(c.beta2), t)).squareRoot() / (1 - pow(f(c.beta1), t))
                w[i] -= m * alpha / (v.squareRoot() + f(c.epsilon))
            }
        }
    }

    static let configs: [OptimizerConfig] = [
        .sgd(SGDConfig()), .sgd(SGDConfig(learningRate: 0.1, momentum: 0.9)), .sgd(SGDConfig(momentum: 0.5, nesterov: true)),
        .rmsprop(RMSpropConfig()), .rmsprop(RMSpropConfig(momentum: 0.9, centered: true)), .rmsprop(RMSpropConfig(centered: true)),
        .adam(AdamConfig()), .adamW(AdamWConfig()), .adamW(AdamWConfig(learningRate: 0.01, weightDecay: 0.1))
    ]

    /// Three steps of each rule agree with the Double reference to float32 rounding (2e-6 of the
    /// distance travelled plus 4 ulp of the weight); the slots hold what the reference holds, under
    /// Keras 3's names.
    @Test(arguments: configs)
    func ruleMatchesDoubleReference(_ config: OptimizerConfig) throws {
        let variable = Variable(name: "kernel", shape: [4], trainable: true)
        try variable.setValues(Self.start.map { Float($0) })
        let optimizer = Optimizer(variables: [variable], config: config, parallel: Parallel(workers: 1))
        var w = Self.start, slots: [String: [Double]] = [:], travelled = [Double](repeating: 0, count: 4)
        for (t, g) in Self.gradients.enumerated() {
            let before = w
            for i in 0..<4 { variable.grad[i] = Float(g[i]) }
            optimizer.step()
            Self.referenceStep(config, &w, &slots, gradient: g, t: Double(t + 1))
            for i in 0..<4 {
                travelled[i] += abs(w[i] - before[i])
                let tolerance = 2e-6 * travelled[i] + 4 * Double(Float(w[i]).ulp)
                #expect(abs(Double(variable.data[i]) - w[i]) <= tolerance, "\(config) step \(t + 1) element \(i)")
            }
            let state = optimizer.state
            #expect(state.slots.map(\.name) == config.slotNames)
            #expect(Set(slots.keys) == Set(config.slotNames))
            for (name, values) in slots {
                for i in 0..<4 { #expect(abs(Double(state[name]![0][i]) - values[i]) <= 1e-6 * Swift.max(1, abs(values[i]))) }
            }
        }
        #expect(optimizer.iterations == 3)
    }

    /// Keras' slot kinds per configuration, and their order in `optimizer.variables`.
    @Test func slotNamesAndKerasOrder() {
        #expect(OptimizerConfig.sgd(SGDConfig()).slotNames == [])
        #expect(OptimizerConfig.sgd(SGDConfig(momentum: 0.9)).slotNames == ["momentum"])
        #expect(OptimizerConfig.rmsprop(RMSpropConfig()).slotNames == ["velocity"])
        #expect(
            OptimizerConfig.rmsprop(RMSpropConfig(momentum: 0.5, centered: true)).slotNames == ["velocity", "momentum", "average_gradient"])
        #expect(OptimizerConfig.adamW(AdamWConfig()).slotNames == ["momentum", "velocity"])
        let adamOrder = OptimizerConfig.adam(AdamConfig()).kerasSlotOrder.pairs(slots: 2, variables: 2)
        #expect(adamOrder.map { [$0.slot, $0.variable] } == [[0, 0], [1, 0], [0, 1], [1, 1]])
        let rmspropOrder = OptimizerConfig.rmsprop(RMSpropConfig()).kerasSlotOrder.pairs(slots: 2, variables: 2)
        #expect(rmspropOrder.map { [$0.slot, $0.variable] } == [[0, 0], [0, 1], [1, 0], [1, 1]])
    }

    /// The step runs all variables in one pass whose shares cross variables (total 70 016 elements:
    /// two shares, the boundary inside the third variable): the same bits as each variable stepped
    /// alone by one worker, and each variable counted as changed.
    @Test(arguments: configs)
    func sharesAcrossVariablesGiveEachVariablesOwnStep(_ config: OptimizerConfig) throws {
        let sizes = [1, 5, 40_000, 3, 30_000, 7]
        func variables() throws -> [Variable] {
            try sizes.enumerated().map { k, n in
                let v = Variable(name: "v\(k)", shape: [n], trainable: true)
                try v.setValues((0..<n).map { Float(($0 * 7 + k) % 23) / 11 - 1 })
                return v
            }
        }
        let together = try variables(), alone = try variables()
        let optimizer = Optimizer(variables: together, config: config, parallel: Parallel(workers: 2))
        let singles = alone.map { Optimizer(variables: [$0], config: config, parallel: Parallel(workers: 1)) }
        for step in 0..<2 {
            for (a, b) in zip(together, alone) {
                for e in 0..<a.count { a.grad[e] = Float((e * 13 + step) % 17) / 8 - 1; b.grad[e] = a.grad[e] }
            }
            let versions = together.map(\.version)
            optimizer.step()
            for single in singles { single.step() }
            #expect(zip(together, versions).allSatisfy { $0.version != $1 })
        }
        for (a, b) in zip(together, alone) { #expect(a.values == b.values, "\(a.name)") }
        #expect(
            optimizer.state.slots.map(\.values)
                == singles.map(\.state).reduce(into: [[[Float]]]()) { all, state in
                    for (k, slot) in state.slots.enumerated() {
                        if all.count <= k { all.append([]) }
                        all[k] += slot.values
                    }
                })
    }

    /// `forEachRange(ofArrays:)` gives each element of each array to exactly one call, empty arrays
    /// none, whatever the split.
    @Test(arguments: [1, 2, 3])
    func rangesOverArraysCoverEachElementOnce(workers: Int) {
        let counts = [0, 3, 0, 10, 1, 25, 0]
        let visits = UnsafeMutablePointer<Int>.allocate(capacity: counts.reduce(0, +))
        defer { visits.deallocate() }
        visits.initialize(repeating: 0, count: counts.reduce(0, +))
        let offsets = counts.indices.map { counts[..<$0].reduce(0, +) }
        let outside = Atomic<Int>(0)
        for minChunk in [1, 4, 13, 100] {
            Parallel(workers: workers).forEachRange(ofArrays: counts, minChunk: minChunk) { a, range in
                guard !range.isEmpty, range.upperBound <= counts[a] else {
                    outside.add(1, ordering: .relaxed)
                    return
                }
                for e in range { visits[offsets[a] + e] += 1 }
            }
        }
        #expect(outside.load(ordering: .relaxed) == 0)
        #expect(UnsafeBufferPointer(start: visits, count: counts.reduce(0, +)).allSatisfy { $0 == 4 })
    }

    @Test(arguments: configs)
    func stateRoundTripContinuesIdentically(_ config: OptimizerConfig) throws {
        let v = Variable(name: "kernel", shape: [4], trainable: true)
        let optimizer = Optimizer(variables: [v], config: config)
        for i in 0..<4 { v.grad[i] = Float(i) - 1.5 }
        optimizer.step(); optimizer.step()
        let v2 = Variable(name: "kernel", shape: [4], trainable: true)
        try v2.setValues(v.values)
        let restored = Optimizer(variables: [v2], config: config)
        try restored.setState(optimizer.state)
        #expect(restored.state == optimizer.state)
        for i in 0..<4 { v2.grad[i] = 0.3; v.grad[i] = 0.3 }
        optimizer.step(); restored.step()
        #expect(v.values == v2.values)
    }

    @Test func setStateAndReconfigureRejectOtherSlots() throws {
        let v = Variable(name: "kernel", shape: [4], trainable: true)
        let rmsprop = Optimizer(variables: [v], config: .rmsprop(RMSpropConfig()))
        let adamState = OptimizerState(
            iterations: 1,
            slots: [OptimizerSlot(name: "momentum", values: [[0, 0, 0, 0]]), OptimizerSlot(name: "velocity", values: [[0, 0, 0, 0]])])
        #expect(throws: EngineError.self) { try rmsprop.setState(adamState) }
        #expect(throws: EngineError.self) {
            try rmsprop.setState(OptimizerState(iterations: 1, slots: [OptimizerSlot(name: "velocity", values: [[0]])]))
        }
        #expect(throws: EngineError.self) { try rmsprop.setState(OptimizerState(iterations: -1, slots: [])) }
        #expect(throws: EngineError.self) { try rmsprop.reconfigure(.rmsprop(RMSpropConfig(momentum: 0.9))) }
        try rmsprop.reconfigure(.rmsprop(RMSpropConfig(learningRate: 0.01)))
        #expect(rmsprop.config.learningRate == 0.01)
        #expect(rmsprop.state.iterations == 0)
    }

    @Test func adamFirstStepMovesByTheLearningRate() throws {
        let v = Variable(name: "bias", shape: [3], trainable: true)
        let adam = Optimizer(variables: [v], config: .adam(AdamConfig()))
        v.grad[0] = 2; v.grad[1] = -0.01; v.grad[2] = 0
        adam.step()
        // the first step moves each weight by lr·sign(g)
        #expect(abs(v.data[0] + 0.001) < 1e-6)
        #expect(abs(v.data[1] - 0.001) < 1e-6)
        #expect(v.data[2] == 0)
        #expect(adam.state.slots.map(\.name) == ["momentum", "velocity"] && adam.state.iterations == 1)
    }

    /// Moving statistics: moving = momentum * moving + (1 - momentum) * batch_stat, with the
    /// Bessel-corrected variance (tf-keras fused kernel) or the biased one (Keras 3).
    @Test(arguments: [MovingVarianceUpdate.besselCorrected, .biased])
    func batchNormMovingStatistics(_ mode: MovingVarianceUpdate) throws {
        let bn = BatchNormalization(momentum: 0.9, movingVarianceUpdate: mode, name: "bn")
        let model = try Model(
            root: FunctionalModel(name: "m", nodes: [.init(bn, ["input_1"])], outputName: "bn"),
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
