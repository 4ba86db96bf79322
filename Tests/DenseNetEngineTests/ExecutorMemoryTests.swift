import TestSupport
import Testing

@testable import DenseNetEngine

/// The executor's memory: gradients share buffers by liveness (`GradientBufferPlan`) and are
/// allocated only for a backward pass, with every result bit for bit as with a buffer per gradient.
@Suite struct ExecutorMemoryTests {
    /// How many floats differ in their bits (a count, not two arrays, in a failure's message).
    func differing(_ a: [Float], _ b: [Float]) -> Int {
        a.count != b.count ? max(a.count, b.count) : zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count
    }

    /// A small Keras DenseNet; op by op (`fused` false) every Concatenate's input has two consumers.
    func smallDenseNet(fused: Bool) throws -> Model {
        try Model(
            root: DenseNetApplication.build(DenseNetOptions(blocks: [2, 2, 1, 1], inputShape: [32, 32, 3], classes: 5)),
            inputShape: [32, 32, 3], seed: 5, parallel: Parallel(workers: 2), memoryEfficientDenseBlocks: fused)
    }

    /// Two training passes (batch statistics, moving statistics updated) through an executor that
    /// shares gradient buffers and through one that gives every gradient its own: the same loss,
    /// weight gradients, input gradient and moving statistics, bit for bit. The second pass, on
    /// other images, starts with every shared buffer holding another node's gradient.
    @Test(arguments: [true, false])
    func trainingPassesAreBitIdenticalToABufferPerGradient(fused: Bool) throws {
        let shared = try smallDenseNet(fused: fused), reference = try smallDenseNet(fused: fused)
        let batch = 3
        func executor(_ model: Model, sharing: Bool) -> Executor {
            Executor(
                nodes: model.nodes, capacity: batch, parallel: model.parallel, configuration: model.configuration,
                gradientForInputs: true, sharesGradientBuffers: sharing)
        }
        let a = executor(shared, sharing: true), b = executor(reference, sharing: false)
        #expect(a.gradientPlan.bufferSizes.count < b.gradientPlan.bufferSizes.count)
        for (step, labels) in [[1, 4, 0], [2, 2, 3]].enumerated() {
            let images = randomFloats(batch * 32 * 32 * 3, seed: UInt64(20 + step), range: 0...1)
            var results: [(loss: Float, correct: Int, input: [Float])] = []
            for (model, ex) in [(shared, a), (reference, b)] {
                for i in images.indices { ex.outputs[model.inputID][i] = images[i] }
                let r = try labels.withUnsafeBufferPointer {
                    try model.runTrainingPass(ex, batch: batch, labels: $0.baseAddress!, mode: .training(updateStatistics: true))
                }
                results.append((r.loss, r.correct, Array(UnsafeBufferPointer(start: ex.grads[model.inputID]!, count: images.count))))
            }
            #expect(results[0].loss.bitPattern == results[1].loss.bitPattern, "step \(step)")
            #expect(results[0].correct == results[1].correct)
            #expect(differing(results[0].input, results[1].input) == 0, "input gradient, step \(step)")
            for (x, y) in zip(shared.trainableVariables, reference.trainableVariables) {
                #expect(differing(x.gradient, y.gradient) == 0, "gradient of \(x.name) \(x.shape), step \(step)")
            }
            for (x, y) in zip(shared.weights, reference.weights) {
                #expect(differing(x.values, y.values) == 0, "\(x.name) \(x.shape) after step \(step)")
            }
        }
    }

    /// No two gradients share a buffer while both are live (node indices [j, last consumer of j]),
    /// and every buffer holds its largest tenant.
    @Test(arguments: [true, false])
    func liveGradientsNeverShareABuffer(fused: Bool) throws {
        let model = try smallDenseNet(fused: fused)
        let ex = Executor(nodes: model.nodes, capacity: 2, parallel: model.parallel, configuration: model.configuration)
        let plan = ex.gradientPlan
        var lastConsumer = Array(model.nodes.indices)
        for (i, node) in model.nodes.enumerated() { for j in node.inputs { lastConsumer[j] = max(lastConsumer[j], i) } }
        let tenants = model.nodes.indices.filter { plan.buffer[$0] != nil }
        #expect(tenants == model.nodes.indices.filter { ex.needsGrad[$0] })
        for j in tenants {
            #expect(plan.bufferSizes[plan.buffer[j]!] >= ex.sizes[j])
            for k in tenants where k > j && plan.buffer[k] == plan.buffer[j] {
                #expect(k > lastConsumer[j], "gradients of nodes \(j) and \(k) are live at once in buffer \(plan.buffer[j]!)")
            }
        }
        let unshared = tenants.reduce(0) { $0 + ex.sizes[$1] }
        #expect(plan.bufferSizes.reduce(0, +) * 2 < unshared)
    }

    /// Inference allocates no gradient buffer; the first backward pass allocates the plan's.
    @Test func gradientsAreAllocatedByTheFirstBackwardPass() throws {
        let model = try smallDenseNet(fused: true)
        let images = randomFloats(2 * 32 * 32 * 3, seed: 3, range: 0...1)
        _ = try model.predict(images, batchSize: 2)
        let ex = model.executor(capacity: 2)
        #expect(ex.allocatedGradientFloats == 0)
        _ = try model.lossAndGradients(images: images, labels: [0, 1])
        #expect(ex.allocatedGradientFloats == ex.gradientPlan.floats(capacity: 2))
        #expect(ex.allocatedGradientFloats > 0)
    }
}
