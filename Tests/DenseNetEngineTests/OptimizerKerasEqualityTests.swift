import Foundation
import HDF5
import TestSupport
import Testing
@testable import DenseNetEngine

/// Every optimizer against real tf-keras 2.21 and Keras 3.15 (Fixtures/keras/generate_optimizer_fixtures.py:
/// optimizers_tfkeras.h5, optimizers_keras3.h5): the update rule alone on one variable, and the tiny
/// functional model of the checkpoint fixtures trained 5 steps, with the tolerances Adam's
/// KerasEqualityTests demand of densenet-mini.
@Suite struct OptimizerKerasEqualityTests {
    enum Generation: String, CaseIterable, Sendable {
        case tfKeras = "optimizers_tfkeras.h5", keras3 = "optimizers_keras3.h5"
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let generation: Generation
        let name: String
        let config: OptimizerConfig
        var testDescription: String { "\(name) (\(generation == .tfKeras ? "tf-keras" : "Keras 3"))" }
    }

    static let configs: [(String, OptimizerConfig)] = [
        ("sgd", .sgd(SGDConfig())), ("sgd_nesterov", .sgd(SGDConfig(momentum: 0.9, nesterov: true))),
        ("rmsprop", .rmsprop(RMSpropConfig())), ("rmsprop_centered", .rmsprop(RMSpropConfig(momentum: 0.9, centered: true))),
        ("adam", .adam(AdamConfig())), ("adamw", .adamW(AdamWConfig()))
    ]
    static let cases = Generation.allCases.flatMap { g in configs.map { Case(generation: g, name: $0.0, config: $0.1) } }

    /// The case's group (it keeps its file open).
    static func group(_ c: Case) throws -> Group {
        try File.open(KerasEqualityTests.dir.appendingPathComponent(c.generation.rawValue).path).root.group(c.name)
    }

    static func floats(_ g: Group, _ path: String) throws -> [Float] { try g.dataset(path).read(as: Float.self).scalars }
    static func arrays(_ g: Group, _ path: String) throws -> [[Float]] { try KerasEqualityTests.arrays(try g.group(path)).map(\.values) }

    /// The rule alone, 5 steps on 64 values (gradients from 1e-7 to 10, zeros among them): weights bit
    /// for bit but for at most 8 of 320 values, 1 ulp off; slots bit for bit, except centered RMSprop's,
    /// within 2e-5 of themselves. (Keras 3's stored `momentum` is then a few ulp from the
    /// lr·g/sqrt(v - a² + ε) it subtracts from the weights, which is ours; where TensorFlow's graph
    /// rounds the two differently was not pinned down.) tf-keras' XLA-compiled rules and Keras 3's give
    /// the same bits except RMSprop's 1/sqrt, 1 ulp apart on a few values.
    @Test(arguments: cases)
    func ruleMatchesKeras(_ c: Case) throws {
        let g = try Self.group(c)
        let variable = Variable(name: "w", shape: [64], trainable: true)
        try variable.setValues(try Self.floats(g, "rule/initial"))
        let gradients = try Self.floats(g, "rule/gradients"), values = try Self.floats(g, "rule/values")
        let stored = try g.contains("rule/slots") ? try g.group("rule/slots").childNames() : []
        // tf-keras' SGD keeps an `m` slot even without momentum; Keras 3 and the engine do not.
        #expect(Set(c.config.slotNames).isSubset(of: Set(stored)))
        #expect(Set(stored).subtracting(c.config.slotNames).isEmpty || (c.generation == .tfKeras && c.name == "sgd"))
        let slots = try c.config.slotNames.map { try Self.floats(g, "rule/slots/\($0)") }
        let optimizer = Optimizer(variables: [variable], config: c.config, parallel: Parallel(workers: 1))
        var weightsDiffering = 0, worstWeightUlps: Float = 0, slotsDiffering = 0, worstSlotRelative: Float = 0
        for step in 0..<5 {
            for e in 0..<64 { variable.grad[e] = gradients[step * 64 + e] }
            optimizer.step()
            let state = optimizer.state
            for e in 0..<64 {
                let (ours, theirs) = (variable.data[e], values[step * 64 + e])
                if ours != theirs { weightsDiffering += 1; worstWeightUlps = max(worstWeightUlps, abs(ours - theirs) / theirs.ulp) }
                for (slot, kerasSlot) in zip(state.slots, slots) where slot.values[0][e] != kerasSlot[step * 64 + e] {
                    slotsDiffering += 1
                    worstSlotRelative = max(
                        worstSlotRelative, abs(slot.values[0][e] - kerasSlot[step * 64 + e]) / abs(kerasSlot[step * 64 + e]))
                }
            }
        }
        print(
            "optimizer rule \(c.testDescription): weights \(weightsDiffering) of 320 differ (at most \(worstWeightUlps) ulp), "
                + "slots \(slotsDiffering) of \(320 * slots.count) (at most \(worstSlotRelative) relative)")
        #expect(weightsDiffering <= 8)
        #expect(worstWeightUlps <= 1)
        if case let .rmsprop(config) = c.config, config.centered {
            #expect(worstSlotRelative <= 2e-5)
        } else {
            #expect(slotsDiffering == 0)
        }
    }

    /// The tiny functional model of generate_checkpoint_fixtures.py, with Keras' initial weights.
    static func makeModel(_ c: Case, _ file: File) throws -> (Model, Trainer) {
        let variance: MovingVarianceUpdate = c.generation == .tfKeras ? .besselCorrected : .biased
        let model = try makeTinyFunctional(movingVarianceUpdate: variance, parallel: Parallel(workers: 1))
        try setWeights(
            model, trainable: try arrays(file.root, "initial/trainable"), nonTrainable: try arrays(file.root, "initial/non_trainable"))
        return (model, try Trainer(model: model, optimizer: c.config, batchSize: 8))
    }

    static func nonTrainable(_ model: Model) -> [Variable] { model.weights.filter { !$0.isTrainable } }

    static func setWeights(_ model: Model, trainable: [[Float]], nonTrainable: [[Float]]) throws {
        for (v, values) in zip(model.trainableVariables + Self.nonTrainable(model), trainable + nonTrainable) { try v.setValues(values) }
    }

    static func batches(_ file: File) throws -> (images: [[Float]], labels: [[Int]]) {
        let images = try floats(file.root, "batches/images"), labels = try file.root.dataset("batches/labels").read(as: Int64.self).scalars
        return ((0..<5).map { Array(images[$0 * 512..<($0 + 1) * 512]) }, (0..<5).map { labels[$0 * 8..<($0 + 1) * 8].map { Int($0) } })
    }

    /// Keras' weights, moving statistics, slots and step count after a step.
    struct Snapshot {
        let trainable: [[Float]], nonTrainable: [[Float]], slots: [OptimizerSlot], iterations: Int64
        init(_ g: Group, _ config: OptimizerConfig) throws {
            trainable = try OptimizerKerasEqualityTests.arrays(g, "trainable")
            nonTrainable = try OptimizerKerasEqualityTests.arrays(g, "non_trainable")
            slots = try config.slotNames.map { OptimizerSlot(name: $0, values: try OptimizerKerasEqualityTests.arrays(g, "slots/\($0)")) }
            iterations = try g.dataset("iterations").read(as: Int64.self).scalars[0]
        }

        /// Largest differences from `trainer`'s: over weights and slots, split into elements whose
        /// Keras gradient was >= 1e-5 in every step of `steps` (signal) and the others (noise: the
        /// gradients of the conv bias before BatchNormalization are rounding noise, and Adam and
        /// RMSprop turn any gradient into a step of about lr); and the moving statistics.
        func differences(_ trainer: Trainer, keras: Group, steps: ClosedRange<Int>) throws -> (
            signal: Float, noise: Float, statistics: Float
        ) {
            let gradients = try steps.map { try OptimizerKerasEqualityTests.arrays(keras, "train/gradients/\($0)") }
            let state = trainer.optimizer.state
            var signal: Float = 0, noise: Float = 0
            for (v, variable) in trainer.model.trainableVariables.enumerated() {
                let ours = [variable.values] + state.slots.map { $0.values[v] }, theirs = [trainable[v]] + slots.map { $0.values[v] }
                for (a, b) in zip(ours, theirs) {
                    for e in a.indices {
                        let d = abs(a[e] - b[e])
                        if gradients.allSatisfy({ abs($0[v][e]) >= 1e-5 }) { signal = max(signal, d) } else { noise = max(noise, d) }
                    }
                }
            }
            return (
                signal, noise,
                KerasEqualityTests.maxDiff(OptimizerKerasEqualityTests.nonTrainable(trainer.model).map(\.values), nonTrainable)
            )
        }
    }

    /// One step from Keras' initial weights: loss <= 1e-6; weights and slots <= 1e-5 where Keras'
    /// gradient |g| >= 1e-5, <= 1e-4 elsewhere; moving statistics <= 1e-7 (Adam's densenet-mini bounds).
    @Test(arguments: cases)
    func firstStepMatches(_ c: Case) throws {
        let g = try Self.group(c)
        let (_, trainer) = try Self.makeModel(c, g.file)
        let (images, labels) = try Self.batches(g.file)
        let loss = try trainer.trainStep(images: images[0], labels: labels[0])
        let keras = try Snapshot(try g.group("train/step1"), c.config)
        let d = try keras.differences(trainer, keras: g, steps: 1...1)
        let kerasLoss = try Self.floats(g, "train/losses")[0]
        print(
            "optimizer \(c.testDescription) step 1: loss \(abs(loss - kerasLoss)), signal \(d.signal), noise \(d.noise), statistics \(d.statistics)"
        )
        #expect(trainer.optimizer.iterations == keras.iterations)
        #expect(abs(loss - kerasLoss) <= 1e-6)
        #expect(d.signal <= 1e-5)
        #expect(d.noise <= 1e-4)
        #expect(d.statistics <= 1e-7)
    }

    /// Steps 2-5 from Keras' own step-1 state: losses, moving statistics, and weights and slots where
    /// Keras' gradients stay >= 1e-5 <= 1e-5; the noise elements <= 2e-3 (the trajectory bound).
    @Test(arguments: cases)
    func stepsTwoToFiveFromKerasState(_ c: Case) throws {
        let g = try Self.group(c)
        let (model, trainer) = try Self.makeModel(c, g.file)
        let (images, labels) = try Self.batches(g.file)
        let step1 = try Snapshot(try g.group("train/step1"), c.config)
        try Self.setWeights(model, trainable: step1.trainable, nonTrainable: step1.nonTrainable)
        try trainer.optimizer.setState(OptimizerState(iterations: step1.iterations, slots: step1.slots))
        let losses = try (1..<5).map { try trainer.trainStep(images: images[$0], labels: labels[$0]) }
        let keras = try Snapshot(try g.group("train/step5"), c.config)
        let d = try keras.differences(trainer, keras: g, steps: 2...5)
        let dLoss = KerasEqualityTests.maxDiff(losses, Array(try Self.floats(g, "train/losses")[1...]))
        print(
            "optimizer \(c.testDescription) steps 2-5 from Keras' state: losses \(dLoss), signal \(d.signal), noise \(d.noise), statistics \(d.statistics)"
        )
        #expect(trainer.optimizer.iterations == keras.iterations)
        #expect(dLoss <= 1e-5)
        #expect(d.signal <= 1e-5)
        #expect(d.noise <= 2e-3)
        #expect(d.statistics <= 1e-5)
    }

    /// Our own 5 steps from the initial weights: losses, weights, moving statistics and slots <= 2e-3.
    @Test(arguments: cases)
    func fiveStepTrajectory(_ c: Case) throws {
        let g = try Self.group(c)
        let (_, trainer) = try Self.makeModel(c, g.file)
        let (images, labels) = try Self.batches(g.file)
        let losses = try (0..<5).map { try trainer.trainStep(images: images[$0], labels: labels[$0]) }
        let keras = try Snapshot(try g.group("train/step5"), c.config)
        let d = try keras.differences(trainer, keras: g, steps: 1...5)
        let dLoss = KerasEqualityTests.maxDiff(losses, try Self.floats(g, "train/losses"))
        print("optimizer \(c.testDescription) 5 steps: losses \(dLoss), signal \(d.signal), noise \(d.noise), statistics \(d.statistics)")
        #expect(trainer.optimizer.iterations == keras.iterations)
        #expect(dLoss <= 2e-3)
        #expect(max(d.signal, d.noise, d.statistics) <= 2e-3)
    }

    /// `optimizer.variables` as Keras lists them: the counter (Keras 3: and the learning rate), then the
    /// slots in `kerasSlotOrder`, named `<Class>/<m|v|momentum|velocity|average_gradient>/<var>:0` by
    /// tf-keras and `<optimizer>/<var path with _>_<slot>` by Keras 3.
    @Test(arguments: cases)
    func variableOrderMatchesKeras(_ c: Case) throws {
        let g = try Self.group(c)
        let names = try g.attributes.stringArray("variables"), variables = try g.attributes.stringArray("trainable_names")
        let slotNames = c.config.slotNames
        let pairs = c.config.kerasSlotOrder.pairs(slots: slotNames.count, variables: variables.count)
        let expected: [String]
        switch c.generation {
        case .tfKeras:
            let tfKerasSlot = [
                "momentum": c.name.hasPrefix("rmsprop") ? "momentum" : "m", "velocity": c.name.hasPrefix("adam") ? "v" : "velocity",
                "average_gradient": "average_gradient"
            ]
            // tf-keras' SGD keeps `m` even with momentum 0
            let slots = c.name == "sgd" ? ["momentum"] : slotNames
            let tfPairs = c.config.kerasSlotOrder.pairs(slots: slots.count, variables: variables.count)
            expected =
                ["iteration:0"] + tfPairs.map { "\(c.config.kerasClassName)/\(tfKerasSlot[slots[$0.slot]]!)/\(variables[$0.variable])" }
        case .keras3:
            let prefix = String(names[0].split(separator: "/")[0])
            expected =
                ["\(prefix)/iteration", "\(prefix)/learning_rate"]
                + pairs.map { "\(prefix)/\(variables[$0.variable].replacingOccurrences(of: "/", with: "_"))_\(slotNames[$0.slot])" }
        }
        #expect(names == expected)
    }
}
