import TestSupport
import Testing
@testable import DenseNetEngine

/// A small batch's images cut into bands of output rows (`imageBands`): the direct, Winograd and pooling
/// kernels give the whole image's bits, the GEMM path the reference's values.
@Suite struct ImageBandTests {
    /// Image 0's output of a graph of `layer`, in inference at batch 1 (bands) and in a batch of 8 (whole
    /// images: 8 / 8 = one band), and the executor.
    func image0(
        _ shape: [Int], configuration: EngineConfiguration = .default, _ layer: () -> any Layer
    ) throws -> (batch1: [UInt32], batch8: [UInt32], ex: Executor) {
        let gc = try GradientCheck(inputShape: shape, batch: 8, mode: .inference, configuration: configuration) { g, x in
            try layer().call([x], in: g)
        }
        gc.setInput(randomFloats(8 * product(shape), seed: 51))
        let size = gc.ex.sizes[gc.outID]
        var outputs: [[UInt32]] = []
        for batch in [8, 1] {
            gc.ex.outputs[gc.outID].update(repeating: .nan, count: 8 * size)
            gc.ex.forward(batch: batch, mode: .inference)
            outputs.append(UnsafeBufferPointer(start: gc.ex.outputs[gc.outID], count: size).map(\.bitPattern))
        }
        return (outputs[1], outputs[0], gc.ex)
    }

    /// The convolution's kernel in `ex`, and its bands at batch 1.
    func convBands(_ ex: Executor) throws -> (kernel: ConvKernel, bands: Int) {
        let kernel = try #require(ex.kernels.compactMap { $0 as? ConvKernel }.first)
        return (kernel, kernel.bands(batch: 1, mode: .inference).count)
    }

    @Test func bandCountsFollowTheBatchAndTheShapeOnly() {
        #expect(imageBands(batch: 1, rows: 56, pixelsPerRow: 56) == 8)
        #expect(imageBands(batch: 2, rows: 56, pixelsPerRow: 56) == 4)
        #expect(imageBands(batch: 3, rows: 56, pixelsPerRow: 56) == 2)
        #expect(imageBands(batch: 5, rows: 56, pixelsPerRow: 56) == 1)
        #expect(imageBands(batch: 8, rows: 56, pixelsPerRow: 56) == 1)
        #expect(imageBands(batch: 1, rows: 14, pixelsPerRow: 14) == 6, "at least 32 pixels a band")
        #expect(imageBands(batch: 1, rows: 7, pixelsPerRow: 7) == 1)
        #expect(imageBands(batch: 1, rows: 7, pixelsPerRow: 7, minimumPixels: 24) == 2, "the direct kernels' minimum")
        #expect(imageBands(batch: 1, rows: 3, pixelsPerRow: 100) == 3, "at most one band a row")
        #expect(imageBands(batch: 1, rows: 0, pixelsPerRow: 5) == 1)
    }

    /// Winograd (whole tiles of rows: bands of 2 and 4 rows of 12; with AVX-512, 28×28 in 7 bands of
    /// 4 rows of F(4×4, 3×3)) and the direct kernels (odd rows, `valid`
    /// padding, the AVX-512 and AVX2 kernels, the portable ones; DenseNet-121's 7×7 layers of block 4 in
    /// two bands): batch 1 in bands gives the bits of the whole image.
    @Test(
        arguments: [
            (12, 10, 16, 32, Padding.same, true), (28, 28, 32, 32, .same, true), (13, 9, 8, 12, .same, false),
            (10, 14, 8, 16, .valid, true), (17, 6, 8, 32, .same, false), (11, 15, 4, 8, .same, false),
            (7, 7, 128, 32, .same, false)
        ])
    func directBandsGiveTheWholeImagesBits(h: Int, w: Int, cin: Int, cout: Int, pad: Padding, winograd: Bool) throws {
        var configurations = [EngineConfiguration(winograd: false), EngineConfiguration(kernels: .portable)]
        if winograd { configurations += [.default, EngineConfiguration(kernels: .avx2)] }
        for configuration in configurations {
            let (batch1, batch8, ex) = try image0([h, w, cin], configuration: configuration) {
                Conv2D(filters: cout, kernelSize: (3, 3), padding: pad, activation: .relu)
            }
            let (kernel, bands) = try convBands(ex)
            guard kernel.directInInference else { continue }  // the portable kernels' routing leaves wide layers to GEMM
            #expect(bands > 1, "\(configuration)")
            #expect((kernel.winograd != nil) == (winograd && configuration.winograd && configuration.usesAVX2))
            #expect(batch1 == batch8, "\((h, w, cin, cout, pad)), \(configuration)")
        }
    }

    /// DenseNet-121's 3×3 layers at 14×14 and 7×7 (128 → 32). Training takes Winograd at 14×14 and
    /// leaves 7×7 (odd, so no Winograd) to im2col + OpenBLAS; in inference Winograd and the AVX-512
    /// direct kernel (in 6 and 2 bands at batch 1, the whole image's bits) compute the reference
    /// convolution.
    @Test(.enabled(if: EngineConfiguration.cpuHasAVX2FMA, "the direct path needs AVX2"), arguments: [14, 7])
    func smallImagesTakeTheDirectPathInInference(size: Int) throws {
        let (cin, cout) = (128, 32)
        var conv: Conv2D!
        let (batch1, batch8, ex) = try image0([size, size, cin]) {
            conv = Conv2D(filters: cout, kernelSize: (3, 3), padding: .same, activation: .relu)
            return conv
        }
        let (kernel, bands) = try convBands(ex)
        #expect(kernel.direct == (size == 14), "training: Winograd or im2col + OpenBLAS")
        #expect((kernel.winograd != nil) == (size == 14))
        #expect(kernel.directInInference == (size == 14 || EngineConfiguration.cpuHasAVX512))
        #expect(bands == (kernel.directInInference ? (size == 14 ? 6 : 2) : 1))
        #expect(batch1 == batch8)
        let reference = Reference.conv2d(
            input: Array(randomFloats(8 * size * size * cin, seed: 51).prefix(size * size * cin)), batch: 1, height: size,
            width: size, channels: cin, kernel: conv.kernel!.values, kernelSize: (3, 3), filters: cout, bias: nil,
            strides: (1, 1), padding: .same, relu: true)
        #expect(maxAbsDifference(batch1.map(Float.init(bitPattern:)), reference.output) <= 2e-6 * Float(cin).squareRoot())
    }

    /// Max (DenseNet's 3×3 stride 2 `same` stem pooling) and average pooling: bands give the bits.
    @Test func poolingBandsGiveTheWholeImagesBits() throws {
        let pools: [() -> any Layer] = [
            { MaxPooling2D(poolSize: (3, 3), strides: (2, 2), padding: .same) },
            { AveragePooling2D(poolSize: (2, 2), strides: (2, 2)) },
            { MaxPooling2D(poolSize: (2, 2), strides: (1, 1), padding: .valid) }
        ]
        for pool in pools {
            let (batch1, batch8, ex) = try image0([24, 22, 12], pool)
            let kernel = try #require(ex.kernels.compactMap { $0 as? PoolKernel }.first)
            #expect(imageBands(batch: 1, rows: kernel.g.ho, pixelsPerRow: kernel.g.wo) > 1)
            #expect(batch1 == batch8, "\(kernel.g)")
        }
    }

    /// ZeroPadding2D's rows on two workers (DenseNet's stem pads 3.3 MB), a batch of 8 in two ranges:
    /// every value is the input's or 0.
    @Test func zeroPaddingOnTheWorkersPlacesEveryValue() throws {
        let (h, w, c) = (40, 30, 16)
        let gc = try GradientCheck(inputShape: [h, w, c], batch: 8, mode: .inference) { g, x in
            try ZeroPadding2D(padding: ((1, 2), (3, 0))).call([x], in: g)
        }
        let input = randomFloats(8 * h * w * c, seed: 52)
        gc.setInput(input)
        let size = (h + 3) * (w + 3) * c
        gc.ex.outputs[gc.outID].update(repeating: .nan, count: 8 * size)
        gc.ex.forward(batch: 8, mode: .inference)
        var expected = [Float](repeating: 0, count: 8 * size)
        for n in 0..<8 {
            for y in 0..<h {
                for x in 0..<w {
                    for ch in 0..<c {
                        expected[n * size + ((y + 1) * (w + 3) + x + 3) * c + ch] = input[((n * h + y) * w + x) * c + ch]
                    }
                }
            }
        }
        #expect(UnsafeBufferPointer(start: gc.ex.outputs[gc.outID], count: 8 * size).map(\.bitPattern) == expected.map(\.bitPattern))
    }

    /// The im2col and 1×1 GEMMs in bands (stride 2 and a 7×7 window, as DenseNet's stem; a 1×1 bottleneck):
    /// the reference convolution's values (OpenBLAS rounds bands as it chooses).
    @Test(arguments: [(32, 30, 3, 16, 7, 2), (14, 14, 40, 24, 1, 1), (20, 20, 64, 48, 3, 1)])
    func gemmBandsComputeTheConvolution(h: Int, w: Int, cin: Int, cout: Int, k: Int, stride: Int) throws {
        let input = randomFloats(8 * h * w * cin, seed: 51)
        var conv: Conv2D!
        let (batch1, _, ex) = try image0([h, w, cin], configuration: EngineConfiguration(convolutions: .blas)) {
            conv = Conv2D(filters: cout, kernelSize: (k, k), strides: (stride, stride), padding: .same, activation: .relu)
            return conv
        }
        #expect(try convBands(ex).bands > 1)
        let reference = Reference.conv2d(
            input: Array(input.prefix(h * w * cin)), batch: 1, height: h, width: w, channels: cin, kernel: conv.kernel!.values,
            kernelSize: (k, k), filters: cout, bias: nil, strides: (stride, stride), padding: .same, relu: true)
        #expect(maxAbsDifference(batch1.map(Float.init(bitPattern:)), reference.output) <= 1e-5)
    }

    /// densenet-mini op by op in inference (no image chains: every convolution and pooling runs its own
    /// bands; the dense blocks normalise into their convolutions' padded bands): every node's output at
    /// batch 1 is image 0's in a batch of 8, bit for bit.
    @Test(.enabled(if: EngineConfiguration.cpuHasAVX2FMA, "densenet-mini's convolutions are direct with AVX2"))
    func denseNetMiniAtBatchOneIsBitIdentical() throws {
        let model = try Model(root: DenseNet.mini(), inputShape: [28, 28, 1], seed: 3, parallel: Parallel(workers: 2))
        let ex = Executor(
            nodes: model.nodes, capacity: 8, parallel: model.parallel, configuration: model.configuration, chainImages: false)
        #expect(ex.kernels.compactMap { $0 as? ConvKernel }.allSatisfy { $0.direct })
        let images = randomFloats(8 * 784, seed: 12, range: 0...1)
        for i in images.indices { ex.outputs[model.inputID][i] = images[i] }
        var outputs: [[[UInt32]]] = []
        for batch in [8, 1] {
            ex.forward(batch: batch, mode: .inference)
            outputs.append(ex.sizes.indices.map { UnsafeBufferPointer(start: ex.outputs[$0], count: ex.sizes[$0]).map(\.bitPattern) })
        }
        for i in ex.sizes.indices { #expect(outputs[0][i] == outputs[1][i], "node \(i)") }
    }
}
