import CKernels
import TestSupport
import Testing
@testable import DenseNetEngine

/// The direct convolution kernels (Kernels/DirectConv.swift) against plain Double loops: forward
/// output, input gradient, kernel and bias gradients of a Conv2D node, for the shapes the engine
/// routes to them (stride 1; channels multiples of 4 for the Swift kernels, any for the AVX2 ones).
@Suite struct KernelConvTests {
    struct Case { let h, w, cin, cout: Int; let k: (Int, Int); let pad: Padding; let relu: Bool; let batch: Int }

    /// `check` with the AVX2 kernels (where the CPU has them) and with the portable ones.
    func check(_ c: Case) throws {
        for kernels in EngineConfiguration.Kernels.allCases { try check(c, EngineConfiguration(kernels: kernels)) }
    }

    /// The checks with one configuration; the convolution's kernel.
    @discardableResult
    func check(_ c: Case, _ configuration: EngineConfiguration) throws -> ConvKernel {
        var conv: Conv2D!
        let gc = try GradientCheck(inputShape: [c.h, c.w, c.cin], batch: c.batch, configuration: configuration) { g, x in
            conv = Conv2D(filters: c.cout, kernelSize: c.k, padding: c.pad, activation: c.relu ? .relu : .linear)
            return try conv.call([x], in: g)
        }
        let kernelNode = try #require(gc.ex.kernels.compactMap { $0 as? ConvKernel }.first)
        let profitable = DirectConv.isProfitable(
            cin: c.cin, cout: c.cout, kernel: c.k, strides: (1, 1), outputPixels: c.h * c.w,
            winograd: kernelNode.winograd?.tile == 2, configuration: configuration)
        #expect(kernelNode.direct == profitable, "the path its shape is routed to, \(configuration.kernels) kernels")
        let xs = randomFloats(c.batch * c.h * c.w * c.cin, seed: 21)
        gc.setInput(xs)
        let bias = randomFloats(c.cout, seed: 22, range: -0.3...0.3)
        try conv.bias!.setValues(bias)
        let w = conv.kernel!.values
        let (ana, params) = gc.analytic()
        let ref = Reference.conv2d(
            input: xs, batch: c.batch, height: c.h, width: c.w, channels: c.cin, kernel: w,
            kernelSize: c.k, filters: c.cout, bias: bias, strides: (1, 1), padding: c.pad, relu: c.relu)
        let (ho, wo) = (ref.shape[1], ref.shape[2])
        let y = Array(UnsafeBufferPointer(start: gc.ex.outputs[gc.outID], count: ref.output.count))
        #expect(maxAbsDifference(y, ref.output) <= 1e-5, "forward, \(configuration.kernels) kernels")

        // dy = r masked by relu; dx, dW, db by direct Double loops
        let pt = convOutputGeometry(input: c.h, kernel: c.k.0, stride: 1, padding: c.pad).padBefore
        let pl = convOutputGeometry(input: c.w, kernel: c.k.1, stride: 1, padding: c.pad).padBefore
        let dy = gc.r.indices.map { i in c.relu && ref.output[i] <= 0 ? 0 : Double(gc.r[i]) }
        var dx = [Double](repeating: 0, count: xs.count), dw = [Double](repeating: 0, count: w.count)
        var db = [Double](repeating: 0, count: c.cout)
        for n in 0..<c.batch {
            for oy in 0..<ho {
                for ox in 0..<wo {
                    for co in 0..<c.cout {
                        let g = dy[((n * ho + oy) * wo + ox) * c.cout + co]
                        db[co] += g
                        for ky in 0..<c.k.0 {
                            for kx in 0..<c.k.1 {
                                let iy = oy - pt + ky, ix = ox - pl + kx
                                if iy < 0 || iy >= c.h || ix < 0 || ix >= c.w { continue }
                                for ci in 0..<c.cin {
                                    let xi = ((n * c.h + iy) * c.w + ix) * c.cin + ci, wi = ((ky * c.k.1 + kx) * c.cin + ci) * c.cout + co
                                    dx[xi] += g * Double(w[wi])
                                    dw[wi] += g * Double(xs[xi])
                                }
                            }
                        }
                    }
                }
            }
        }
        #expect(maxAbsDifference(ana, dx.map(Float.init)) <= 1e-4, "input gradient, \(configuration.kernels) kernels")
        #expect(maxAbsDifference(params[0], dw.map(Float.init)) <= 1e-3, "kernel gradient, \(configuration.kernels) kernels")
        #expect(maxAbsDifference(params[1], db.map(Float.init)) <= 1e-3, "bias gradient, \(configuration.kernels) kernels")
        return kernelNode
    }

    /// A wide reduction (9·72 taps) on a 14×14 image trains on the direct path where Winograd F(2×2, 3×3)
    /// takes its forward and input-gradient passes (AVX2), and stays with OpenBLAS at an odd width, where it
    /// cannot, and at 16×16 with AVX-512, where F(4×4, 3×3) would (the portable kernels' own rule is
    /// `isProfitable`'s, which `check` asserts).
    @Test(arguments: [(14, 14), (14, 13), (16, 16)])
    func wideReductionsTrainDirectWhereWinogradTakesThem(h: Int, w: Int) throws {
        for kernels in EngineConfiguration.Kernels.allCases {
            let configuration = EngineConfiguration(kernels: kernels)
            let node = try check(Case(h: h, w: w, cin: 72, cout: 8, k: (3, 3), pad: .same, relu: false, batch: 1), configuration)
            if configuration.usesAVX2 { #expect(node.direct == (w % 2 == 0 && !(configuration.usesAVX512 && h == 16))) }
        }
    }

    /// Training's input gradient by Winograd with the flipped kernel where the AVX2 kernels run: F(4×4, 3×3)
    /// on AVX-512 for sizes that are multiples of 4, F(2×2, 3×3) otherwise.
    @Test(arguments: [(8, 12), (6, 10)])
    func same3x3InputGradientByWinograd(h: Int, w: Int) throws {
        for kernels in EngineConfiguration.Kernels.allCases {
            let configuration = EngineConfiguration(kernels: kernels)
            let node = try check(Case(h: h, w: w, cin: 16, cout: 8, k: (3, 3), pad: .same, relu: true, batch: 2), configuration)
            #expect(node.direct && (node.winogradBackwardData != nil) == configuration.usesAVX2)
            let tile = configuration.usesAVX512 && h % 4 == 0 ? 4 : 2
            #expect(node.winogradBackwardData.map { $0.tile == tile && $0.cin == 8 && $0.cout == 16 } ?? true)
        }
    }

    /// The F(4×4, 3×3) kernel transform, eight positions to an AVX-512 vector of doubles, is a Double
    /// loop's bits (each product rounded, summed left to right, rounded once to float), whole or as two
    /// workers' halves.
    @Test(.enabled(if: EngineConfiguration.cpuHasAVX512, "the CPU has no AVX-512"))
    func winograd4KernelTransformIsDoubleArithmetic() {
        let (cin, cout) = (8, 24), step = 8 * 24
        let w = randomFloats(9 * step, seed: 71, range: -3...3)
        let g: [[Double]] = [
            [1.0 / 4, 0, 0], [-1.0 / 6, -1.0 / 6, -1.0 / 6], [-1.0 / 6, 1.0 / 6, -1.0 / 6],
            [1.0 / 24, 1.0 / 12, 1.0 / 6], [1.0 / 24, -1.0 / 12, 1.0 / 6], [0, 0, 1]
        ]
        /// a·b with each product rounded, summed left to right.
        func dot(_ a: [Double], _ b: [Double]) -> Double {
            let first: Double = a[0] * b[0], second: Double = a[1] * b[1], third: Double = a[2] * b[2]
            return first + second + third
        }
        var expected = [Float](repeating: 0, count: 36 * step)
        for at in 0..<step {
            let gw = (0..<6).map { r in (0..<3).map { kx in dot(g[r], [0, 3, 6].map { Double(w[($0 + kx) * step + at]) }) } }
            for r in 0..<6 {
                for c in 0..<6 { expected[(r * 6 + c) * step + at] = Float(dot(gw[r], g[c])) }
            }
        }
        var whole = [Float](repeating: .nan, count: expected.count), halves = whole
        ckernels_winograd4_kernel(w, cin, cout, 0, step, &whole)
        ckernels_winograd4_kernel(w, cin, cout, 0, step / 2, &halves)
        ckernels_winograd4_kernel(w, cin, cout, step / 2, step / 2, &halves)
        for (transform, how) in [(whole, "whole"), (halves, "in halves")] {
            let differing = zip(transform, expected).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "transformed \(how)")
        }
    }

    @Test func same3x3Cout4() throws { try check(Case(h: 9, w: 7, cin: 8, cout: 4, k: (3, 3), pad: .same, relu: false, batch: 3)) }
    @Test func same3x3Cout8Relu() throws { try check(Case(h: 6, w: 11, cin: 12, cout: 8, k: (3, 3), pad: .same, relu: true, batch: 2)) }
    @Test func same3x3Cout12() throws { try check(Case(h: 14, w: 15, cin: 4, cout: 12, k: (3, 3), pad: .same, relu: false, batch: 2)) }
    @Test func same3x3Cout16LargeImage() throws {
        try check(Case(h: 15, w: 14, cin: 20, cout: 16, k: (3, 3), pad: .same, relu: false, batch: 2))
    }
    @Test func valid3x2Cout4() throws { try check(Case(h: 7, w: 6, cin: 8, cout: 4, k: (3, 2), pad: .valid, relu: false, batch: 2)) }
    @Test func same4x4EvenKernel() throws { try check(Case(h: 6, w: 5, cin: 4, cout: 8, k: (4, 4), pad: .same, relu: false, batch: 2)) }
    @Test func same1x1() throws { try check(Case(h: 4, w: 3, cin: 16, cout: 8, k: (1, 1), pad: .same, relu: true, batch: 9)) }

    /// Channel counts the AVX2 kernels take and the Swift ones do not (a first layer's cin = 1).
    @Test func oddChannelsFirstLayer() throws { try check(Case(h: 8, w: 9, cin: 1, cout: 8, k: (3, 3), pad: .same, relu: true, batch: 3)) }
    @Test func oddChannels() throws { try check(Case(h: 6, w: 7, cin: 5, cout: 13, k: (3, 3), pad: .same, relu: false, batch: 2)) }

    /// 3×3 'same' forward output and weight gradient of one h×w×cin image (seeded inputs), by the
    /// Swift kernels or the AVX2 ones (`narrow`: with the scratch that lets the last 1-8 output
    /// channels run with vectors over pixels). The output pixels are `ldy` floats apart (default
    /// cout); `y` holds all h·w·ldy floats, the gaps as the kernel left them (initially `gapFill`).
    func directImage(
        h: Int, w: Int, cin: Int, cout: Int, wide: Bool, narrow: Bool = true, fused: Bool = false,
        biasAndRelu: Bool = false, ldy: Int? = nil,
        gapFill: Float = 0
    ) -> (x: [Float], k: [Float], dy: [Float], y: [Float], dw: [Float]) {
        let x = randomFloats(h * w * cin, seed: 31), k = randomFloats(9 * cin * cout, seed: 32)
        let dy = randomFloats(h * w * cout, seed: 33)
        let (hp, wp) = (h + 2, w + 2), ldy = ldy ?? cout
        var xp = [Float](repeating: 0, count: hp * wp * cin), y = [Float](repeating: gapFill, count: h * w * ldy)
        var dw = [Float](repeating: 0, count: 9 * cin * cout)
        var scratch = [Float](repeating: .nan, count: DirectConv.forwardScratch(hp: hp, wp: wp, cin: cin, wide: wide))
        var bias = randomFloats(cout, seed: 34)
        x.withUnsafeBufferPointer { xb in
            xp.withUnsafeMutableBufferPointer { pb in
                DirectConv.pad(xb.baseAddress!, h: h, w: w, c: cin, top: 1, left: 1, hp: hp, wp: wp, into: pb.baseAddress!)
                k.withUnsafeBufferPointer { kb in
                    y.withUnsafeMutableBufferPointer { yb in
                        scratch.withUnsafeMutableBufferPointer { sb in
                            bias.withUnsafeMutableBufferPointer { bb in
                                DirectConv.forwardImage(
                                    xp: pb.baseAddress!, wp: wp, cin: cin, ho: h, wo: w, kh: 3, kw: 3,
                                    w: kb.baseAddress!, cout: cout, y: yb.baseAddress!, ldy: ldy, accumulate: false,
                                    bias: biasAndRelu ? bb.baseAddress : nil, relu: biasAndRelu,
                                    scratch: narrow ? sb.baseAddress : nil, fused: fused, wide: wide)
                            }
                        }
                    }
                }
                dy.withUnsafeBufferPointer { db in
                    dw.withUnsafeMutableBufferPointer { wb in
                        DirectConv.weightGradImage(
                            xp: pb.baseAddress!, wp: wp, cin: cin, ho: h, wo: w, kh: 3, kw: 3,
                            dy: db.baseAddress!, cout: cout, dw: wb.baseAddress!, partials: nil, first: true, wide: wide)
                    }
                }
            }
        }
        return (x, k, dy, y, dw)
    }

    /// Shapes (h, w, cin, cout) covering every output-channel chunk: 16, 8, and a rest of 4 or 8 (the
    /// AVX2 kernel's pixel-vector path, also alone and over rows longer than its 16-pixel blocks).
    static let chunkShapes = [
        (5, 6, 4, 16), (7, 4, 8, 12), (4, 9, 12, 24), (3, 3, 4, 28), (9, 20, 8, 4), (6, 17, 12, 4),
        (6, 19, 12, 8)
    ]

    /// Every output-channel chunk (16, 8 and the 4-lane or masked rest), of the Swift kernels and,
    /// where the CPU has them, the AVX2 ones (with channel counts only they take): forward and
    /// weight gradient of whole images against Double loops.
    @Test(arguments: EngineConfiguration.cpuHasAVX2FMA ? [false, true] : [false])
    func outputChunks(wide: Bool) throws {
        let odd = wide ? [(4, 5, 1, 3), (5, 3, 7, 21), (3, 6, 3, 1), (7, 19, 5, 2)] : []
        for (h, w, cin, cout) in Self.chunkShapes + odd {
            let (x, k, dy, y, dw) = directImage(h: h, w: w, cin: cin, cout: cout, wide: wide)
            let ref = Reference.conv2d(
                input: x, batch: 1, height: h, width: w, channels: cin, kernel: k, kernelSize: (3, 3),
                filters: cout, bias: nil, strides: (1, 1), padding: .same
            ).output
            #expect(maxAbsDifference(y, ref) <= 1e-5, "forward \((h, w, cin, cout))")
            if wide {
                let fused = directImage(h: h, w: w, cin: cin, cout: cout, wide: true, fused: true).y
                #expect(maxAbsDifference(fused, ref) <= 1e-5, "inference forward (FMA) \((h, w, cin, cout))")
            }
            var worst: Float = 0
            for ky in 0..<3 {
                for kx in 0..<3 {
                    for ci in 0..<cin {
                        for co in 0..<cout {
                            var s = 0.0
                            for oy in 0..<h {
                                for ox in 0..<w {
                                    let iy = oy + ky - 1, ix = ox + kx - 1
                                    if iy < 0 || iy >= h || ix < 0 || ix >= w { continue }
                                    s += Double(x[(iy * w + ix) * cin + ci]) * Double(dy[(oy * w + ox) * cout + co])
                                }
                            }
                            worst = Swift.max(worst, abs(Float(s) - dw[((ky * 3 + kx) * cin + ci) * cout + co]))
                        }
                    }
                }
            }
            #expect(worst <= 1e-4, "weight gradient \((h, w, cin, cout))")
        }
    }

    /// The AVX2 kernels round exactly as the Swift ones (no fused multiply-add, same order), so a
    /// machine without AVX2 computes the same bits.
    @Test(.enabled(if: EngineConfiguration.cpuHasAVX2FMA))
    func avx2MatchesSwiftBitForBit() {
        let bits = { (a: [Float]) in a.map(\.bitPattern) }
        for (h, w, cin, cout) in Self.chunkShapes {
            for biasAndRelu in [false, true] {
                let swift = directImage(h: h, w: w, cin: cin, cout: cout, wide: false, biasAndRelu: biasAndRelu)
                for narrow in [true, false] {
                    let avx2 = directImage(h: h, w: w, cin: cin, cout: cout, wide: true, narrow: narrow, biasAndRelu: biasAndRelu)
                    #expect(bits(avx2.y) == bits(swift.y), "forward \((h, w, cin, cout)), narrow: \(narrow), bias and relu: \(biasAndRelu)")
                    #expect(bits(avx2.dw) == bits(swift.dw), "weight gradient \((h, w, cin, cout))")
                }
            }
        }
    }

    /// Output pixels further apart than cout (a dense block's conv writing into the block buffer):
    /// the same bits in each pixel's first cout floats, the floats between them untouched.
    @Test(arguments: EngineConfiguration.cpuHasAVX2FMA ? [false, true] : [false])
    func stridedOutput(wide: Bool) {
        let bits = { (a: [Float]) in a.map(\.bitPattern) }
        for (h, w, cin, cout) in Self.chunkShapes {
            for biasAndRelu in [false, true] {
                let dense = directImage(h: h, w: w, cin: cin, cout: cout, wide: wide, biasAndRelu: biasAndRelu).y
                let ldy = cout + 5
                let strided = directImage(
                    h: h, w: w, cin: cin, cout: cout, wide: wide, biasAndRelu: biasAndRelu, ldy: ldy,
                    gapFill: -7
                ).y
                let pixels = (0..<h * w).map { Array(strided[$0 * ldy..<$0 * ldy + ldy]) }
                #expect(bits(pixels.flatMap { $0.prefix(cout) }) == bits(dense), "\((h, w, cin, cout)), bias and relu: \(biasAndRelu)")
                #expect(pixels.allSatisfy { $0.suffix(5) == [-7, -7, -7, -7, -7] }, "gaps \((h, w, cin, cout))")
            }
        }
    }

    /// Inference of eligible 3×3 convolutions by Winograd F(2×2, 3×3): the reference sum up to rounding,
    /// for one and two 16-channel output strips, tile counts below, at and beyond a block of 12, and
    /// both `same` and `valid` padding; and the transform follows the weights when they change.
    @Test(
        .enabled(if: EngineConfiguration.cpuHasAVX2FMA),
        arguments: [
            (6, 10, 8, 8, Padding.same, true), (14, 14, 16, 24, .same, false), (10, 26, 24, 16, .same, true),
            (4, 2, 32, 24, .same, false), (8, 12, 8, 16, .valid, true)
        ])
    func winogradInference(h: Int, w: Int, cin: Int, cout: Int, pad: Padding, relu: Bool) throws {
        var conv: Conv2D!
        let gc = try GradientCheck(inputShape: [h, w, cin], batch: 3, mode: .inference) { g, x in
            conv = Conv2D(filters: cout, kernelSize: (3, 3), padding: pad, activation: relu ? .relu : .linear)
            return try conv.call([x], in: g)
        }
        let node = try #require(gc.ex.kernels.compactMap { $0 as? ConvKernel }.first)
        #expect(node.winograd != nil, "takes the Winograd path")
        let xs = randomFloats(3 * h * w * cin, seed: 31)
        gc.setInput(xs)
        let bias = randomFloats(cout, seed: 32, range: -0.3...0.3)
        try conv.bias!.setValues(bias)
        for seed: UInt64 in [33, 34] {
            try conv.kernel!.setValues(randomFloats(9 * cin * cout, seed: seed, range: -0.3...0.3))
            gc.ex.forward(batch: 3, mode: .inference)
            let reference = Reference.conv2d(
                input: xs, batch: 3, height: h, width: w, channels: cin, kernel: conv.kernel!.values,
                kernelSize: (3, 3), filters: cout, bias: bias, strides: (1, 1), padding: pad, relu: relu)
            let y = Array(UnsafeBufferPointer(start: gc.ex.outputs[gc.outID], count: reference.output.count))
            #expect(maxAbsDifference(y, reference.output) <= 2e-6 * Float(cin).squareRoot(), "weights \(seed)")
        }
    }

    /// F(4×4, 3×3) (the AVX-512 kernels, output sizes multiples of 4) computes the convolution within
    /// its rounding (its larger transform constants round ≈ 6× more than F(2×2, 3×3), ≈ 1.2e-5·√cin):
    /// 8-lane channel tails (cin 24, cout 8/40), tile counts below a block of 12 (4), beyond it (30:
    /// blocks of 12, then 4 and 2) and DenseNet-121's 28×28 layer, with and without relu and bias.
    @Test(
        .enabled(if: EngineConfiguration.cpuHasAVX2FMA && EngineConfiguration.cpuHasAVX512, "the CPU has no AVX-512"),
        arguments: [
            (8, 8, 24, 8, true), (24, 20, 16, 40, false), (28, 28, 128, 32, true), (12, 16, 32, 32, false)
        ])
    func winograd4x4Inference(h: Int, w: Int, cin: Int, cout: Int, relu: Bool) throws {
        var conv: Conv2D!
        let gc = try GradientCheck(
            inputShape: [h, w, cin], batch: 2, mode: .inference, configuration: EngineConfiguration(directMaxOutputChannels: 64)
        ) { g, x in
            conv = Conv2D(filters: cout, kernelSize: (3, 3), padding: .same, activation: relu ? .relu : .linear)
            return try conv.call([x], in: g)
        }
        let node = try #require(gc.ex.kernels.compactMap { $0 as? ConvKernel }.first)
        #expect(node.winograd?.tile == 4)
        let xs = randomFloats(2 * h * w * cin, seed: 51)
        gc.setInput(xs)
        let bias = randomFloats(cout, seed: 52, range: -0.3...0.3)
        try conv.bias!.setValues(bias)
        try conv.kernel!.setValues(randomFloats(9 * cin * cout, seed: 53, range: -0.3...0.3))
        gc.ex.forward(batch: 2, mode: .inference)
        let reference = Reference.conv2d(
            input: xs, batch: 2, height: h, width: w, channels: cin, kernel: conv.kernel!.values,
            kernelSize: (3, 3), filters: cout, bias: bias, strides: (1, 1), padding: .same, relu: relu)
        let y = Array(UnsafeBufferPointer(start: gc.ex.outputs[gc.outID], count: reference.output.count))
        #expect(maxAbsDifference(y, reference.output) <= 2e-5 * Float(cin).squareRoot())
    }

    /// The AVX-512 direct forward kernel (channel counts that are multiples of 32) gives the AVX2 kernel's
    /// bits in training (Winograd off: it would take the even sizes' forward passes): the output, the input gradient (the same kernel on the flipped weights) and
    /// the weight gradients; 16 and 24 channels (the AVX2 path) and 5×5 kernels included, odd sizes, pixels
    /// beyond a block of 12 (the rest in blocks of 4, then 1, 2 or 3: 61, 133, 46 and 47 row positions).
    @Test(
        .enabled(if: EngineConfiguration.cpuHasAVX2FMA && EngineConfiguration.cpuHasAVX512, "the CPU has no AVX-512"),
        arguments: [
            (7, 7, 32, 32, 3), (9, 13, 64, 32, 3), (6, 6, 32, 64, 3), (5, 8, 16, 32, 5), (8, 8, 32, 24, 3), (7, 5, 32, 32, 3)
        ])
    func directAVX512EqualsAVX2(h: Int, w: Int, cin: Int, cout: Int, kernel: Int) throws {
        func run(_ kernels: EngineConfiguration.Kernels) throws -> [[UInt32]] {
            let gc = try GradientCheck(
                inputShape: [h, w, cin], batch: 2,
                configuration: EngineConfiguration(kernels: kernels, directMaxOutputChannels: 64, winograd: false)
            ) { g, x in
                try Conv2D(filters: cout, kernelSize: (kernel, kernel), padding: .same, activation: .relu).call([x], in: g)
            }
            let node = try #require(gc.ex.kernels.compactMap { $0 as? ConvKernel }.first)
            #expect(node.direct && node.usesAVX512 == (kernels == .automatic))
            gc.setInput(randomFloats(2 * h * w * cin, seed: 43))
            let (input, parameters) = gc.analytic()
            let output = UnsafeBufferPointer(start: gc.ex.outputs[gc.outID], count: 2 * h * w * cout)
            return [output.map(\.bitPattern), input.map(\.bitPattern)] + parameters.map { $0.map(\.bitPattern) }
        }
        #expect(try run(.automatic) == run(.avx2))
    }

    /// The AVX-512 weight-gradient kernel gives the AVX2 kernel's bits, fused and unfused, assigning
    /// (the first image) and accumulating (the second): channel counts that are multiples of 8, 16 and
    /// 32, DenseNet-121's 128 → 32 (12-channel blocks and an 8-channel tail), odd ones (masked lanes,
    /// input-channel tails of 8, 4 and 1), fewer than 16 output channels (the AVX2 fallback), 1×1, 2×2
    /// and 5×5 kernels, and images walked in row bands (40 rows as 16 + 16 + 8, 64 as 46 + 18).
    @Test(
        .enabled(if: EngineConfiguration.cpuHasAVX2FMA && EngineConfiguration.cpuHasAVX512, "the CPU has no AVX-512"),
        arguments: [
            (7, 9, 8, 16, 3), (6, 5, 16, 32, 3), (5, 11, 32, 64, 3), (12, 13, 128, 32, 3), (4, 7, 37, 45, 3),
            (3, 6, 5, 17, 5), (6, 6, 24, 48, 1), (5, 5, 20, 31, 2), (8, 3, 3, 8, 3), (40, 41, 128, 32, 3),
            (64, 30, 64, 20, 3)
        ])
    func weightGradAVX512EqualsAVX2(h: Int, w: Int, cin: Int, cout: Int, kernel k: Int) {
        let wp = w + k, hp = h + k - 1
        let images = [
            (randomFloats(hp * wp * cin, seed: 51), randomFloats(h * w * cout, seed: 52)),
            (randomFloats(hp * wp * cin, seed: 53), randomFloats(h * w * cout, seed: 54))
        ]
        func gradient(avx512: Bool, fused: Bool) -> [UInt32] {
            var dw = [Float](repeating: .nan, count: k * k * cin * cout)
            var partials = [Float](repeating: .nan, count: dw.count)
            for (n, (xp, dy)) in images.enumerated() {
                DirectConv.weightGradImage(
                    xp: xp, wp: wp, cin: cin, ho: h, wo: w, kh: k, kw: k, dy: dy, cout: cout, dw: &dw,
                    partials: &partials, first: n == 0, fused: fused, wide: true, avx512: avx512)
            }
            return dw.map(\.bitPattern)
        }
        for fused in [true, false] {
            let avx512 = gradient(avx512: true, fused: fused), avx2 = gradient(avx512: false, fused: fused)
            #expect(zip(avx512, avx2).filter { $0 != $1 }.count == 0, "weights that differ, fused: \(fused)")
        }
    }

    /// The AVX-512 BatchNorm normalize (and ReLU), which the direct convolutions run while padding a
    /// dense block's head, gives the AVX2 kernel's bits: full 16-channel vectors and masked rests, rows
    /// further apart than c, and inputs whose ReLU is a corner case (NaN, ±0, negative).
    @Test(
        .enabled(if: EngineConfiguration.cpuHasAVX2FMA && EngineConfiguration.cpuHasAVX512, "the CPU has no AVX-512"),
        arguments: [3, 8, 16, 37, 64])
    func normalizeRowsAVX512EqualsAVX2(channels c: Int) throws {
        let rows = 9, xs = c + 3
        var x = randomFloats(rows * xs, seed: 61, range: -2...2)
        x[0] = .nan
        x[1] = -0.0
        x[xs + c - 1] = 0
        func normalized(_ kernels: EngineConfiguration.Kernels, relu: Bool) throws -> [UInt32] {
            var bn: BatchNormalization!
            let gc = try GradientCheck(
                inputShape: [1, 1, c], batch: 1, mode: .inference, configuration: EngineConfiguration(kernels: kernels)
            ) { g, x in
                bn = BatchNormalization()
                return try bn.call([x], in: g)
            }
            try bn.movingMean!.setValues(randomFloats(c, seed: 62))
            try bn.movingVariance!.setValues(randomFloats(c, seed: 63, range: 0.5...2))
            try bn.gamma!.setValues(randomFloats(c, seed: 64))
            try bn.beta!.setValues(randomFloats(c, seed: 65))
            gc.ex.forward(batch: 1, mode: .inference)  // mean and scaling from the moving statistics
            let arithmetic = try #require(gc.ex.kernels.compactMap { $0 as? BatchNormKernel }.first).arithmetic
            #expect(arithmetic.usesAVX512 == (kernels == .automatic))
            var y = [Float](repeating: 7, count: rows * c)
            arithmetic.normalizeRows(x, stride: xs, into: &y, stride: c, rows: rows, relu: relu)
            return y.map(\.bitPattern)
        }
        for relu in [false, true] {
            #expect(try normalized(.automatic, relu: relu) == normalized(.avx2, relu: relu), "relu: \(relu)")
        }
    }

    /// The AVX-512 F(2×2, 3×3) Winograd kernel gives the AVX2 kernel's bits: full and 8-lane channel
    /// tails on both sides (cin 24, cout 8/24/40), one and two 32-channel GEMM strips, tile counts below,
    /// at and beyond a block of 12 (rests of 1, 2, 3, 4 and 5 tiles: blocks of 4, then the last 1-3), and
    /// DenseNet-121's channels (sizes that are not multiples of 4: those take F(4×4, 3×3)).
    @Test(
        .enabled(if: EngineConfiguration.cpuHasAVX2FMA && EngineConfiguration.cpuHasAVX512, "the CPU has no AVX-512"),
        arguments: [(6, 10, 8, 8), (14, 14, 16, 24), (10, 26, 24, 40), (4, 2, 32, 32), (26, 26, 128, 32)])
    func winogradAVX512EqualsAVX2(h: Int, w: Int, cin: Int, cout: Int) throws {
        func output(_ kernels: EngineConfiguration.Kernels) throws -> [UInt32] {
            let gc = try GradientCheck(
                inputShape: [h, w, cin], batch: 2, mode: .inference,
                configuration: EngineConfiguration(kernels: kernels, directMaxOutputChannels: 64)
            ) { g, x in
                try Conv2D(filters: cout, kernelSize: (3, 3), padding: .same, activation: .relu).call([x], in: g)
            }
            let node = try #require(gc.ex.kernels.compactMap { $0 as? ConvKernel }.first)
            #expect(node.winograd?.tile == 2 && node.usesAVX512 == (kernels == .automatic))
            gc.setInput(randomFloats(2 * h * w * cin, seed: 41))
            gc.ex.forward(batch: 2, mode: .inference)
            return UnsafeBufferPointer(start: gc.ex.outputs[gc.outID], count: 2 * h * w * cout).map(\.bitPattern)
        }
        #expect(try output(.automatic) == output(.avx2))
    }
}
