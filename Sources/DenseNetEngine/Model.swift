// Model: a built layer tree plus its execution graph and preallocated executors.

import Glibc

/// A layer tree built for one input shape: its variables created, its primitive ops compiled into an
/// execution graph whose buffers are allocated once per batch capacity. What `Trainer` trains and what
/// `predict` and the weight files read and write.
public final class Model {
    /// The root of the model tree (e.g. a `DenseNet` or a `FunctionalModel`).
    public let root: any Layer
    /// Per-sample input shape, e.g. [28, 28, 1].
    public let inputShape: [Int]
    /// Per-sample output shape, e.g. [10].
    public let outputShape: [Int]
    /// The workers every kernel and optimizer step of this model splits its work over.
    public let parallel: Parallel
    /// Which kernels run (`.default`: the fastest this CPU has). Executors made after a change use the
    /// new value, so set it before making a `Trainer`, which keeps the executor it was made with.
    public var configuration: EngineConfiguration {
        didSet { if configuration != oldValue { executors = [:] } }
    }
    /// The processes this model trains with (data parallelism): batch normalization's statistics
    /// and `Trainer`'s gradients, metrics and test pass are summed over them. `SingleProcess` unless
    /// the caller joins a world; executors made after a change use the new value.
    public var collective: any Collective = SingleProcess() {
        didSet { executors = [:] }
    }
    let nodes: [GraphNode]
    let inputID: Int
    let outputID: Int
    /// The logits node when the output is a softmax (loss is fused on it).
    let logitsID: Int?
    private var executors: [Int: Executor] = [:]

    /// Builds the model: calls the layer tree symbolically, creating variables (glorot-uniform kernels
    /// from a SplitMix64 seeded with `seed`, zero biases, BN 1/0/0/1) in call order.
    /// `memoryEfficientDenseBlocks`: run dense blocks in shared buffers (`fuseDenseBlocks`; same results).
    public init(
        root: any Layer, inputShape: [Int], seed: UInt64 = 0, parallel: Parallel = .automatic(),
        configuration: EngineConfiguration = .default, memoryEfficientDenseBlocks: Bool = true
    ) throws {
        BLAS.matchKernelsToTheCPU()
        BLAS.setThreads(1)
        self.root = root
        self.inputShape = inputShape
        self.parallel = parallel
        self.configuration = configuration
        let g = GraphBuilder(seed: seed)
        let x = g.input(shape: inputShape)
        let y = try root.call([x], in: g)
        nodes = memoryEfficientDenseBlocks ? fuseDenseBlocks(g.nodes, keep: Set([y.id] + g.nodes[y.id].inputs)) : g.nodes
        inputID = x.id
        outputID = y.id
        outputShape = y.shape
        if nodes[y.id].op is SoftmaxOp { logitsID = nodes[y.id].inputs[0] } else { logitsID = nil }
    }

    /// All variables in tf-keras' `model.weights` order.
    public var weights: [Variable] { root.weights }
    /// The variables an optimizer updates, in Keras' order (the order of its slots).
    public var trainableVariables: [Variable] { root.trainableVariables }
    /// Every layer of the tree, pre-order, the root first.
    public var allLayers: [any Layer] { root.allLayers }
    /// Floats per input sample, the product of `inputShape`.
    public var inputSize: Int { product(inputShape) }
    /// Floats per output sample (the class count for a classifier).
    public var outputSize: Int { product(outputShape) }

    /// Number of primitive ops in the execution graph.
    public var opCount: Int { nodes.count - 1 }

    func executor(capacity: Int) -> Executor {
        if let e = executors[capacity] { return e }
        let e = Executor(
            nodes: nodes, capacity: capacity, parallel: parallel, configuration: configuration, collective: collective)
        executors[capacity] = e
        return e
    }

    /// Forward pass over `count` samples (flat NHWC floats), in chunks of `batchSize`.
    /// training = true uses batch statistics (and, if updateStatistics, updates BN moving stats).
    public func predict(
        _ images: [Float], batchSize: Int = 32, training: Bool = false,
        updateStatistics: Bool = false
    ) throws -> [Float] {
        let inSize = inputSize, outSize = outputSize
        guard images.count % inSize == 0 else {
            throw EngineError.invalidArgument("input length \(images.count) is not a multiple of \(inSize)")
        }
        let count = images.count / inSize
        var out = [Float](repeating: 0, count: count * outSize)
        let ex = executor(capacity: batchSize)
        let mode: ForwardMode = training ? .training(updateStatistics: updateStatistics) : .inference
        var start = 0
        while start < count {
            let n = Swift.min(batchSize, count - start)
            images.withUnsafeBufferPointer { src in
                ex.outputs[inputID].update(from: src.baseAddress! + start * inSize, count: n * inSize)
            }
            ex.forward(batch: n, mode: mode)
            out.withUnsafeMutableBufferPointer { dst in
                (dst.baseAddress! + start * outSize).update(from: ex.outputs[outputID], count: n * outSize)
            }
            start += n
        }
        return out
    }

    /// Runs forward (training mode, no moving-stat update) + loss + backward on one batch;
    /// leaves gradients in each trainable variable's `grad`. Returns the mean loss.
    /// (For tests and tools; the Trainer does this without allocating.)
    public func lossAndGradients(images: [Float], labels: [Int], training: Bool = true) throws -> Float {
        let n = labels.count
        guard images.count == n * inputSize else {
            throw EngineError.countMismatch(what: "images", expected: n * inputSize, got: images.count)
        }
        let ex = executor(capacity: n)
        images.withUnsafeBufferPointer { ex.outputs[inputID].update(from: $0.baseAddress!, count: n * inputSize) }
        return try labels.withUnsafeBufferPointer { lb in
            try runTrainingPass(
                ex, batch: n, labels: lb.baseAddress!,
                mode: training ? .training(updateStatistics: false) : .inference
            ).loss
        }
    }

    /// Zero grads, forward, fused softmax-CE on logits, backward. Returns (mean loss, correct count).
    /// `globalBatch`: the samples of every process's share of the batch (data-parallel), which the
    /// loss gradient is divided by; nil: this batch of `n` is the whole. Under `.float64` summation
    /// a data-parallel pass leaves the gradients summed over the processes already.
    func runTrainingPass(
        _ ex: Executor, batch n: Int, labels: UnsafePointer<Int>, mode: ForwardMode, globalBatch: Int? = nil
    ) throws -> (loss: Float, correct: Int) {
        guard let logitsID else {
            throw EngineError.invalidArgument("training needs a softmax output (loss is fused on its logits)")
        }
        let classes = outputShape.last!
        let gradients = trainableVariables.map(\.grad)
        parallel.forEachRange(ofArrays: trainableVariables.map(\.count), minChunk: 65536) { i, range in
            (gradients[i] + range.lowerBound).update(repeating: 0, count: range.count)
        }
        // a backward pass follows: inference's fusions would run again unfused, training's have their own
        ex.forward(batch: n, mode: mode, fusing: mode.isTraining)
        for i in 0..<n where labels[i] < 0 || labels[i] >= classes {
            throw EngineError.invalidArgument("label \(labels[i]) out of range 0..<\(classes)")
        }
        let loss = sparseSoftmaxCrossEntropy(
            logits: ex.outputs[logitsID], labels: labels, batch: n, classes: classes,
            gradient: ex.grads[logitsID], gradientDivisor: globalBatch)
        let correct = countCorrect(probabilities: ex.outputs[outputID], labels: labels, batch: n, classes: classes)
        ex.backward(batch: n, seed: logitsID, acrossProcesses: globalBatch != nil)
        return (loss, correct)
    }
}

/// Mean over the batch of logsumexp(z) - z[label] (tf.nn.sparse_softmax_cross_entropy_with_logits +
/// SUM_OVER_BATCH_SIZE). If `gradient` is given it receives (softmax(z) - onehot) / batch, or divided
/// by `gradientDivisor` when given (the global batch this batch is one process's share of).
public func sparseSoftmaxCrossEntropy(
    logits: UnsafePointer<Float>, labels: UnsafePointer<Int>, batch: Int, classes k: Int,
    gradient: UnsafeMutablePointer<Float>?, gradientDivisor: Int? = nil
) -> Float {
    var total: Float = 0
    let invN = 1 / Float(gradientDivisor ?? batch)
    for i in 0..<batch {
        let z = logits + i * k
        var mx = -Float.infinity
        for j in 0..<k { mx = Swift.max(mx, z[j]) }
        var s: Float = 0
        for j in 0..<k { s += expf(z[j] - mx) }
        let lse = logf(s)
        total += lse - (z[labels[i]] - mx)
        if let gradient {
            let g = gradient + i * k
            for j in 0..<k { g[j] = expf(z[j] - mx - lse) * invN }
            g[labels[i]] -= invN
        }
    }
    return total / Float(batch)
}

/// Number of rows whose first maximal probability is at the label (SparseCategoricalAccuracy).
func countCorrect(probabilities p: UnsafePointer<Float>, labels: UnsafePointer<Int>, batch: Int, classes k: Int) -> Int {
    var correct = 0
    for i in 0..<batch {
        let r = p + i * k
        var best = 0
        for j in 1..<k where r[j] > r[best] { best = j }
        if best == labels[i] { correct += 1 }
    }
    return correct
}
