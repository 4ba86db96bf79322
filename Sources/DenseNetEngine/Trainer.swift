// Training loop with complete, plain-value state (resumable mid-epoch, bit-identical).

import Glibc

/// How the epoch's mean loss weights batches.
public enum LossAveraging: String, Sendable {
    /// tf.keras.metrics.Mean updated once per batch with the batch's mean loss (custom training loop).
    case perBatch
    /// Weighted by batch size (model.fit's loss tracker): sum(batchLoss * batchSize) / samples.
    case perSample
}

/// Running metric sums (Keras Mean / SparseCategoricalAccuracy state).
public struct MetricState: Equatable, Sendable {
    /// The sum of the batches' mean losses, each weighted as `LossAveraging` says.
    public var lossSum: Double = 0
    /// The sum of the weights: batches (`perBatch`) or samples (`perSample`); Keras' `Mean` keeps the same
    /// pair.
    public var lossWeight: Double = 0
    /// Samples whose most probable class was the label (`SparseCategoricalAccuracy`'s total).
    public var correct: Int = 0
    /// Samples seen so far this epoch (`SparseCategoricalAccuracy`'s count).
    public var seen: Int = 0
    /// Empty sums, as at an epoch's start.
    public init() {}
    /// Sums restored from a checkpoint taken mid-epoch.
    public init(lossSum: Double, lossWeight: Double, correct: Int, seen: Int) {
        self.lossSum = lossSum; self.lossWeight = lossWeight; self.correct = correct; self.seen = seen
    }
    /// The epoch's loss so far, as Keras' `Mean.result()`; 0 before the first batch.
    public var meanLoss: Double { lossWeight > 0 ? lossSum / lossWeight : 0 }
    /// The fraction of samples classified correctly so far; 0 before the first batch.
    public var accuracy: Double { seen > 0 ? Double(correct) / Double(seen) : 0 }
}

/// Everything needed to resume training bit-identically.
public struct TrainerState: Equatable, Sendable {
    /// Epoch in progress (0-based).
    public var epoch: Int
    /// Batches of this epoch already done.
    public var stepInEpoch: Int
    /// The shuffle permutation is a pure function of (shuffleSeed, epoch).
    public var shuffleSeed: UInt64
    /// The running metrics of the epoch in progress, so a mid-epoch resume reports the same epoch means.
    public var metrics: MetricState
    /// The optimizer's step count and slots (Adam's moments, …).
    public var optimizer: OptimizerState
    /// All model weights in Keras `model.weights` order (includes BN moving stats).
    public var weights: [[Float]]
}

/// What `Trainer.trainEpoch` reports after each step, for progress bars and interrupts.
public struct StepEvent: Sendable {
    /// The epoch in progress (0-based).
    public let epoch: Int
    /// Steps completed in this epoch (1-based after the first step).
    public let step: Int
    /// The steps in a whole epoch: the samples divided by the batch size, rounded up.
    public let stepsPerEpoch: Int
    /// The mean loss over this step's batch.
    public let batchLoss: Float
    /// This step's samples: the batch size, or fewer in an epoch's last step.
    public let batchSize: Int
    /// Running epoch metrics including this step.
    public let metrics: MetricState
}

/// The `onStep` callback's answer: `continue` the epoch, or `stop` after this step with the state pointing at
/// the next one.
public enum StepAction: Sendable { case `continue`, stop }

/// An epoch's training means, what Keras' `fit` logs as `loss` and `accuracy`.
public struct EpochResult: Equatable, Sendable {
    /// The finished epoch (0-based).
    public let epoch: Int
    /// The epoch's mean loss, averaged as the trainer's `LossAveraging` says.
    public let loss: Double
    /// The fraction of the epoch's samples classified correctly while training.
    public let accuracy: Double
}

/// Trains a `Model` on labeled images with sparse categorical crossentropy, Keras' `fit` loop: a seeded
/// shuffle per epoch, one optimizer step per batch, running loss and accuracy. Its whole position (`state`)
/// is plain values, so training stops and resumes bit-identically.
public final class Trainer {
    /// The model trained in place.
    public let model: Model
    /// Updates the model's trainable variables after each batch.
    public let optimizer: Optimizer
    /// Samples per step; an epoch's last batch may be smaller.
    public let batchSize: Int
    /// How batches weigh in the epoch's mean loss.
    public let lossAveraging: LossAveraging
    /// The epoch in progress (0-based); advances when `trainEpoch` finishes one.
    public private(set) var epoch = 0
    /// Batches of the current epoch already trained.
    public private(set) var stepInEpoch = 0
    /// The seed every epoch's shuffle derives from (with the epoch number).
    public private(set) var shuffleSeed: UInt64
    /// The current epoch's running loss and accuracy.
    public private(set) var metrics = MetricState()
    let executor: Executor
    let labelBuffer: UnsafeMutablePointer<Int>
    /// Every trainable gradient end to end, summed over the processes in one call per step
    /// (empty for a single process, or under float64 sums, whose `WideGradients` reduce themselves).
    private let gradientBuffer: UnsafeMutableBufferPointer<Float>
    private var cachedPermutation: (epoch: Int, seed: UInt64, count: Int, perm: [Int])?

    /// A trainer at epoch 0 step 0 of `model` with a new `optimizer` over its trainable variables.
    ///
    /// - Throws: `EngineError.invalidArgument` when the model has no softmax output (the loss is fused on its
    ///   logits) or `batchSize` is below 1.
    public init(
        model: Model, optimizer: OptimizerConfig = .adam(AdamConfig()), batchSize: Int = 32, shuffleSeed: UInt64 = 0,
        lossAveraging: LossAveraging = .perBatch
    ) throws {
        guard model.logitsID != nil else {
            throw EngineError.invalidArgument("training needs a softmax output (loss is fused on its logits)")
        }
        guard batchSize >= 1 else { throw EngineError.invalidArgument("batch size must be >= 1") }
        self.model = model
        self.optimizer = Optimizer(variables: model.trainableVariables, config: optimizer, parallel: model.parallel)
        self.batchSize = batchSize
        self.shuffleSeed = shuffleSeed
        self.lossAveraging = lossAveraging
        let capacity = Trainer.shareCapacity(batchSize: batchSize, processes: model.collective.size)
        executor = model.executor(capacity: capacity)
        labelBuffer = .allocate(capacity: capacity)
        labelBuffer.initialize(repeating: 0, count: capacity)
        // Float64 sums reduce their own gradients (`WideGradients`); float32 ones go through here.
        let reducesFloat32 = model.collective.size > 1 && executor.wideGradients == nil
        gradientBuffer = .allocate(capacity: reducesFloat32 ? model.trainableVariables.reduce(0) { $0 + $1.count } : 0)
    }

    /// The largest share of a batch of `batchSize` one of `processes` processes takes.
    static func shareCapacity(batchSize: Int, processes: Int) -> Int { (batchSize + processes - 1) / processes }

    /// A trainer with Adam (what the Keras format layer still builds).
    public convenience init(
        model: Model, optimizer: AdamConfig, batchSize: Int = 32, shuffleSeed: UInt64 = 0,
        lossAveraging: LossAveraging = .perBatch
    ) throws {
        try self.init(
            model: model, optimizer: .adam(optimizer), batchSize: batchSize, shuffleSeed: shuffleSeed,
            lossAveraging: lossAveraging)
    }

    deinit {
        labelBuffer.deallocate()
        gradientBuffer.deallocate()
    }

    /// The epoch's sample order: Fisher-Yates with SplitMix64 seeded by mix(seed, epoch).
    public static func permutation(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var perm = Array(0..<count)
        var rng = SplitMix64(seed: SplitMix64.mix(seed, UInt64(epoch)))
        if count > 1 {
            for i in stride(from: count - 1, to: 0, by: -1) {
                perm.swapAt(i, rng.nextInt(below: i + 1))
            }
        }
        return perm
    }

    /// The steps an epoch of `samples` takes: the samples divided by `batchSize`, rounded up.
    public func stepsPerEpoch(samples: Int) -> Int { (samples + batchSize - 1) / batchSize }

    /// One optimisation step on this process's `n` samples of a batch of `globalBatch`, already
    /// gathered (images in the input buffer, labels in labelBuffer). Returns the batch's mean loss
    /// and its correct count, over every process's samples.
    private func step(batch n: Int, of globalBatch: Int) throws -> (loss: Float, correct: Int) {
        let collective = model.collective
        guard collective.size > 1 else {
            let r = try model.runTrainingPass(executor, batch: n, labels: labelBuffer, mode: .training(updateStatistics: true))
            optimizer.step()
            return r
        }
        let r = try model.runTrainingPass(
            executor, batch: n, labels: labelBuffer, mode: .training(updateStatistics: true), globalBatch: globalBatch)
        if executor.wideGradients == nil { sumGradientsOverProcesses() }
        optimizer.step()
        var totals = [Double(r.loss) * Double(n), Double(r.correct)]
        totals.withUnsafeMutableBufferPointer { collective.allreduceSum($0) }
        return (Float(totals[0] / Double(globalBatch)), Int(totals[1]))
    }

    /// Each trainable gradient becomes its sum over the processes (one reduction for all of them).
    private func sumGradientsOverProcesses() {
        let variables = model.trainableVariables
        var offset = 0
        for v in variables {
            (gradientBuffer.baseAddress! + offset).update(from: v.grad, count: v.count)
            offset += v.count
        }
        model.collective.allreduceSum(gradientBuffer)
        offset = 0
        for v in variables {
            v.grad.update(from: gradientBuffer.baseAddress! + offset, count: v.count)
            offset += v.count
        }
    }

    /// One training step on an explicit batch (no shuffling, no metric bookkeeping). Returns the batch loss.
    @discardableResult
    public func trainStep(images: [Float], labels: [Int]) throws -> Float {
        let n = labels.count
        guard model.collective.size == 1 else {
            throw EngineError.invalidArgument("trainStep takes one process's batch; data-parallel training goes through trainEpoch")
        }
        guard n >= 1, n <= batchSize, images.count == n * model.inputSize else {
            throw EngineError.invalidArgument("trainStep: need 1...\(batchSize) samples of \(model.inputSize) floats")
        }
        images.withUnsafeBufferPointer { executor.outputs[model.inputID].update(from: $0.baseAddress!, count: images.count) }
        labels.withUnsafeBufferPointer { labelBuffer.update(from: $0.baseAddress!, count: n) }
        return try step(batch: n, of: n).loss
    }

    /// Trains from the current position (epoch, stepInEpoch) to the end of the epoch.
    /// `onStep` runs after every step; returning `.stop` ends early (returns nil; state then points
    /// at the next step, so calling again resumes). At the epoch's end the epoch counter advances,
    /// metrics reset, and the epoch's mean loss and accuracy are returned.
    ///
    /// Data-parallel (`model.collective` of several processes, each holding the same `data`): every
    /// process draws the same order and trains on its share of each batch, and `onStep` sees the
    /// metrics of the whole batch; `onStep` must then return the same action on every process.
    public func trainEpoch(_ data: LabeledImages, onStep: ((StepEvent) -> StepAction)? = nil) throws -> EpochResult? {
        guard data.sampleShape == model.inputShape else {
            throw EngineError.shapeMismatch(what: "dataset samples", expected: model.inputShape, got: data.sampleShape)
        }
        let count = data.count
        let steps = stepsPerEpoch(samples: count)
        let collective = model.collective
        if collective.size > 1, Swift.min(batchSize, count - (steps - 1) * batchSize) < collective.size {
            throw EngineError.invalidArgument(
                "\(collective.size) processes need at least \(collective.size) samples in every batch; the last batch of \(count) samples in batches of \(batchSize) has \(count - (steps - 1) * batchSize) (change --limit or --batch-size)"
            )
        }
        if cachedPermutation == nil || cachedPermutation!.epoch != epoch || cachedPermutation!.seed != shuffleSeed
            || cachedPermutation!.count != count
        {
            cachedPermutation = (epoch, shuffleSeed, count, Trainer.permutation(count: count, seed: shuffleSeed, epoch: epoch))
        }
        let perm = cachedPermutation!.perm
        let inSize = model.inputSize
        let input = executor.outputs[model.inputID]
        while stepInEpoch < steps {
            let start = stepInEpoch * batchSize
            let n = Swift.min(batchSize, count - start)
            let share = collective.share(of: n)
            data.images.withUnsafeBufferPointer { src in
                for (i, position) in share.enumerated() {
                    let s = perm[start + position]
                    (input + i * inSize).update(from: src.baseAddress! + s * inSize, count: inSize)
                    labelBuffer[i] = data.labels[s]
                }
            }
            let (loss, correct) = try step(batch: share.count, of: n)
            let w = lossAveraging == .perBatch ? 1.0 : Double(n)
            metrics.lossSum += Double(loss) * w
            metrics.lossWeight += w
            metrics.correct += correct
            metrics.seen += n
            stepInEpoch += 1
            if let onStep {
                let ev = StepEvent(epoch: epoch, step: stepInEpoch, stepsPerEpoch: steps, batchLoss: loss, batchSize: n, metrics: metrics)
                if onStep(ev) == .stop && stepInEpoch < steps { return nil }
            }
        }
        let result = EpochResult(epoch: epoch, loss: metrics.meanLoss, accuracy: metrics.accuracy)
        epoch += 1
        stepInEpoch = 0
        metrics = MetricState()
        return result
    }

    /// Loss and accuracy with training = false (inference BN), batches of `batchSize` in order;
    /// data-parallel, each process evaluates its share of each batch and the sums are reduced once.
    public func evaluate(_ data: LabeledImages) throws -> (loss: Double, accuracy: Double) {
        try Trainer.evaluate(model: model, data: data, batchSize: batchSize, lossAveraging: lossAveraging)
    }

    /// Loss and accuracy of `model` over `data` in inference mode (BatchNormalization's moving statistics),
    /// batches of `batchSize` in order; Keras' `evaluate`.
    ///
    /// - Throws: `EngineError` when the samples' shape is not the model's input or a label is not a class
    ///   index.
    public static func evaluate(
        model: Model, data: LabeledImages, batchSize: Int = 32,
        lossAveraging: LossAveraging = .perBatch
    ) throws -> (loss: Double, accuracy: Double) {
        guard data.sampleShape == model.inputShape else {
            throw EngineError.shapeMismatch(what: "dataset samples", expected: model.inputShape, got: data.sampleShape)
        }
        let classes = model.outputShape.last!
        let collective = model.collective
        let ex = model.executor(capacity: shareCapacity(batchSize: batchSize, processes: collective.size))
        let inSize = model.inputSize
        var m = MetricState()
        var start = 0
        while start < data.count {
            let n = Swift.min(batchSize, data.count - start)
            let share = collective.share(of: n)
            let first = start + share.lowerBound, k = share.count
            start += n
            let w = lossAveraging == .perBatch ? 1.0 : Double(n)
            m.lossWeight += w
            m.seen += n
            guard k > 0 else { continue }
            data.images.withUnsafeBufferPointer {
                ex.outputs[model.inputID].update(from: $0.baseAddress! + first * inSize, count: k * inSize)
            }
            ex.forward(batch: k, mode: .inference)
            try data.labels.withUnsafeBufferPointer { lb in
                let labels = lb.baseAddress! + first
                for i in 0..<k where labels[i] < 0 || labels[i] >= classes {
                    throw EngineError.invalidArgument("label \(labels[i]) out of range 0..<\(classes)")
                }
                let loss: Float
                if let lid = model.logitsID {
                    loss = sparseSoftmaxCrossEntropy(logits: ex.outputs[lid], labels: labels, batch: k, classes: classes, gradient: nil)
                } else {
                    loss = probabilityCrossEntropy(ex.outputs[model.outputID], labels, k, classes)
                }
                // This share's part of the batch's mean loss (the whole of it for one process).
                m.lossSum += (k == n ? Double(loss) : Double(loss) * Double(k) / Double(n)) * w
                m.correct += countCorrect(probabilities: ex.outputs[model.outputID], labels: labels, batch: k, classes: classes)
            }
        }
        if collective.size > 1 {
            var totals = [m.lossSum, Double(m.correct)]
            totals.withUnsafeMutableBufferPointer { collective.allreduceSum($0) }
            m.lossSum = totals[0]
            m.correct = Int(totals[1])
        }
        return (m.meanLoss, m.accuracy)
    }

    /// The complete state as plain values.
    public var state: TrainerState {
        TrainerState(
            epoch: epoch, stepInEpoch: stepInEpoch, shuffleSeed: shuffleSeed, metrics: metrics,
            optimizer: optimizer.state, weights: model.root.getWeights())
    }

    /// Restores a state captured by `state` (from this or another trainer of the same model structure).
    public func restore(_ s: TrainerState) throws {
        guard s.epoch >= 0, s.stepInEpoch >= 0 else { throw EngineError.invalidArgument("negative epoch/step") }
        try model.root.setWeights(s.weights)
        try optimizer.setState(s.optimizer)
        epoch = s.epoch
        stepInEpoch = s.stepInEpoch
        shuffleSeed = s.shuffleSeed
        metrics = s.metrics
    }
}

/// Keras' crossentropy on probabilities (clip to [1e-7, 1-1e-7]); used only for models without softmax output.
func probabilityCrossEntropy(_ p: UnsafePointer<Float>, _ labels: UnsafePointer<Int>, _ n: Int, _ k: Int) -> Float {
    var total: Float = 0
    for i in 0..<n { total += -logf(Swift.min(Swift.max(p[i * k + labels[i]], 1e-7), 1 - 1e-7)) }
    return total / Float(n)
}
