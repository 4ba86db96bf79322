// Pooling layers: MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D.

import CKernels

/// Keras' `MaxPooling2D`: the largest value of each window, per channel; with `same` padding, padded
/// positions never win.
public final class MaxPooling2D: Layer, Op {
    /// `MaxPooling2D`, as Keras' config names the class.
    public let kerasClassName = "MaxPooling2D"
    /// An explicit Keras name, e.g. DenseNet121's `pool1`; nil lets Keras name it `max_pooling2d`,
    /// `max_pooling2d_1`, ….
    public let name: String?
    /// The window's height and width.
    public let poolSize: (Int, Int)
    /// The step between windows, vertically and horizontally; by default the window's size, so windows do not
    /// overlap.
    public let strides: (Int, Int)
    /// `valid` keeps only whole windows; `same` pads so the output is the input's size divided by the stride,
    /// rounded up.
    public let padding: Padding

    /// strides nil = poolSize (Keras default).
    public init(poolSize: (Int, Int) = (2, 2), strides: (Int, Int)? = nil, padding: Padding = .valid, name: String? = nil) {
        self.poolSize = poolSize
        self.strides = strides ?? poolSize
        self.padding = padding
        self.name = name
    }

    /// Always empty: pooling holds no variables.
    public var ownVariables: [Variable] { [] }
    /// One pooling op on the input.
    public func call(_ inputs: [SymbolicTensor], in graph: GraphBuilder) throws -> SymbolicTensor {
        try graph.apply(self, inputs)
    }
    /// The pooled height and width, TensorFlow's rule for `padding`, with the input's channels.
    ///
    /// - Throws: `EngineError.invalidArgument` for an input that is not one height × width × channels image,
    ///   or is smaller than one window.
    public func outputShape(for inputs: [[Int]]) throws -> [Int] {
        try poolOutputShape(inputs, poolSize, strides, padding)
    }
    /// The max-pooling kernel for these shapes.
    public func makeKernel(_ spec: KernelSpec) -> any Kernel {
        PoolKernel(max: true, poolSize: poolSize, strides: strides, padding: padding, spec: spec)
    }
}

/// Keras' `AveragePooling2D`: the mean of each window, per channel; with `same` padding, divided by the
/// window's positions inside the image, as TensorFlow does.
public final class AveragePooling2D: Layer, Op {
    /// `AveragePooling2D`, as Keras' config names the class.
    public let kerasClassName = "AveragePooling2D"
    /// An explicit Keras name, e.g. DenseNet121's `pool2_pool`; nil lets Keras name it `average_pooling2d`,
    /// `average_pooling2d_1`, ….
    public let name: String?
    /// The window's height and width.
    public let poolSize: (Int, Int)
    /// The step between windows, vertically and horizontally; by default the window's size, so windows do not
    /// overlap.
    public let strides: (Int, Int)
    /// `valid` keeps only whole windows; `same` pads so the output is the input's size divided by the stride,
    /// rounded up.
    public let padding: Padding

    /// Pooling over `poolSize` windows `strides` apart (nil: `poolSize`, Keras' default).
    public init(poolSize: (Int, Int) = (2, 2), strides: (Int, Int)? = nil, padding: Padding = .valid, name: String? = nil) {
        self.poolSize = poolSize
        self.strides = strides ?? poolSize
        self.padding = padding
        self.name = name
    }

    /// Always empty: pooling holds no variables.
    public var ownVariables: [Variable] { [] }
    /// One pooling op on the input.
    public func call(_ inputs: [SymbolicTensor], in graph: GraphBuilder) throws -> SymbolicTensor {
        try graph.apply(self, inputs)
    }
    /// The pooled height and width, TensorFlow's rule for `padding`, with the input's channels.
    ///
    /// - Throws: `EngineError.invalidArgument` for an input that is not one height × width × channels image,
    ///   or is smaller than one window.
    public func outputShape(for inputs: [[Int]]) throws -> [Int] {
        try poolOutputShape(inputs, poolSize, strides, padding)
    }
    /// The average-pooling kernel for these shapes.
    public func makeKernel(_ spec: KernelSpec) -> any Kernel {
        PoolKernel(max: false, poolSize: poolSize, strides: strides, padding: padding, spec: spec)
    }
}

func poolOutputShape(_ inputs: [[Int]], _ pool: (Int, Int), _ strides: (Int, Int), _ padding: Padding) throws -> [Int] {
    guard inputs.count == 1, inputs[0].count == 3 else { throw EngineError.invalidArgument("pooling expects one NHWC input") }
    let s = inputs[0]
    let ho = convOutputGeometry(input: s[0], kernel: pool.0, stride: strides.0, padding: padding).output
    let wo = convOutputGeometry(input: s[1], kernel: pool.1, stride: strides.1, padding: padding).output
    guard ho > 0, wo > 0 else { throw EngineError.invalidArgument("pooling: input \(s) too small") }
    return [ho, wo, s[2]]
}

/// Max (first maximum in window scan order wins, padding excluded) or average
/// (divided by the number of non-padding elements, as TF does).
final class PoolKernel: Kernel {
    let isMax: Bool
    let g: ConvGeometry
    let c: Int
    let parallel: Parallel
    let argmax: UnsafeMutablePointer<Int32>  // per output element: input pixel index within image
    /// Max pooling over whole 2×2 windows at stride 2 (Keras' default), channels a multiple of 8:
    /// the AVX2 kernel, same results as the loop below.
    let vectorTwoByTwo: Bool

    init(max: Bool, poolSize: (Int, Int), strides: (Int, Int), padding: Padding, spec: KernelSpec) {
        isMax = max
        g = ConvGeometry(input: spec.inputShapes[0], output: spec.outputShape, kernel: poolSize, strides: strides, padding: padding)
        c = spec.outputShape[2]
        parallel = spec.parallel
        argmax = .allocate(capacity: max ? spec.capacity * product(spec.outputShape) : 1)
        vectorTwoByTwo =
            max && spec.configuration.usesAVX2 && c % 8 == 0 && (g.kh, g.kw, g.sh, g.sw, g.pt, g.pl) == (2, 2, 2, 2, 0, 0)
            && 2 * g.ho <= g.h && 2 * g.wo <= g.w
    }

    deinit { argmax.deallocate() }

    /// Images, or in a small batch bands of their output rows (`imageBands`: the same bits), as pieces;
    /// the vector 2×2 kernel takes whole images (its indices count from the image's first pixel).
    func forward(_ io: NodeIO, batch: Int, mode: ForwardMode) {
        let bands = vectorTwoByTwo ? 1 : imageBands(batch: batch, rows: g.ho, pixelsPerRow: g.wo)
        parallel.forEachPiece(batch * bands) { piece, t in
            if bands == 1 { forward(io, image: piece, worker: t, mode: mode); return }
            forward(io, image: piece / bands, outputRows: pieceRange(piece % bands, of: bands, count: g.ho))
        }
    }

    func backward(_ io: NodeIO, batch: Int) {
        guard let dx = io.inputGrads[0] else { return }
        let dy = io.outputGrad!, g = self.g, c = self.c, isMax = self.isMax, am = argmax, acc = io.accumulate[0]
        let inImg = g.h * g.w * c, outImg = g.ho * g.wo * c
        parallel.forEachPiece(batch) { n, _ in
            let dxi = dx + n * inImg, dyi = dy + n * outImg, ai = am + n * outImg
            if !acc { dxi.update(repeating: 0, count: inImg) }
            for oy in 0..<g.ho {
                let y0 = Swift.max(0, oy * g.sh - g.pt), y1 = Swift.min(g.h, oy * g.sh - g.pt + g.kh)
                for ox in 0..<g.wo {
                    let o = (oy * g.wo + ox) * c
                    if isMax {
                        for ch in 0..<c { dxi[Int(ai[o + ch]) * c + ch] += dyi[o + ch] }
                    } else {
                        let x0 = Swift.max(0, ox * g.sw - g.pl), x1 = Swift.min(g.w, ox * g.sw - g.pl + g.kw)
                        let inv = 1 / Float((y1 - y0) * (x1 - x0))
                        for iy in y0..<y1 {
                            for ix in x0..<x1 {
                                let d = dxi + (iy * g.w + ix) * c
                                for ch in 0..<c { d[ch] += dyi[o + ch] * inv }
                            }
                        }
                    }
                }
            }
        }
    }
}

extension PoolKernel: ImageKernel {
    func forwardsPerImage(_ mode: ForwardMode) -> Bool { true }

    func forward(_ io: NodeIO, image n: Int, worker: Int, mode: ForwardMode) {
        let x = io.inputs[0], y = io.output, g = self.g, c = self.c, am = argmax
        let inImg = g.h * g.w * c, outImg = g.ho * g.wo * c
        if vectorTwoByTwo {
            ckernels_max_pool_2x2(x + n * inImg, g.w, c, g.ho, g.wo, y + n * outImg, am + n * outImg)
            return
        }
        forward(io, image: n, outputRows: 0..<g.ho)
    }

    /// Output rows `outputRows` of image n by the loops (each output on its own).
    func forward(_ io: NodeIO, image n: Int, outputRows: Range<Int>) {
        let x = io.inputs[0], y = io.output, g = self.g, c = self.c, isMax = self.isMax, am = argmax
        let inImg = g.h * g.w * c, outImg = g.ho * g.wo * c
        let xi = x + n * inImg, yi = y + n * outImg, ai = am + n * outImg
        for oy in outputRows {
            let y0 = Swift.max(0, oy * g.sh - g.pt), y1 = Swift.min(g.h, oy * g.sh - g.pt + g.kh)
            for ox in 0..<g.wo {
                let x0 = Swift.max(0, ox * g.sw - g.pl), x1 = Swift.min(g.w, ox * g.sw - g.pl + g.kw)
                let o = (oy * g.wo + ox) * c
                if isMax {
                    // channels innermost (contiguous); strict > keeps the first maximum in scan order
                    let yo = yi + o, ao = ai + o
                    let first = y0 * g.w + x0
                    let xr0 = xi + first * c
                    if c % 4 == 0 {
                        // branch-free, in registers: 4 channels at a time, same strict-> rule
                        for ch in stride(from: 0, to: c, by: 4) {
                            var m = UnsafeRawPointer(xr0 + ch).loadUnaligned(as: SIMD4<Float>.self)
                            var a = SIMD4<Int32>(repeating: Int32(first))
                            for iy in y0..<y1 {
                                for ix in x0..<x1 {
                                    let p = iy * g.w + ix
                                    if p == first { continue }
                                    let v = UnsafeRawPointer(xi + p * c + ch).loadUnaligned(as: SIMD4<Float>.self)
                                    let gt = v .> m
                                    m.replace(with: v, where: gt)
                                    a.replace(with: SIMD4<Int32>(repeating: Int32(p)), where: gt)
                                }
                            }
                            UnsafeMutableRawPointer(yo + ch).storeBytes(of: m, as: SIMD4<Float>.self)
                            UnsafeMutableRawPointer(ao + ch).storeBytes(of: a, as: SIMD4<Int32>.self)
                        }
                        continue
                    }
                    for ch in 0..<c { yo[ch] = xr0[ch]; ao[ch] = Int32(first) }
                    for iy in y0..<y1 {
                        for ix in x0..<x1 {
                            let p = iy * g.w + ix
                            if p == first { continue }
                            let xr = xi + p * c
                            let pi = Int32(p)
                            for ch in 0..<c where xr[ch] > yo[ch] { yo[ch] = xr[ch]; ao[ch] = pi }
                        }
                    }
                } else {
                    let inv = 1 / Float((y1 - y0) * (x1 - x0))
                    for ch in 0..<c { yi[o + ch] = 0 }
                    for iy in y0..<y1 {
                        for ix in x0..<x1 {
                            let xr = xi + (iy * g.w + ix) * c
                            for ch in 0..<c { yi[o + ch] += xr[ch] }
                        }
                    }
                    for ch in 0..<c { yi[o + ch] *= inv }
                }
            }
        }
    }
}

/// Keras' `GlobalAveragePooling2D`: each channel's mean over the whole image, one value per channel
/// (DenseNet121's `avg_pool`).
public final class GlobalAveragePooling2D: Layer, Op {
    /// `GlobalAveragePooling2D`, as Keras' config names the class.
    public let kerasClassName = "GlobalAveragePooling2D"
    /// An explicit Keras name; nil lets Keras name it `global_average_pooling2d`,
    /// `global_average_pooling2d_1`, ….
    public let name: String?
    /// `keras.layers.GlobalAveragePooling2D(name=…)`, channels last, without `keepdims`.
    public init(name: String? = nil) { self.name = name }
    /// Always empty: pooling holds no variables.
    public var ownVariables: [Variable] { [] }
    /// One global pooling op on the input.
    public func call(_ inputs: [SymbolicTensor], in graph: GraphBuilder) throws -> SymbolicTensor { try graph.apply(self, inputs) }
    /// `[channels]`: the height and width are pooled away.
    ///
    /// - Throws: `EngineError.invalidArgument` for an input that is not one height × width × channels image.
    public func outputShape(for inputs: [[Int]]) throws -> [Int] {
        guard inputs.count == 1, inputs[0].count == 3 else { throw EngineError.invalidArgument("GlobalAveragePooling2D expects NHWC") }
        return [inputs[0][2]]
    }
    /// The global average-pooling kernel for these shapes.
    public func makeKernel(_ spec: KernelSpec) -> any Kernel { GlobalPoolKernel(max: false, spec: spec) }
}

/// Keras' `GlobalMaxPooling2D`: each channel's largest value over the whole image, one value per channel.
public final class GlobalMaxPooling2D: Layer, Op {
    /// `GlobalMaxPooling2D`, as Keras' config names the class.
    public let kerasClassName = "GlobalMaxPooling2D"
    /// An explicit Keras name; nil lets Keras name it `global_max_pooling2d`, `global_max_pooling2d_1`, ….
    public let name: String?
    /// `keras.layers.GlobalMaxPooling2D(name=…)`, channels last, without `keepdims`.
    public init(name: String? = nil) { self.name = name }
    /// Always empty: pooling holds no variables.
    public var ownVariables: [Variable] { [] }
    /// One global pooling op on the input.
    public func call(_ inputs: [SymbolicTensor], in graph: GraphBuilder) throws -> SymbolicTensor { try graph.apply(self, inputs) }
    /// `[channels]`: the height and width are pooled away.
    ///
    /// - Throws: `EngineError.invalidArgument` for an input that is not one height × width × channels image.
    public func outputShape(for inputs: [[Int]]) throws -> [Int] {
        guard inputs.count == 1, inputs[0].count == 3 else { throw EngineError.invalidArgument("GlobalMaxPooling2D expects NHWC") }
        return [inputs[0][2]]
    }
    /// The global max-pooling kernel for these shapes.
    public func makeKernel(_ spec: KernelSpec) -> any Kernel { GlobalPoolKernel(max: true, spec: spec) }
}

final class GlobalPoolKernel: Kernel {
    let isMax: Bool
    let pix: Int, c: Int
    let argmax: UnsafeMutablePointer<Int32>
    init(max: Bool, spec: KernelSpec) {
        isMax = max
        c = spec.inputShapes[0][2]
        pix = spec.inputShapes[0][0] * spec.inputShapes[0][1]
        argmax = .allocate(capacity: max ? spec.capacity * c : 1)
    }
    deinit { argmax.deallocate() }

    func forward(_ io: NodeIO, batch: Int, mode: ForwardMode) {
        let x = io.inputs[0], y = io.output
        for n in 0..<batch {
            let xi = x + n * pix * c, yi = y + n * c
            if isMax {
                for ch in 0..<c { yi[ch] = -Float.infinity; argmax[n * c + ch] = 0 }
                for p in 0..<pix {
                    for ch in 0..<c where xi[p * c + ch] > yi[ch] { yi[ch] = xi[p * c + ch]; argmax[n * c + ch] = Int32(p) }
                }
            } else {
                for ch in 0..<c { yi[ch] = 0 }
                for p in 0..<pix { for ch in 0..<c { yi[ch] += xi[p * c + ch] } }
                let inv = 1 / Float(pix)
                for ch in 0..<c { yi[ch] *= inv }
            }
        }
    }

    func backward(_ io: NodeIO, batch: Int) {
        guard let dx = io.inputGrads[0] else { return }
        let dy = io.outputGrad!, acc = io.accumulate[0]
        for n in 0..<batch {
            let dxi = dx + n * pix * c, dyi = dy + n * c
            if !acc { dxi.update(repeating: 0, count: pix * c) }
            if isMax {
                for ch in 0..<c { dxi[Int(argmax[n * c + ch]) * c + ch] += dyi[ch] }
            } else {
                let inv = 1 / Float(pix)
                for p in 0..<pix { for ch in 0..<c { dxi[p * c + ch] += dyi[ch] * inv } }
            }
        }
    }
}
