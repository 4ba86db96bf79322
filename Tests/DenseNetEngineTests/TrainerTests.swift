import Testing
@testable import DenseNetEngine

/// A small synthetic, learnable data set: each class has its own bright square position.
func syntheticDigits(count: Int, seed: UInt64) throws -> LabeledImages {
    var g = SplitMix64(seed: seed)
    var images = [Float](repeating: 0, count: count * 784), labels = [Int]()
    for n in 0..<count {
        let label = g.nextInt(below: 10)
        labels.append(label)
        let oy = 2 + (label / 5) * 12, ox = 2 + (label % 5) * 5
        for y in 0..<8 { for x in 0..<4 { images[n * 784 + (oy + y) * 28 + ox + x] = 0.5 + 0.5 * g.nextUnitFloat() } }
        for i in 0..<784 { images[n * 784 + i] += 0.1 * g.nextUnitFloat() }
    }
    return try LabeledImages(images: images, labels: labels, sampleShape: [28, 28, 1])
}

func makeTrainer(seed: UInt64 = 1, workers: Int = 2) throws -> Trainer {
    let model = try Model(root: DenseNet.mini(), inputShape: [28, 28, 1], seed: seed, parallel: Parallel(workers: workers))
    return try Trainer(model: model, batchSize: 32, shuffleSeed: 77)
}

@Suite struct TrainerTests {
    @Test func permutationIsPureAndValid() {
        let a = Trainer.permutation(count: 1000, seed: 5, epoch: 3)
        #expect(a == Trainer.permutation(count: 1000, seed: 5, epoch: 3))
        #expect(a != Trainer.permutation(count: 1000, seed: 5, epoch: 4))
        #expect(a.sorted() == Array(0..<1000))
    }

    @Test func deterministicTrainingAndLearning() throws {
        let data = try syntheticDigits(count: 100, seed: 3)  // 4 batches: 32, 32, 32, 4
        let t1 = try makeTrainer(), t2 = try makeTrainer()
        var steps: [Int] = []
        let r1 = try #require(
            try t1.trainEpoch(data) { ev in
                steps.append(ev.step); #expect(ev.stepsPerEpoch == 4); return .continue
            })
        let r2 = try #require(try t2.trainEpoch(data))
        #expect(steps == [1, 2, 3, 4])
        #expect(r1 == r2)
        #expect(t1.state == t2.state)
        #expect(t1.state.epoch == 1)
        #expect(t1.state.stepInEpoch == 0)
        #expect(t1.optimizer.iterations == 4)
        // a few more epochs learn the synthetic task
        var last = r1
        for _ in 0..<5 { last = try #require(try t1.trainEpoch(data)) }
        #expect(last.loss < r1.loss)
        let (testLoss, testAcc) = try t1.evaluate(try syntheticDigits(count: 64, seed: 4))
        #expect(testLoss.isFinite)
        #expect(testAcc > 0.5)
    }

    @Test func workerCountDoesNotChangeBits() throws {
        let data = try syntheticDigits(count: 70, seed: 3)
        let t1 = try makeTrainer(workers: 1), t2 = try makeTrainer(workers: 2), t3 = try makeTrainer(workers: 3)
        _ = try t1.trainEpoch(data); _ = try t2.trainEpoch(data); _ = try t3.trainEpoch(data)
        #expect(t1.state == t2.state)
        #expect(t1.state == t3.state)
    }

    @Test func resumeMidEpochIsBitIdentical() throws {
        let data = try syntheticDigits(count: 150, seed: 6)  // 5 steps per epoch
        let reference = try makeTrainer()
        var refResults: [EpochResult] = []
        for _ in 0..<2 { refResults.append(try #require(try reference.trainEpoch(data))) }

        // interrupted run: stop after 2 steps of epoch 1, save state, continue in a fresh trainer
        let first = try makeTrainer(seed: 999)  // different init: restore must overwrite everything
        let firstSeeded = try makeTrainer()
        _ = try #require(try firstSeeded.trainEpoch(data))
        let stopped = try firstSeeded.trainEpoch(data) { ev in ev.step == 2 ? .stop : .continue }
        #expect(stopped == nil)
        let saved = firstSeeded.state
        #expect(saved.epoch == 1)
        #expect(saved.stepInEpoch == 2)
        #expect(saved.metrics.seen == 64)
        try first.restore(saved)
        #expect(first.state == saved)
        let resumed = try #require(try first.trainEpoch(data))
        #expect(resumed == refResults[1])
        #expect(first.state == reference.state)
    }

    @Test func metricsAveraging() throws {
        let data = try syntheticDigits(count: 40, seed: 8)  // batches of 32 and 8
        let t = try makeTrainer()
        var losses: [(Float, Int)] = []
        var correct = 0
        let r = try #require(
            try t.trainEpoch(data) { ev in
                losses.append((ev.batchLoss, ev.batchSize)); correct = ev.metrics.correct; return .continue
            })
        let perBatch = losses.map { Double($0.0) }.reduce(0, +) / 2
        #expect(abs(r.loss - perBatch) < 1e-12)
        #expect(r.accuracy == Double(correct) / 40)

        let model = try Model(root: DenseNet.mini(), inputShape: [28, 28, 1], seed: 1)
        let t2 = try Trainer(model: model, shuffleSeed: 77, lossAveraging: .perSample)
        var l2: [(Float, Int)] = []
        let r2 = try #require(
            try t2.trainEpoch(data) { ev in
                l2.append((ev.batchLoss, ev.batchSize)); return .continue
            })
        let perSample = l2.map { Double($0.0) * Double($0.1) }.reduce(0, +) / 40
        #expect(abs(r2.loss - perSample) < 1e-12)
    }

    @Test func badInputsAreErrors() throws {
        let t = try makeTrainer()
        let bad = try LabeledImages(images: [Float](repeating: 0, count: 784), labels: [12], sampleShape: [28, 28, 1])
        #expect(throws: EngineError.self) { _ = try t.trainEpoch(bad) }
        #expect(throws: EngineError.self) { _ = try LabeledImages(images: [0], labels: [1], sampleShape: [28, 28, 1]) }
        var s = t.state
        s.weights.removeLast()
        #expect(throws: EngineError.self) { try t.restore(s) }
    }
}
