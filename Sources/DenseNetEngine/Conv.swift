// Conv2D: NHWC input, HWIO kernel; im2col + OpenBLAS sgemm, per-image work pieces.

import CKernels
import Glibc

/// Keras' `padding` argument of convolutions and poolings: `valid` uses only whole windows inside the input;
/// `same` pads with zeros (more after than before when odd, TensorFlow's rule) so the output is the input's
/// size divided by the stride, rounded up.
public enum Padding: String, Sendable { case valid, same }

/// Keras' `activation` argument as this engine supports it: `linear` (none), `relu`, or `softmax` (only for
/// `Dense`, where it ends a classifier and the training loss is fused on its logits).
public enum ActivationFunction: String, Sendable { case linear, relu, softmax }

/// Output size and leading pad for one spatial axis, TensorFlow's rule.
public func convOutputGeometry(input: Int, kernel: Int, stride: Int, padding: Padding) -> (output: Int, padBefore: Int) {
    switch padding {
    case .valid:
        return (input >= kernel ? (input - kernel) / stride + 1 : 0, 0)
    case .same:
        let out = (input + stride - 1) / stride
        let total = Swift.max((out - 1) * stride + kernel - input, 0)
        return (out, total / 2)
    }
}

/// Glorot-uniform fill: U(-l, l), l = sqrt(6 / (fanIn + fanOut)).
func glorotUniform(_ v: Variable, fanIn: Int, fanOut: Int, rng: inout SplitMix64) {
    let limit = Float((6.0 / Double(fanIn + fanOut)).squareRoot())
    for i in 0..<v.count { v.data[i] = (rng.nextUnitFloat() * 2 - 1) * limit }
    v.markChanged()
}

/// Number of reduction groups for a batch: depends only on the batch size (determinism rule).
@inline(__always) func reductionGroups(_ batch: Int) -> Int { Swift.min(batch, 8) }

/// Keras' `Conv2D`: a 2-D convolution of channels-last images with an HWIO kernel, an optional bias and a
/// fused `linear` or `relu` activation. The kernel starts Glorot-uniform and the bias at zero, as in Keras;
/// both are built by the first `call`, which knows the input's channels.
public final class Conv2D: Layer, Op {
    /// `Conv2D`, as Keras' config names the class.
    public let kerasClassName = "Conv2D"
    /// An explicit Keras name, e.g. DenseNet121's `conv1/conv`; nil lets Keras name it `conv2d`, `conv2d_1`,
    /// ….
    public let name: String?
    /// Output channels.
    public let filters: Int
    /// The window's height and width.
    public let kernelSize: (Int, Int)
    /// The step between windows, vertically and horizontally.
    public let strides: (Int, Int)
    /// `valid` or `same`, as in Keras.
    public let padding: Padding
    /// Whether the layer adds a bias (Keras' `use_bias`; DenseNet121's convolutions have none).
    public let useBias: Bool
    /// `linear` or `relu`, applied to the biased output.
    public let activation: ActivationFunction
    /// The `[kh, kw, in, out]` kernel (Keras' HWIO layout); nil until built.
    public private(set) var kernel: Variable?
    /// The `[filters]` bias; nil until built, or always without `useBias`.
    public private(set) var bias: Variable?

    /// A convolution with Keras' arguments and defaults; `activation` must not be `softmax` (a precondition).
    public init(
        filters: Int, kernelSize: (Int, Int), strides: (Int, Int) = (1, 1), padding: Padding = .valid,
        useBias: Bool = true, activation: ActivationFunction = .linear, name: String? = nil
    ) {
        precondition(activation != .softmax, "Conv2D supports linear or relu")
        self.filters = filters
        self.kernelSize = kernelSize
        self.strides = strides
        self.padding = padding
        self.useBias = useBias
        self.activation = activation
        self.name = name
    }

    /// `kernel`, then `bias` when there is one, Keras' order; empty until built.
    public var ownVariables: [Variable] { [kernel, bias].compactMap { $0 } }

    /// Whether the variables exist (the layer was called, or built explicitly).
    public var isBuilt: Bool { kernel != nil }

    /// Creates the kernel for `inputChannels` input channels, Glorot-uniform from `rng`, and a zero bias, as
    /// Keras' `build`.
    public func build(inputChannels: Int, rng: inout SplitMix64) {
        let k = Variable(name: "kernel", shape: [kernelSize.0, kernelSize.1, inputChannels, filters], trainable: true)
        let rf = kernelSize.0 * kernelSize.1
        glorotUniform(k, fanIn: rf * inputChannels, fanOut: rf * filters, rng: &rng)
        kernel = k
        if useBias { bias = Variable(name: "bias", shape: [filters], trainable: true) }
    }

    /// Builds the variables on the first call, then appends the convolution.
    ///
    /// - Throws: `EngineError` for other than one height × width × channels input, or channels other than the
    ///   kernel's.
    public func call(_ inputs: [SymbolicTensor], in graph: GraphBuilder) throws -> SymbolicTensor {
        guard inputs.count == 1, inputs[0].shape.count == 3 else {
            throw EngineError.invalidArgument("Conv2D expects one NHWC input, got \(inputs.map { $0.shape })")
        }
        if !isBuilt { build(inputChannels: inputs[0].shape[2], rng: &graph.rng) }
        guard kernel!.shape[2] == inputs[0].shape[2] else {
            throw EngineError.shapeMismatch(what: "Conv2D input channels", expected: [kernel!.shape[2]], got: [inputs[0].shape[2]])
        }
        return try graph.apply(self, inputs)
    }

    /// `[outHeight, outWidth, filters]` by TensorFlow's rule for `padding`.
    ///
    /// - Throws: `EngineError.invalidArgument` when the input is smaller than one window.
    public func outputShape(for inputs: [[Int]]) throws -> [Int] {
        let s = inputs[0]
        let (ho, _) = convOutputGeometry(input: s[0], kernel: kernelSize.0, stride: strides.0, padding: padding)
        let (wo, _) = convOutputGeometry(input: s[1], kernel: kernelSize.1, stride: strides.1, padding: padding)
        guard ho > 0, wo > 0 else { throw EngineError.invalidArgument("Conv2D: input \(s) too small") }
        return [ho, wo, filters]
    }

    /// The convolution kernel: im2col and OpenBLAS sgemm, or the direct kernels (Winograd in inference) where
    /// the configuration and the shapes choose them.
    public func makeKernel(_ spec: KernelSpec) -> any Kernel { ConvKernel(layer: self, spec: spec) }
}

/// Geometry of a 2-D window op over one NHWC image.
struct ConvGeometry {
    let h, w, cin, ho, wo, kh, kw, sh, sw, pt, pl: Int
    var k: Int { kh * kw * cin }

    init(input: [Int], output: [Int], kernel: (Int, Int), strides: (Int, Int), padding: Padding) {
        h = input[0]; w = input[1]; cin = input[2]
        ho = output[0]; wo = output[1]
        kh = kernel.0; kw = kernel.1; sh = strides.0; sw = strides.1
        pt = convOutputGeometry(input: h, kernel: kh, stride: sh, padding: padding).padBefore
        pl = convOutputGeometry(input: w, kernel: kw, stride: sw, padding: padding).padBefore
    }

    /// col[HoWo, kh*kw*cin] from one image.
    func im2col(_ x: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>) { im2col(x, col, outputRows: 0..<ho) }

    /// col[rows·wo, kh*kw*cin]: the rows of the output rows `outputRows` only.
    func im2col(_ x: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>, outputRows: Range<Int>) {
        let k = self.k
        let run = kw * cin
        for oy in outputRows {
            for ox in 0..<wo {
                let row = col + ((oy - outputRows.lowerBound) * wo + ox) * k
                let ix0 = ox * sw - pl
                let kx0 = Swift.max(0, -ix0), kx1 = Swift.min(kw, w - ix0)
                for ky in 0..<kh {
                    let iy = oy * sh - pt + ky
                    let dst = row + ky * run
                    if iy < 0 || iy >= h || kx1 <= kx0 {
                        for j in 0..<run { dst[j] = 0 }
                        continue
                    }
                    for j in 0..<(kx0 * cin) { dst[j] = 0 }
                    let n = (kx1 - kx0) * cin, d = dst + kx0 * cin, src = x + ((iy * w + ix0 + kx0) * cin)
                    if n <= 32 { for j in 0..<n { d[j] = src[j] } } else { d.update(from: src, count: n) }
                    for j in (kx1 * cin)..<(kw * cin) { dst[j] = 0 }
                }
            }
        }
    }

    /// dx += col2im(dcol) for one image.
    func col2imAdd(_ dcol: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>) {
        let k = self.k
        let run = kw * cin
        for oy in 0..<ho {
            for ox in 0..<wo {
                let row = dcol + (oy * wo + ox) * k
                let ix0 = ox * sw - pl
                let kx0 = Swift.max(0, -ix0), kx1 = Swift.min(kw, w - ix0)
                if kx1 <= kx0 { continue }
                for ky in 0..<kh {
                    let iy = oy * sh - pt + ky
                    if iy < 0 || iy >= h { continue }
                    let src = row + ky * run + kx0 * cin
                    let dst = dx + (iy * w + ix0 + kx0) * cin
                    for j in 0..<((kx1 - kx0) * cin) { dst[j] += src[j] }
                }
            }
        }
    }
}

final class ConvKernel: Kernel {
    let g: ConvGeometry
    let cout: Int
    let is1x1: Bool
    let relu: Bool
    let kernel: Variable
    let bias: Variable?
    let parallel: Parallel
    let pixIn: Int, pixOut: Int
    let weightGradient: WeightGradientSums
    let biasGradient: BiasGradientSums
    /// `.float64` summation: every sgemm covers one image, so a sample's results do not depend on
    /// the batch it is in (OpenBLAS rounds a row differently in GEMMs of different heights).
    let imageByImage: Bool
    /// Direct (Kernels/DirectConv.swift) instead of im2col + sgemm; `flipped` = backward-data kernel.
    let direct: Bool
    /// Inference takes the direct path (`direct`, or Winograd, or the AVX-512 direct kernel) where
    /// `direct` is false only for the pixel count: DenseNet-121's 3×3 layers at 14×14 (Winograd) and
    /// 7×7 (the direct kernel, in two bands at batch 1) ran im2col + OpenBLAS, and the 7×7 ones on one
    /// core at batch 1. Training keeps `direct`'s routing, so its bits.
    let directInInference: Bool
    /// The direct path runs the AVX2 kernels (`EngineConfiguration.usesAVX2`).
    let wide: Bool
    /// Winograd and the direct forward and weight-gradient kernels run their AVX-512 versions
    /// (`EngineConfiguration.usesAVX512`; the same bits).
    let usesAVX512: Bool
    let flipped: UnsafeMutablePointer<Float>?
    /// Forward passes by Winograd on the direct path, in inference and in training: 3×3 stride-1
    /// convolutions with even output sizes and channel counts that are multiples of 8.
    let winograd: WinogradConvolution?
    /// Training's input gradients by Winograd, with the flipped kernel (cout channels into cin), where
    /// the forward passes take it and the gradient is written, not added (the dense blocks' 3×3 layers).
    let winogradBackwardData: WinogradConvolution?

    init(layer: Conv2D, spec: KernelSpec) {
        g = ConvGeometry(
            input: spec.inputShapes[0], output: spec.outputShape, kernel: layer.kernelSize,
            strides: layer.strides, padding: layer.padding)
        cout = layer.filters
        is1x1 = g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.h == g.ho && g.w == g.wo
        relu = layer.activation == .relu
        kernel = layer.kernel!
        bias = layer.bias
        parallel = spec.parallel
        pixIn = g.h * g.w
        pixOut = g.ho * g.wo
        weightGradient = WeightGradientSums(of: kernel, spec: spec)
        biasGradient = BiasGradientSums(columns: cout, float64Sums: bias.map { spec.wideGradients?[$0] } ?? nil)
        imageByImage = spec.configuration.summation == .float64
        let directShape = DirectConv.fitsInference(
            cout: cout, kernel: layer.kernelSize, strides: layer.strides, configuration: spec.configuration)
        winograd =
            directShape && g.kh == 3 && g.kw == 3 && g.sh == 1 && g.sw == 1
            ? WinogradConvolution(
                cin: g.cin, cout: cout, outputRows: g.ho, outputColumns: g.wo, configuration: spec.configuration) : nil
        direct = DirectConv.isProfitable(
            cin: g.cin, cout: cout, kernel: layer.kernelSize, strides: layer.strides,
            outputPixels: g.ho * g.wo, winograd: winograd?.tile == 2, configuration: spec.configuration)
        wide = spec.configuration.usesAVX2
        usesAVX512 = spec.configuration.usesAVX512
        flipped = direct ? .allocate(capacity: g.k * cout) : nil
        winogradBackwardData =
            winograd != nil && direct
            ? WinogradConvolution(cin: cout, cout: g.cin, outputRows: g.h, outputColumns: g.w, configuration: spec.configuration)
            : nil
        directInInference = direct || winograd != nil || (directShape && usesAVX512 && cout % 32 == 0)
    }

    deinit { flipped?.deallocate() }

    /// Padded buffers of the direct path: forward / weight-gradient input, and output gradient.
    var paddedInput: (hp: Int, wp: Int) { (g.ho + g.kh - 1, g.wo + g.kw - 1) }
    var paddedGrad: (hp: Int, wp: Int) { (g.h + g.kh - 1, g.w + g.kw - 1) }
    /// Floats of the larger padded buffer: the direct kernels' scratch follows it in the workspace.
    var paddedMax: Int { Swift.max(paddedInput.hp * paddedInput.wp * g.cin, paddedGrad.hp * paddedGrad.wp * cout) }

    /// Images per sgemm call: about 2048 output rows (fewer, larger GEMMs; shape-only), or one.
    var imagesPerChunk: Int { imageByImage ? 1 : Swift.max(1, 2048 / Swift.max(1, pixOut)) }

    var workspacePerWorker: Int {
        let gemm = direct || is1x1 ? 0 : 2 * imagesPerChunk * pixOut * g.k
        guard directInInference else { return gemm }
        let (hpI, wpI) = paddedInput, (hpG, wpG) = paddedGrad
        let directPath =
            paddedMax
            + Swift.max(
                DirectConv.forwardScratch(hp: hpI, wp: wpI, cin: g.cin, wide: wide),
                DirectConv.forwardScratch(hp: hpG, wp: wpG, cin: cout, wide: wide),
                winograd?.scratch ?? 0, winogradBackwardData?.scratch ?? 0,
                g.k * cout)  // the weight gradient's partial sums
        return Swift.max(gemm, directPath)
    }

    /// Whether this forward pass takes the direct path.
    @inline(__always) func runsDirect(_ mode: ForwardMode) -> Bool { mode == .inference ? directInInference : direct }

    func forward(_ io: NodeIO, batch: Int, mode: ForwardMode) {
        forward(io, batch: batch, mode: mode, into: io.output, stride: cout)
    }

    /// `forward` with the output pixels `ldy` floats apart from `y` (a dense block's conv writes
    /// its channels of the block buffer; nothing reads `io.output` then).
    func forward(_ io: NodeIO, batch: Int, mode: ForwardMode, into y: UnsafeMutablePointer<Float>, stride ldy: Int) {
        let x = io.inputs[0]
        let w = UnsafePointer(kernel.data), b = bias?.data
        let g = self.g, cout = self.cout, pixIn = self.pixIn, pixOut = self.pixOut, is1x1 = self.is1x1, relu = self.relu
        if runsDirect(mode) {
            prepareWinograd()
            forwardDirect(io, batch: batch, mode: mode, into: y, stride: ldy) { n, rows, xp in padInput(x, image: n, rows: rows, into: xp) }
            return
        }
        // Bands change a GEMM's height, so not image by image (a rank's test share evaluates as one process).
        let bands = imageByImage ? 1 : bands(batch: batch, mode: mode).count
        if bands > 1 { forwardInBands(io, batch: batch, bands: bands, into: y, stride: ldy); return }
        // at least two chunks when the batch allows, so both cores work on small images
        let ipc = Swift.max(1, Swift.min(imagesPerChunk, (batch + 1) / 2))
        let chunks = (batch + ipc - 1) / ipc
        parallel.forEachPiece(chunks) { ci, t in
            let n0 = ci * ipc, n1 = Swift.min(batch, n0 + ipc)
            let rows = (n1 - n0) * pixOut
            let xi = x + n0 * pixIn * g.cin, yi = y + n0 * pixOut * ldy
            if is1x1 {
                sgemm(m: rows, n: cout, k: g.cin, a: xi, lda: g.cin, b: w, ldb: cout, beta: 0, c: yi, ldc: ldy)
            } else {
                let col = io.workspace[t]
                for n in n0..<n1 { g.im2col(x + n * pixIn * g.cin, col + (n - n0) * pixOut * g.k) }
                sgemm(m: rows, n: cout, k: g.k, a: col, lda: g.k, b: w, ldb: cout, beta: 0, c: yi, ldc: ldy)
            }
            biasActivate(yi, rows: rows, cols: cout, ldy: ldy, bias: b, relu: relu)
        }
    }

    func backward(_ io: NodeIO, batch: Int) {
        if direct { backwardDirect(io, batch: batch); return }
        let x = io.inputs[0], y = io.output, dy = io.outputGrad!
        let dx = io.inputGrads[0], acc = io.accumulate[0]
        let w = UnsafePointer(kernel.data)
        let g = self.g, cout = self.cout, pixIn = self.pixIn, pixOut = self.pixOut, is1x1 = self.is1x1, relu = self.relu
        let K = g.k, sums = weightGradient
        let ipc = imagesPerChunk
        parallel.forEachPiece(sums.start(batch: batch)) { piece, t in
            let imgs = sums.images(ofPiece: piece)
            let pW = sums.destination(ofPiece: piece, worker: t)
            var n0 = imgs.lowerBound
            while n0 < imgs.upperBound {
                let n1 = Swift.min(imgs.upperBound, n0 + ipc)
                let rows = (n1 - n0) * pixOut
                let xi = x + n0 * pixIn * g.cin, dyi = dy + n0 * pixOut * cout
                let first = n0 == imgs.lowerBound
                if relu { reluMask(dyi, y + n0 * pixOut * cout, count: rows * cout) }
                let col = io.workspace[t], dcol = io.workspace[t] + ipc * pixOut * K
                if is1x1 {
                    sgemm(
                        transA: true, m: g.cin, n: cout, k: rows, a: xi, lda: g.cin, b: dyi, ldb: cout,
                        beta: first ? 0 : 1, c: pW, ldc: cout)
                } else {
                    for n in n0..<n1 { g.im2col(x + n * pixIn * g.cin, col + (n - n0) * pixOut * K) }
                    sgemm(
                        transA: true, m: K, n: cout, k: rows, a: col, lda: K, b: dyi, ldb: cout,
                        beta: first ? 0 : 1, c: pW, ldc: cout)
                }
                if let dx {
                    let dxi = dx + n0 * pixIn * g.cin
                    if is1x1 {
                        sgemm(
                            transB: true, m: rows, n: g.cin, k: cout, a: dyi, lda: cout, b: w, ldb: cout,
                            beta: acc ? 1 : 0, c: dxi, ldc: g.cin)
                    } else {
                        sgemm(
                            transB: true, m: rows, n: K, k: cout, a: dyi, lda: cout, b: w, ldb: cout,
                            beta: 0, c: dcol, ldc: K)
                        if !acc { dxi.update(repeating: 0, count: (n1 - n0) * pixIn * g.cin) }
                        for n in n0..<n1 {
                            g.col2imAdd(dcol + (n - n0) * pixOut * K, dx + n * pixIn * g.cin)
                        }
                    }
                }
                n0 = n1
            }
            sums.finishPiece(worker: t)
        }
        sums.finish(into: kernel.grad, parallel: parallel)
        addBiasGradient(dy, batch: batch)
    }
}

extension ConvKernel: ImageKernel {
    func forwardsPerImage(_ mode: ForwardMode) -> Bool { runsDirect(mode) }

    func prepareImages(_ io: NodeIO, batch: Int, mode: ForwardMode) {
        prepareWinograd()
    }

    /// Before a batch on the Winograd path: the transform of the current weights.
    func prepareWinograd() { winograd?.prepare(kernel.data, madeFrom: kernel, parallel: parallel) }

    func forward(_ io: NodeIO, image n: Int, worker t: Int, mode: ForwardMode) {
        let x = io.inputs[0]
        forwardDirect(io, image: n, rows: 0..<g.ho, worker: t, mode: mode, into: io.output, stride: cout) { n, rows, xp in
            padInput(x, image: n, rows: rows, into: xp)
        }
    }

    /// Image n of the input x, zero-padded into the direct path's buffer: its padded rows `rows`
    /// (all by default).
    private func padInput(_ x: UnsafePointer<Float>, image n: Int, rows: Range<Int>? = nil, into xp: UnsafeMutablePointer<Float>) {
        let (hp, wp) = paddedInput
        DirectConv.pad(x + n * pixIn * g.cin, h: g.h, w: g.w, c: g.cin, top: g.pt, left: g.pl, hp: hp, wp: wp, rows: rows, into: xp)
    }

    /// Forward of the direct path, `pad(image, padded rows, into)` writing the zero-padded input rows
    /// an image's band of output rows reads (`bands`: whole images unless the batch is small).
    private func forwardDirect(
        _ io: NodeIO, batch: Int, mode: ForwardMode, into y: UnsafeMutablePointer<Float>, stride ldy: Int,
        pad: (_ image: Int, _ rows: Range<Int>, _ into: UnsafeMutablePointer<Float>) -> Void
    ) {
        let bands = bands(batch: batch, mode: mode)
        parallel.forEachPiece(batch * bands.count) { piece, t in
            forwardDirect(
                io, image: piece / bands.count, rows: bandRows(piece % bands.count, of: bands), worker: t, mode: mode,
                into: y, stride: ldy, pad: pad)
        }
    }

    /// Output rows `rows` of image n (whole tiles on the Winograd path), from its padded input
    /// rows `rows.lowerBound ..< rows.upperBound + kh - 1`: each output is computed by itself, so a band
    /// gives the whole image's bits.
    @inline(__always)
    private func forwardDirect(
        _ io: NodeIO, image n: Int, rows: Range<Int>, worker t: Int, mode: ForwardMode, into y: UnsafeMutablePointer<Float>,
        stride ldy: Int, pad: (_ image: Int, _ rows: Range<Int>, _ into: UnsafeMutablePointer<Float>) -> Void
    ) {
        let xp = io.workspace[t], yr = y + (n * pixOut + rows.lowerBound * g.wo) * ldy
        pad(n, rows.lowerBound..<(rows.upperBound + g.kh - 1), xp)
        if let winograd {
            winograd.run(
                xp, wp: paddedInput.wp, rows: rows.count, columns: g.wo, into: yr, stride: ldy, bias: bias?.data, relu: relu,
                scratch: xp + paddedMax)
            return
        }
        DirectConv.forwardImage(
            xp: xp, wp: paddedInput.wp, cin: g.cin, ho: rows.count, wo: g.wo, kh: g.kh, kw: g.kw,
            w: kernel.data, cout: cout, y: yr, ldy: ldy, accumulate: false,
            bias: bias?.data, relu: relu, scratch: xp + paddedMax, fused: true, wide: wide, avx512: usesAVX512)
    }

    /// Forward of the direct path on relu(BN(x)) of `g.cin` channels of rows `stride` floats apart
    /// (a dense block's head): normalised while padding, so the head is never stored. The same
    /// arithmetic as `BatchNormArithmetic.normalize` and then `forward`, so the same bits. Output
    /// pixels `ldy` floats apart from `y`, as in `forward(_:batch:mode:into:stride:)`.
    func forwardDirect(
        _ io: NodeIO, batch: Int, mode: ForwardMode, normalizing x: UnsafePointer<Float>, stride: Int,
        with normalization: BatchNormArithmetic, into y: UnsafeMutablePointer<Float>, stride ldy: Int
    ) {
        prepareWinograd()
        forwardDirect(io, batch: batch, mode: mode, into: y, stride: ldy) { n, rows, xp in
            padNormalizing(x, stride: stride, with: normalization, image: n, rows: rows, into: xp)
        }
    }

    /// The same for image n on worker t.
    func forwardDirect(
        _ io: NodeIO, image n: Int, worker t: Int, mode: ForwardMode, normalizing x: UnsafePointer<Float>,
        stride: Int, with normalization: BatchNormArithmetic, into y: UnsafeMutablePointer<Float>, stride ldy: Int
    ) {
        forwardDirect(io, image: n, rows: 0..<g.ho, worker: t, mode: mode, into: y, stride: ldy) { n, rows, xp in
            padNormalizing(x, stride: stride, with: normalization, image: n, rows: rows, into: xp)
        }
    }

    /// Padded rows `rows` of relu(BN(image n)), as `padInput` pads the stored input.
    @inline(__always)
    private func padNormalizing(
        _ x: UnsafePointer<Float>, stride: Int, with normalization: BatchNormArithmetic, image n: Int, rows: Range<Int>,
        into xp: UnsafeMutablePointer<Float>
    ) {
        let g = self.g, pixIn = self.pixIn, (hp, wp) = paddedInput
        DirectConv.pad(h: g.h, w: g.w, c: g.cin, top: g.pt, left: g.pl, hp: hp, wp: wp, rows: rows, into: xp) { pixel, dst, pixels in
            normalization.normalizeRows(
                x + (n * pixIn + pixel) * stride, stride: stride, into: dst, stride: g.cin, rows: pixels, relu: true)
        }
    }

    /// Backward of the direct path: per reduction group, per image: relu mask, weight gradient from
    /// the padded input, input gradient = conv of the padded output gradient with the flipped kernel
    /// (by Winograd where `winogradBackwardData` takes it, else direct); the bias sums beside the
    /// groups or, after a relu mask, after them.
    func backwardDirect(_ io: NodeIO, batch: Int) {
        let x = io.inputs[0], y = io.output, dy = io.outputGrad!
        let dx = io.inputGrads[0], acc = io.accumulate[0]
        let g = self.g, cout = self.cout, pixIn = self.pixIn, pixOut = self.pixOut, relu = self.relu
        let sums = weightGradient
        let wpI = paddedInput.wp, (hpG, wpG) = paddedGrad
        let wf = UnsafePointer(flipped!)
        let winogradData = acc ? nil : winogradBackwardData
        if dx != nil {
            DirectConv.flipTranspose(kernel.data, kh: g.kh, kw: g.kw, cin: g.cin, cout: cout, into: flipped!)
            winogradData?.prepare(wf, madeFrom: kernel, parallel: parallel)
        }
        let pieces = sums.start(batch: batch)
        // Without relu, dy needs no mask: the bias sums (serial, in TensorFlow's row order) run as
        // one more piece, taken first, beside the weight-gradient groups instead of after them.
        let biasBeside = bias != nil && !relu, firstGroup = biasBeside ? 1 : 0
        parallel.forEachPiece(pieces + firstGroup) { piece, t in
            if biasBeside && piece == 0 { addBiasGradient(dy, batch: batch); return }
            let imgs = sums.images(ofPiece: piece - firstGroup)
            let pW = sums.destination(ofPiece: piece - firstGroup, worker: t)
            let buf = io.workspace[t]
            for n in imgs {
                let dyi = dy + n * pixOut * cout
                if relu { reluMask(dyi, y + n * pixOut * cout, count: pixOut * cout) }
                padInput(x, image: n, into: buf)
                DirectConv.weightGradImage(
                    xp: buf, wp: wpI, cin: g.cin, ho: g.ho, wo: g.wo, kh: g.kh, kw: g.kw, dy: dyi, cout: cout, dw: pW,
                    partials: buf + paddedMax, first: n == imgs.lowerBound, fused: true, wide: wide, avx512: usesAVX512)
                if let dx {
                    DirectConv.pad(
                        dyi, h: g.ho, w: g.wo, c: cout, top: g.kh - 1 - g.pt, left: g.kw - 1 - g.pl,
                        hp: hpG, wp: wpG, into: buf)
                    if let winogradData {
                        winogradData.run(
                            buf, wp: wpG, rows: g.h, columns: g.w, into: dx + n * pixIn * g.cin, stride: g.cin, bias: nil,
                            relu: false, scratch: buf + paddedMax)
                        continue
                    }
                    DirectConv.forwardImage(
                        xp: buf, wp: wpG, cin: cout, ho: g.h, wo: g.w, kh: g.kh, kw: g.kw,
                        w: wf, cout: g.cin, y: dx + n * pixIn * g.cin, ldy: g.cin, accumulate: acc,
                        scratch: buf + paddedMax, fused: true, wide: wide, avx512: usesAVX512)
                }
            }
            sums.finishPiece(worker: t)
        }
        sums.finish(into: kernel.grad, parallel: parallel)
        if !biasBeside { addBiasGradient(dy, batch: batch) }
    }

    /// bias.grad += BiasAddGrad(dy), if the layer has a bias.
    func addBiasGradient(_ dy: UnsafePointer<Float>, batch: Int) {
        guard let bias else { return }
        biasGradient.add(dy, rows: batch * pixOut, to: bias.grad)
    }
}

// MARK: - shared small kernels

/// y[r, c] = act(y[r, c] + b[c]), rows `ldy` floats apart.
@inline(__always)
func biasActivate(_ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ldy: Int, bias: UnsafeMutablePointer<Float>?, relu: Bool) {
    guard bias != nil || relu else { return }
    for r in 0..<rows {
        let yr = y + r * ldy
        if let bias {
            if relu { for c in 0..<cols { yr[c] = Swift.max(yr[c] + bias[c], 0) } } else { for c in 0..<cols { yr[c] += bias[c] } }
        } else {
            for c in 0..<cols { yr[c] = Swift.max(yr[c], 0) }
        }
    }
}

/// dy[i] = y[i] > 0 ? dy[i] : 0.
@inline(__always)
func reluMask(_ dy: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
    reluGradient(dy, reluOutput: y, into: dy, count: count, accumulate: false)
}
