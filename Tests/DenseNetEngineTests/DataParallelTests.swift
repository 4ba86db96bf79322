import DenseNetEngine
import Foundation
import TestSupport
import Testing

/// Data-parallel training through the engine's `Collective` (ranks as threads of one process, no
/// MPI): the same global batch and seed give the one-process run's per-step losses, weights and
/// moving statistics — synchronised BatchNormalization included — within 1e-5 relative on
/// densenet-mini.
@Suite(.serialized) struct DataParallelTests {
    /// Images whose class brightens its own band of rows, labels cycling through the classes.
    static func data(count: Int, shape: [Int], classes: Int) -> LabeledImages {
        var random = SplitMix64(seed: 11)
        let size = shape.reduce(1, *), rows = shape[0]
        var images: [Float] = []
        for n in 0..<count {
            for i in 0..<size {
                let band = (i / (size / rows)) * classes / rows == n % classes
                images.append(Float(random.next() % 1000) / 1000 + (band ? 1 : 0))
            }
        }
        return try! LabeledImages(images: images, labels: (0..<count).map { $0 % classes }, sampleShape: shape)
    }

    /// One epoch on `processes` ranks: each step's loss, then every weight (moving statistics
    /// included) and the test pass's loss and accuracy, as rank 0 sees them; every rank's weights
    /// are checked equal.
    static func train(
        processes: Int, batchSize: Int, optimizer: OptimizerConfig, data: LabeledImages,
        build: @escaping @Sendable () throws -> Model
    ) throws -> (losses: [Float], weights: [[Float]], test: [Double]) {
        let world = ThreadWorld(size: processes)
        let ranks = try world.run { collective in
            let model = try build()
            model.collective = collective
            let trainer = try Trainer(model: model, optimizer: optimizer, batchSize: batchSize, shuffleSeed: 5)
            var losses: [Float] = []
            _ = try trainer.trainEpoch(data) { event in
                losses.append(event.batchLoss)
                return .continue
            }
            try model.checkWeightsAgree()
            let test = try trainer.evaluate(data.prefix(data.count / 2))
            return (losses, model.root.getWeights(), [test.loss, test.accuracy])
        }
        return ranks[0]
    }

    /// ‖a − b‖ / ‖a‖ over all weights end to end (moving statistics included). Weight by weight the
    /// ratio is not a measure: a bias or beta whose gradient cancels to nearly nothing (a convolution's
    /// bias before a batch normalization) is all rounding.
    static func relativeDifference(_ a: [[Float]], _ b: [[Float]]) -> Double {
        var difference = 0.0, norm = 0.0
        for (x, y) in zip(a, b) {
            for (u, v) in zip(x, y) {
                difference += Double(u - v) * Double(u - v)
                norm += Double(u) * Double(u)
            }
        }
        return (difference / Swift.max(norm, Double.leastNormalMagnitude)).squareRoot()
    }

    /// Per-step losses, the weights (‖a − b‖ / ‖a‖) and the test loss within `tolerance`
    /// relative; measured on densenet-mini below with Adam: losses 9.2e-7 and weights 1.3e-6 on 2
    /// ranks, 8.3e-7 and 1.4e-6 on 3.
    static func expectSameRun(
        processes: Int, batchSize: Int, optimizer: OptimizerConfig = .adam(AdamConfig()), tolerance: Double = 1e-5,
        data: LabeledImages, build: @escaping @Sendable () throws -> Model
    ) throws {
        let one = try train(processes: 1, batchSize: batchSize, optimizer: optimizer, data: data, build: build)
        let many = try train(processes: processes, batchSize: batchSize, optimizer: optimizer, data: data, build: build)
        #expect(one.losses.count == many.losses.count)
        let lossDifference = zip(one.losses, many.losses).map { abs($0 - $1) / abs($0) }.max() ?? 1
        let weightDifference = relativeDifference(one.weights, many.weights)
        print(
            "data-parallel on \(processes), \(optimizer.kerasClassName): per-step loss within \(lossDifference), weights within \(weightDifference), test loss within \(abs(one.test[0] - many.test[0]) / abs(one.test[0])) relative"
        )

        #expect(Double(lossDifference) <= tolerance)
        #expect(weightDifference <= tolerance)
        #expect(abs(one.test[0] - many.test[0]) <= tolerance * abs(one.test[0]))
        #expect(one.test[1] == many.test[1])
        // Training moved every weight: a run that ignored the others' gradients could not pass.
        #expect(one.weights != (try build().root.getWeights()))
    }

    @Test func denseNetMiniOnTwoAndThreeRanksEqualsOneProcess() throws {
        let data = Self.data(count: 90, shape: [16, 16, 1], classes: 10)
        let build: @Sendable () throws -> Model = {
            try ModelPreset.named("densenet-mini").build(inputShape: [16, 16, 1], seed: 2, parallel: Parallel(workers: 1))
        }
        // 90 samples in batches of 20: the last batch (10) splits unevenly on 3 ranks.
        try Self.expectSameRun(processes: 2, batchSize: 20, data: data, build: build)
        try Self.expectSameRun(processes: 3, batchSize: 20, data: data, build: build)
    }

    /// One SGD step, compared by the step the weights took (SGD's step is the gradient's multiple).
    /// Measured: loss 2.8e-5, step 2.6e-3 relative — far more than densenet-mini's rounding. At
    /// 32×32 the last dense block sees 1×1 pixels, four rows per batch normalization (ε = 1.001e-5),
    /// which is ill-conditioned; whether that explains all of it is not established (issue #20).
    @Test func denseNet121OnTwoRanksTakesTheOneProcessStep() throws {
        let data = Self.data(count: 4, shape: [32, 32, 3], classes: 4)
        let build: @Sendable () throws -> Model = {
            try Model(
                root: DenseNetApplication.densenet121(inputShape: [32, 32, 3], classes: 4), inputShape: [32, 32, 3], seed: 2,
                parallel: Parallel(workers: 1))
        }
        let initial = try build().root.getWeights()
        func steps(_ run: (losses: [Float], weights: [[Float]], test: [Double])) -> [[Float]] {
            zip(run.weights, initial).map { zip($0, $1).map { $0 - $1 } }
        }
        let sgd = OptimizerConfig.sgd(SGDConfig(learningRate: 0.01))
        let one = try Self.train(processes: 1, batchSize: 4, optimizer: sgd, data: data, build: build)
        let two = try Self.train(processes: 2, batchSize: 4, optimizer: sgd, data: data, build: build)
        let lossDifference = abs(one.losses[0] - two.losses[0]) / one.losses[0]
        let stepDifference = Self.relativeDifference(steps(one), steps(two))
        print("DenseNet-121 on 2: loss within \(lossDifference), each weight's step within \(stepDifference) relative")
        #expect(lossDifference <= 1e-4)
        #expect(stepDifference <= 1e-2)
    }

    @Test func aBatchTooSmallToShareIsRefusedBeforeTheFirstStep() throws {
        let data = Self.data(count: 21, shape: [16, 16, 1], classes: 10)
        let world = ThreadWorld(size: 2)
        let errors = try world.run { collective in
            let model = try ModelPreset.named("densenet-mini").build(inputShape: [16, 16, 1], parallel: Parallel(workers: 1))
            model.collective = collective
            let trainer = try Trainer(model: model, batchSize: 10)
            do { _ = try trainer.trainEpoch(data) } catch { return "\(error)" }
            return ""
        }
        #expect(errors.allSatisfy { $0.contains("the last batch of 21 samples in batches of 10 has 1") }, "\(errors)")
    }

    @Test func differingWeightsNameTheRankAndTheWeight() throws {
        let world = ThreadWorld(size: 3)
        let errors = try world.run { collective in
            let model = try ModelPreset.named("densenet-mini").build(inputShape: [16, 16, 1], parallel: Parallel(workers: 1))
            model.collective = collective
            if collective.rank == 2 { model.trainableVariables[3].data[0] += 1 }
            do { try model.checkWeightsAgree() } catch { return "\(error)" }
            return ""
        }
        #expect(errors.allSatisfy { $0.hasPrefix("weights differ between ranks: rank 2's") }, "\(errors)")
    }

    @Test func theFirstFailingRankSpeaksForAll() throws {
        let failures = try ThreadWorld(size: 3).run { collective in
            collective.firstFailure(collective.rank == 0 ? nil : "no data on rank \(collective.rank)")
        }
        #expect(failures.allSatisfy { $0?.rank == 1 && $0?.message == "no data on rank 1" })
        #expect(try ThreadWorld(size: 2).run { $0.ranksDisagreeing(with: UInt64($0.rank)) } == [[1], [1]])
    }
}
