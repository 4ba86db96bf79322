import TestSupport
import Testing
@testable import DenseNetEngine

/// The configuration value picks each path (what the DENSENET_IO_* switches did through the
/// environment), and every path computes the same model up to rounding.
@Suite struct EngineConfigurationTests {
    /// The convolution kernel a configuration gives a 3×3 'same' convolution of 8 to 16 channels
    /// on 8×8 images (direct and Winograd-eligible by default on AVX2 machines).
    func convolution(_ configuration: EngineConfiguration) throws -> ConvKernel {
        let gc = try GradientCheck(inputShape: [8, 8, 8], batch: 1, mode: .inference, configuration: configuration) { g, x in
            try Conv2D(filters: 16, kernelSize: (3, 3), padding: .same).call([x], in: g)
        }
        return try #require(gc.ex.kernels.compactMap { $0 as? ConvKernel }.first)
    }

    @Test func convolutionPaths() throws {
        let automatic = try convolution(.default)
        #expect(automatic.direct)
        #expect(automatic.wide == EngineConfiguration.cpuHasAVX2FMA)
        #expect((automatic.winograd != nil) == EngineConfiguration.cpuHasAVX2FMA)
        let portable = try convolution(EngineConfiguration(kernels: .portable))
        #expect(!portable.wide)
        #expect(portable.winograd == nil)
        #expect(!(try convolution(EngineConfiguration(convolutions: .blas))).direct)
        #expect(!(try convolution(EngineConfiguration(directMaxOutputChannels: 8))).direct)
        let noWinograd = try convolution(EngineConfiguration(winograd: false))
        #expect(noWinograd.direct)
        #expect(noWinograd.winograd == nil)
    }

    /// OpenBLAS runs kernels as wide as the CPU's vectors once the engine has run a GEMM (a Dense
    /// layer's): Debian's OpenBLAS names a CPU newer than itself `Prescott` (SSE3) unless told
    /// otherwise. The user's `OPENBLAS_CORETYPE` stands.
    @Test func openBLASKernelsFitTheCPU() throws {
        let gc = try GradientCheck(inputShape: [8], batch: 2, mode: .inference) { g, x in
            try Dense(units: 4).call([x], in: g)
        }
        gc.setInput(randomFloats(16, seed: 1))
        gc.ex.forward(batch: 2, mode: .inference)
        try #require(BLAS.userCoreType == nil, "OPENBLAS_CORETYPE is set: the user chose the kernels")
        #expect(BLAS.kernelsFitTheCPU, "OpenBLAS runs \(BLAS.coreName)")
    }

    /// densenet-mini's predictions and loss gradients on every path stay within rounding of the
    /// default's, float64 sums (image-by-image products, float64 weight-gradient sums, on the
    /// direct and the im2col paths) included.
    @Test(arguments: [
        EngineConfiguration(kernels: .portable), EngineConfiguration(convolutions: .blas),
        EngineConfiguration(winograd: false), EngineConfiguration(summation: .float64),
        EngineConfiguration(convolutions: .blas, summation: .float64)
    ])
    func modelOnEveryPath(configuration: EngineConfiguration) throws {
        let model = try Model(root: DenseNet.mini(), inputShape: [28, 28, 1], seed: 4, parallel: Parallel(workers: 2))
        let images = randomFloats(3 * 784, seed: 8, range: 0...1), labels = [3, 1, 4]
        let expected = try model.predict(images, batchSize: 3)
        let expectedLoss = try model.lossAndGradients(images: images, labels: labels)
        let expectedGradients = model.trainableVariables.map(\.gradient)
        model.configuration = configuration
        #expect(model.executor(capacity: 3).configuration == configuration)
        let predicted = try model.predict(images, batchSize: 3)
        #expect(zip(predicted, expected).allSatisfy { abs($0 - $1) <= 1e-5 })
        #expect(abs(try model.lossAndGradients(images: images, labels: labels) - expectedLoss) <= 1e-5)
        for (gradient, expected) in zip(model.trainableVariables.map(\.gradient), expectedGradients) {
            let scale = expected.map(abs).max() ?? 0
            #expect(zip(gradient, expected).allSatisfy { abs($0 - $1) <= 1e-3 * scale + 1e-6 })
        }
    }
}
