import Testing
@testable import DenseNetEngine

/// Finite-difference checks (central differences, f = sum(r * y) accumulated in Double; Float forward).
/// Pass criterion: |numeric - analytic| <= atol + rtol * max|analytic| (defaults atol 1e-3, rtol 1e-2, h 1e-2).
@Suite struct GradientCheckTests {
    func conv(
        _ shape: [Int], filters: Int, k: (Int, Int), s: (Int, Int), pad: Padding, relu: Bool = false, bias: Bool = true,
        batch: Int = 2
    ) throws {
        let gc = try GradientCheck(inputShape: shape, batch: batch) { g, x in
            try Conv2D(
                filters: filters, kernelSize: k, strides: s, padding: pad, useBias: bias,
                activation: relu ? .relu : .linear
            ).call([x], in: g)
        }
        gc.setInput(randomFloats(batch * product(shape), seed: 1))
        // non-zero biases so the bias path is exercised
        for v in gc.variables where v.name == "bias" { try v.setValues(randomFloats(v.count, seed: 5, range: -0.2...0.2)) }
        let (worst, detail) = gc.worstRatio()
        #expect(worst <= 1, "\(detail)")
    }

    @Test func conv2DSame3x3() throws { try conv([6, 5, 3], filters: 4, k: (3, 3), s: (1, 1), pad: .same) }
    @Test func conv2DValid3x3() throws { try conv([6, 5, 3], filters: 4, k: (3, 3), s: (1, 1), pad: .valid) }
    @Test func conv2DSameStride2OddInput() throws { try conv([7, 7, 2], filters: 3, k: (3, 3), s: (2, 2), pad: .same) }
    @Test func conv2DValidStride2() throws { try conv([8, 7, 2], filters: 3, k: (3, 2), s: (2, 2), pad: .valid) }
    @Test func conv2D7x7Stride2NoBias() throws { try conv([9, 9, 2], filters: 3, k: (7, 7), s: (2, 2), pad: .same, bias: false) }
    @Test func conv2D1x1() throws { try conv([4, 4, 5], filters: 3, k: (1, 1), s: (1, 1), pad: .same) }

    @Test func conv2DRelu() throws {
        // relu kinks: the check uses h small relative to typical |pre-activation|
        let gc = try GradientCheck(inputShape: [5, 5, 2], batch: 2) { g, x in
            try Conv2D(filters: 3, kernelSize: (3, 3), padding: .same, activation: .relu).call([x], in: g)
        }
        gc.setInput(randomFloats(100, seed: 3))
        let (worst, detail) = gc.worstRatio(h: 1e-3, atol: 2e-3)
        #expect(worst <= 1, "\(detail)")
    }

    @Test func batchNormTraining() throws {
        let gc = try GradientCheck(inputShape: [3, 3, 4], batch: 3) { g, x in
            let bn = BatchNormalization()
            let y = try bn.call([x], in: g)
            try bn.gamma!.setValues(randomFloats(4, seed: 11, range: 0.5...1.5))
            try bn.beta!.setValues(randomFloats(4, seed: 12))
            return y
        }
        gc.setInput(randomFloats(3 * 36, seed: 2, range: -2...2))
        let (worst, detail) = gc.worstRatio()
        #expect(worst <= 1, "\(detail)")
    }

    @Test func batchNormInference() throws {
        let gc = try GradientCheck(inputShape: [2, 2, 3], batch: 2, mode: .inference) { g, x in
            let bn = BatchNormalization()
            let y = try bn.call([x], in: g)
            try bn.movingMean!.setValues([0.1, -0.2, 0.3])
            try bn.movingVariance!.setValues([0.5, 2, 1.5])
            return y
        }
        gc.setInput(randomFloats(24, seed: 2))
        let (worst, detail) = gc.worstRatio()
        #expect(worst <= 1, "\(detail)")
    }

    @Test func relu() throws {
        let gc = try GradientCheck(inputShape: [3, 3, 2], batch: 2) { g, x in try g.apply(ReLUOp(), [x]) }
        gc.setInput(awayFromZero(36, seed: 4))
        let (worst, detail) = gc.worstRatio()
        #expect(worst <= 1, "\(detail)")
    }

    @Test func concatenateWithFanOut() throws {
        // concat([x, conv(x)]): x's gradient is the sum of two paths (accumulate logic).
        let gc = try GradientCheck(inputShape: [4, 4, 3], batch: 2) { g, x in
            let h = try Conv2D(filters: 2, kernelSize: (3, 3), padding: .same).call([x], in: g)
            return try Concatenate().call([x, h], in: g)
        }
        gc.setInput(randomFloats(96, seed: 6))
        let (worst, detail) = gc.worstRatio()
        #expect(worst <= 1, "\(detail)")
    }

    @Test func maxPool2x2() throws {
        let gc = try GradientCheck(inputShape: [6, 5, 2], batch: 2) { g, x in try MaxPooling2D().call([x], in: g) }
        gc.setInput(distinctValues(120, seed: 8))
        let (worst, detail) = gc.worstRatio()
        #expect(worst <= 1, "\(detail)")
    }

    @Test func maxPool3x3Stride2Same() throws {
        let gc = try GradientCheck(inputShape: [7, 6, 2], batch: 2) { g, x in
            try MaxPooling2D(poolSize: (3, 3), strides: (2, 2), padding: .same).call([x], in: g)
        }
        gc.setInput(distinctValues(168, seed: 9))
        let (worst, detail) = gc.worstRatio()
        #expect(worst <= 1, "\(detail)")
    }

    @Test func averagePool() throws {
        for (pool, stride, pad) in [((2, 2), (2, 2), Padding.valid), ((3, 3), (2, 2), Padding.same)] {
            let gc = try GradientCheck(inputShape: [7, 6, 3], batch: 2) { g, x in
                try AveragePooling2D(poolSize: pool, strides: stride, padding: pad).call([x], in: g)
            }
            gc.setInput(randomFloats(252, seed: 10))
            let (worst, detail) = gc.worstRatio()
            #expect(worst <= 1, "\(pool) \(pad): \(detail)")
        }
    }

    @Test func averagePoolSameDividesByValidCount() throws {
        // 3x3 input of ones, 2x2 pool stride 2 'same' -> 2x2 output, corner windows partially padded: still 1.
        let gc = try GradientCheck(inputShape: [3, 3, 1], batch: 1) { g, x in
            try AveragePooling2D(poolSize: (2, 2), padding: .same).call([x], in: g)
        }
        gc.setInput([Float](repeating: 1, count: 9))
        _ = gc.f()
        #expect(Array(UnsafeBufferPointer(start: gc.ex.outputs[gc.outID], count: 4)) == [1, 1, 1, 1])
    }

    @Test func globalPools() throws {
        let ga = try GradientCheck(inputShape: [4, 3, 5], batch: 2) { g, x in try GlobalAveragePooling2D().call([x], in: g) }
        ga.setInput(randomFloats(120, seed: 12))
        let a = ga.worstRatio()
        #expect(a.ratio <= 1, "\(a.detail)")
        let gm = try GradientCheck(inputShape: [4, 3, 5], batch: 2) { g, x in try GlobalMaxPooling2D().call([x], in: g) }
        gm.setInput(distinctValues(120, seed: 13))
        let m = gm.worstRatio()
        #expect(m.ratio <= 1, "\(m.detail)")
    }

    @Test func zeroPaddingAndFlatten() throws {
        let gc = try GradientCheck(inputShape: [3, 4, 2], batch: 2) { g, x in
            let p = try ZeroPadding2D(padding: ((1, 2), (3, 0))).call([x], in: g)
            #expect(p.shape == [6, 7, 2])
            return try Flatten().call([p], in: g)
        }
        gc.setInput(randomFloats(48, seed: 14))
        let (worst, detail) = gc.worstRatio()
        #expect(worst <= 1, "\(detail)")
    }

    @Test func dense() throws {
        for act in [ActivationFunction.linear, .relu] {
            let gc = try GradientCheck(inputShape: [7], batch: 3) { g, x in
                let d = Dense(units: 5, activation: act)
                let y = try d.call([x], in: g)
                try d.bias!.setValues(randomFloats(5, seed: 15, range: -0.3...0.3))
                return y
            }
            gc.setInput(randomFloats(21, seed: 16))
            let (worst, detail) = gc.worstRatio(h: act == .relu ? 1e-3 : 1e-2, atol: 2e-3)
            #expect(worst <= 1, "\(act): \(detail)")
        }
    }

    @Test func softmaxOpGeneric() throws {
        let gc = try GradientCheck(inputShape: [6], batch: 3) { g, x in try g.apply(SoftmaxOp(), [x]) }
        gc.setInput(randomFloats(18, seed: 17, range: -2...2))
        let (worst, detail) = gc.worstRatio(atol: 1e-4)
        #expect(worst <= 1, "\(detail)")
    }

    @Test func softmaxCrossEntropyFused() throws {
        // Model: flatten -> dense(softmax); loss gradient checked against finite differences of the loss.
        let root = FunctionalModel(
            name: "m",
            nodes: [
                .init(Flatten(name: "f"), ["input_1"]), .init(Dense(units: 4, activation: .softmax, name: "d"), ["f"])
            ], outputName: "d")
        let model = try Model(root: root, inputShape: [2, 3], seed: 3)
        let x = randomFloats(3 * 6, seed: 18, range: -2...2)
        let labels = [0, 3, 2]
        _ = try model.lossAndGradients(images: x, labels: labels)
        let vars = model.trainableVariables
        let analytic = vars.map { $0.gradient }
        for (k, v) in vars.enumerated() {
            for i in 0..<v.count {
                let old = v.data[i], h: Float = 1e-2
                v.data[i] = old + h
                v.markChanged()
                let fp = Double(try model.lossAndGradients(images: x, labels: labels))
                v.data[i] = old - h
                v.markChanged()
                let fm = Double(try model.lossAndGradients(images: x, labels: labels))
                v.data[i] = old
                v.markChanged()
                let num = (fp - fm) / Double(2 * h)
                #expect(abs(num - Double(analytic[k][i])) <= 2e-4 + 1e-2 * abs(num), "var \(k)[\(i)]")
            }
        }
        // Loss value against a direct Double computation: mean(logsumexp(z) - z_label).
        let w = vars[0].values, b = vars[1].values
        var expected = 0.0
        for n in 0..<3 {
            var z = [Double](repeating: 0, count: 4)
            for u in 0..<4 { z[u] = Double(b[u]); for i in 0..<6 { z[u] += Double(x[n * 6 + i]) * Double(w[i * 4 + u]) } }
            let m = z.max()!
            expected += m + log(z.map { exp($0 - m) }.reduce(0, +)) - z[labels[n]]
        }
        let loss = try model.lossAndGradients(images: x, labels: labels)
        #expect(abs(Double(loss) - expected / 3) < 1e-5)
    }
}

#if canImport(Glibc)
    import Glibc
    import TestSupport
#endif
