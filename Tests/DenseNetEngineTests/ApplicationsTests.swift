import TestSupport
import Testing
@testable import DenseNetEngine

/// Keras Applications' DenseNets: structure, presets, and the memory-efficient dense blocks.
@Suite struct ApplicationsTests {
    func layerNames(_ model: FunctionalModel) -> [String] { model.nodes.map { $0.layer.name ?? "?" } }

    @Test func densenet121HasKerasLayersAndParameterCounts() throws {
        let net = try DenseNetApplication.densenet121()
        let names = layerNames(net)
        #expect(names.count == 429)  // len(model.layers) in Keras, InputLayer included
        #expect(
            Array(names.prefix(10)) == [
                "input_layer", "zero_padding2d", "conv1_conv", "conv1_bn", "conv1_relu",
                "zero_padding2d_1", "pool1", "conv2_block1_0_bn", "conv2_block1_0_relu",
                "conv2_block1_1_conv"
            ])
        #expect(names.contains("pool2_conv"))
        #expect(names.contains("conv5_block16_concat"))
        #expect(Array(names.suffix(4)) == ["bn", "relu", "avg_pool", "predictions"])
        #expect(net.name == "densenet121")
        #expect(net.kerasClassName == "Functional")
        let model = try Model(root: net, inputShape: [224, 224, 3])
        #expect(model.outputShape == [1000])
        // Keras: Total params 8,062,504 (trainable 7,978,856).
        #expect(model.weights.reduce(0) { $0 + $1.count } == 8_062_504)
        #expect(model.trainableVariables.reduce(0) { $0 + $1.count } == 7_978_856)
        #expect(model.fusedDenseBlocks == 4)
        let bn = try #require(net.nodes.first { $0.layer.name == "conv1_bn" }?.layer as? BatchNormalization)
        #expect(bn.epsilon == Float(1.001e-5))
        #expect(bn.movingVarianceUpdate == .biased)
        let conv = try #require(net.nodes.first { $0.layer.name == "pool4_conv" }?.layer as? Conv2D)
        #expect(!conv.useBias)
        #expect(conv.filters == 512)
    }

    @Test(arguments: [("densenet169", 14_307_880), ("densenet201", 20_242_984)])
    func largerPresets(name: String, parameters: Int) throws {
        let model = try ModelPreset.named(name).build()
        #expect(model.weights.reduce(0) { $0 + $1.count } == parameters)
        #expect(model.inputShape == [224, 224, 3])
        #expect(model.outputShape == [1000])
    }

    @Test func tfKerasFlavorNamesAndOptions() throws {
        let net = try DenseNetApplication.build(
            DenseNetOptions(
                blocks: [2, 2, 2, 2], includeTop: false, inputShape: [64, 64, 3],
                pooling: .max, flavor: .tfKeras))
        let names = layerNames(net)
        #expect(names.prefix(4) == ["input_1", "zero_padding2d", "conv1/conv", "conv1/bn"])
        #expect(names.last == "max_pool")
        #expect(net.name == "densenet")
        let model = try Model(root: net, inputShape: [64, 64, 3])
        #expect(model.outputShape == [128])
        let noPool = try Model(
            root: DenseNetApplication.build(
                DenseNetOptions(
                    blocks: [1, 1, 1, 1], includeTop: false,
                    inputShape: [32, 48, 3])),
            inputShape: [32, 48, 3])
        #expect(noPool.outputShape == [1, 1, 68])  // 64+32 → 48+32 → 40+32 → 36+32
        #expect(throws: EngineError.self) { try DenseNetApplication.build(DenseNetOptions(blocks: [1, 2, 3])) }
        #expect(throws: EngineError.self) { try DenseNetApplication.densenet121(inputShape: [16, 16, 3]) }
    }

    /// Two models with the same seed, one executed op by op, one with fused dense blocks.
    func twins(
        _ make: () throws -> any Layer, shape: [Int], configuration: EngineConfiguration = .default
    ) throws -> (fused: Model, plain: Model) {
        let fused = try Model(root: make(), inputShape: shape, seed: 3, parallel: Parallel(workers: 2), configuration: configuration)
        let plain = try Model(
            root: make(), inputShape: shape, seed: 3, parallel: Parallel(workers: 2), configuration: configuration,
            memoryEfficientDenseBlocks: false)
        // Non-trivial BatchNorm parameters and statistics, the same in both.
        let values = fused.weights.enumerated().map { i, v in
            v.name == "moving_variance"
                ? randomFloats(v.count, seed: UInt64(i), range: 0.5...1.5)
                : v.name == "gamma"
                    ? randomFloats(v.count, seed: UInt64(i), range: 0.8...1.2)
                    : v.name == "kernel" ? v.values : randomFloats(v.count, seed: UInt64(i), range: -0.2...0.2)
        }
        try fused.root.setWeights(values)
        try plain.root.setWeights(values)
        return (fused, plain)
    }

    func bits(_ a: [Float]) -> [UInt32] { a.map(\.bitPattern) }

    /// The executor's image chains (densenet-mini in inference: from the first convolution to the
    /// flatten after the last dense block; in training each transition's convolution and max
    /// pooling) compute every node's output bit for bit as kernel by kernel.
    @Test func imageChainsAreBitIdenticalToKernelByKernel() throws {
        let model = try twins({ DenseNet.mini() }, shape: [28, 28, 1]).fused
        let batch = 5
        let chained = Executor(nodes: model.nodes, capacity: batch, parallel: model.parallel, configuration: model.configuration)
        let plain = Executor(
            nodes: model.nodes, capacity: batch, parallel: model.parallel, configuration: model.configuration,
            chainImages: false)
        // chains as run from node 0 on: each starts after the previous one's last node
        func lengths(_ chains: [ImageChain?]) -> [Int] {
            var out: [Int] = [], i = 0
            while i < chains.count {
                if let c = chains[i] { out.append(c.links.count); i = c.last + 1 } else { i += 1 }
            }
            return out
        }
        if model.configuration.usesAVX2 {  // (the SSE routing leaves the transitions to GEMM)
            #expect(lengths(chained.imageChains[0]) == [9], "inference")
            #expect(lengths(chained.imageChains[1]) == [2, 2], "training")
        }
        #expect(plain.imageChains.joined().allSatisfy { $0 == nil })
        let images = randomFloats(batch * 784, seed: 12, range: 0...1)
        for mode in [ForwardMode.inference, .training(updateStatistics: false)] {
            for ex in [chained, plain] {
                for i in images.indices { ex.outputs[model.inputID][i] = images[i] }
                ex.forward(batch: batch, mode: mode)
            }
            for (i, size) in chained.sizes.enumerated() {
                let a = UnsafeBufferPointer(start: chained.outputs[i], count: size * batch)
                let b = UnsafeBufferPointer(start: plain.outputs[i], count: size * batch)
                #expect(bits(Array(a)) == bits(Array(b)), "node \(i), \(mode)")
            }
        }
    }

    /// On the AVX2 kernels everything; on the AVX-512 ones the training-mode forward pass, whose one-pass
    /// 1×1 convolutions (no epilogue) give the op-by-op bits at these channel counts (their inference also
    /// takes the following normalization into that pass, which rounds differently: FusedPointwiseTests).
    /// Their backward pass sums the weight gradient in blocks of rows, not as OpenBLAS does: Applications'
    /// gradients and trained weights then agree at float32 tolerance (densenet-mini has no 1×1 convolutions).
    @Test(arguments: ["small", "mini"], [EngineConfiguration.Kernels.avx2, .automatic])
    func fusedBlocksAreBitIdenticalToOpByOp(which: String, kernels: EngineConfiguration.Kernels) throws {
        let inference = kernels == .avx2 || !EngineConfiguration.cpuHasAVX512
        let exactBackward = inference || which == "mini"
        /// Bit for bit, or within `tolerance` of b's largest magnitude, or of `absolute`.
        func agree(_ a: [Float], _ b: [Float], _ what: String, tolerance: Float = 0, absolute: Float = 0) {
            if exactBackward {
                #expect(bits(a) == bits(b), "\(what)")
                return
            }
            let bound = Swift.max(tolerance * (b.map(abs).max() ?? 0), absolute)
            let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= bound, "\(what): \(worst) > \(bound)")
        }
        let shape = which == "small" ? [32, 32, 3] : [28, 28, 1]
        let (fused, plain) = try twins(
            {
                which == "small"
                    ? try DenseNetApplication.build(DenseNetOptions(blocks: [2, 3, 2, 2], inputShape: [32, 32, 3], classes: 5)) as any Layer
                    : DenseNet.mini() as any Layer
            }, shape: shape, configuration: EngineConfiguration(kernels: kernels))
        #expect(fused.fusedDenseBlocks == (which == "small" ? 4 : 3))
        #expect(plain.fusedDenseBlocks == 0)
        let batch = 3
        let images = randomFloats(batch * shape.reduce(1, *), seed: 11, range: 0...1)
        let labels = [1, 4, 0]
        if inference {
            #expect(bits(try fused.predict(images, batchSize: batch)) == bits(try plain.predict(images, batchSize: batch)))
        }
        #expect(
            bits(try fused.predict(images, batchSize: 2, training: true))
                == bits(try plain.predict(images, batchSize: 2, training: true)))
        for training in inference ? [true, false] : [true] {
            let lf = try fused.lossAndGradients(images: images, labels: labels, training: training)
            let lp = try plain.lossAndGradients(images: images, labels: labels, training: training)
            #expect(lf.bitPattern == lp.bitPattern)
            for (a, b) in zip(fused.trainableVariables, plain.trainableVariables) {
                agree(a.gradient, b.gradient, "gradient of \(a.name) \(a.shape), training \(training)", tolerance: 2e-4)
            }
        }
        let tf = try Trainer(model: fused, batchSize: batch), tp = try Trainer(model: plain, batchSize: batch)
        for step in 0..<2 {
            let a = try tf.trainStep(images: images, labels: labels), b = try tp.trainStep(images: images, labels: labels)
            agree([a], [b], "loss of step \(step)", tolerance: 1e-5)
        }
        // Adam moves a weight by up to about its learning rate (0.001) a step however small its gradient: a
        // near-zero gradient rounded differently may move it the other way
        for (a, b) in zip(fused.root.getWeights(), plain.root.getWeights()) { agree(a, b, "trained weights", absolute: 4e-3) }
        if inference {
            #expect(bits(try fused.predict(images, batchSize: batch)) == bits(try plain.predict(images, batchSize: batch)))
        }
    }

    @Test func fusedMemoryGrowsLinearly() throws {
        let model = try Model(root: DenseNetApplication.densenet121(), inputShape: [224, 224, 3])
        let floats = model.activationFloats(batch: 8)
        print(
            "DenseNet-121 224x224 batch 8 activations+gradients: fused \((floats.planned * 4) >> 20) MiB, op by op \((floats.unfused * 4) >> 20) MiB"
        )
        #expect(floats.planned * 2 < floats.unfused)
        // Linear vs quadratic: doubling the last block's depth adds a constant per layer when fused.
        func floatsFor(_ last: Int) throws -> (Int, Int) {
            let m = try Model(
                root: DenseNetApplication.build(DenseNetOptions(blocks: [1, 1, 1, last], inputShape: [32, 32, 3])),
                inputShape: [32, 32, 3])
            let f = m.activationFloats(batch: 1)
            return (f.planned, f.unfused)
        }
        let (p8, u8) = try floatsFor(8), (p16, u16) = try floatsFor(16), (p32, u32) = try floatsFor(32)
        #expect((p32 - p16) == 2 * (p16 - p8) || abs((p32 - p16) - 2 * (p16 - p8)) < (p16 - p8) / 4)
        #expect((u32 - u16) > 3 * (u16 - u8) / 2)
    }

    @Test func presetsAreRegistered() throws {
        for name in ["densenet121", "densenet169", "densenet201"] {
            let preset = try ModelPreset.named(name)
            #expect(preset.defaultInputShape == [224, 224, 3])
            #expect(preset.defaultClasses == 1000)
        }
        let small = try ModelPreset.named("densenet121").build(inputShape: [64, 64, 3], classes: 10)
        #expect(small.outputShape == [10])
    }
}
