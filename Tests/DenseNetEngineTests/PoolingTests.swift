import Testing
@testable import DenseNetEngine

/// Max pooling's exact results: the first maximum of each window in scan order (strict >, so a
/// tie or a NaN never replaces the current winner), and that pixel as the argmax the backward
/// pass routes the gradient to.
@Suite struct PoolingTests {
    /// 2×2 windows at stride 2 over 16 channels take the AVX2 kernel where the CPU has it (and the
    /// configuration asks for it); odd sizes leave the last row and column out ('valid'). Inputs
    /// with ties, NaNs and signed zeros.
    @Test(arguments: EngineConfiguration.Kernels.allCases)
    func maxPool2x2MatchesScanOrderRule(kernels: EngineConfiguration.Kernels) throws {
        let (h, w, c, batch) = (7, 9, 16, 3)
        let configuration = EngineConfiguration(kernels: kernels)
        let gc = try GradientCheck(inputShape: [h, w, c], batch: batch, configuration: configuration) { g, x in
            try MaxPooling2D().call([x], in: g)
        }
        let pool = try #require(gc.ex.kernels.compactMap { $0 as? PoolKernel }.first)
        #expect(pool.vectorTwoByTwo == configuration.usesAVX2)
        let choices: [Float] = [-1, 0, -0.0, 0.5, 0.5, 2, .nan, -.infinity]
        var rng = SplitMix64(seed: 5)
        let x = (0..<batch * h * w * c).map { _ in choices[Int(rng.next() % UInt64(choices.count))] }
        gc.setInput(x)
        gc.ex.forward(batch: batch, mode: .inference)
        let (ho, wo) = (h / 2, w / 2)
        let y = gc.ex.outputs[gc.outID]
        for n in 0..<batch {
            for oy in 0..<ho {
                for ox in 0..<wo {
                    for ch in 0..<c {
                        var best = 2 * oy * w + 2 * ox
                        for p in [best + 1, best + w, best + w + 1] where x[(n * h * w + p) * c + ch] > x[(n * h * w + best) * c + ch] {
                            best = p
                        }
                        let o = ((n * ho + oy) * wo + ox) * c + ch
                        #expect(y[o].bitPattern == x[(n * h * w + best) * c + ch].bitPattern, "output \((n, oy, ox, ch))")
                        #expect(pool.argmax[o] == Int32(best), "argmax \((n, oy, ox, ch))")
                    }
                }
            }
        }
    }
}
