// Parameter-free layers and ops: ReLU (tf.nn.relu op and Keras Activation layer), Concatenate,
// Flatten, ZeroPadding2D.

/// tf.nn.relu as a graph op (not a Keras layer; used inside subclassed blocks).
public final class ReLUOp: Op {
    /// The op; it holds no state, so one instance may be applied anywhere.
    public init() {}
    /// The input's shape: ReLU works element by element.
    public func outputShape(for inputs: [[Int]]) throws -> [Int] { inputs[0] }
    /// `max(x, 0)` forward; backward passes the gradient where the output is positive.
    public func makeKernel(_ spec: KernelSpec) -> any Kernel { ReLUKernel(parallel: spec.parallel, size: product(spec.outputShape)) }
}

final class ReLUKernel: Kernel {
    let parallel: Parallel
    let size: Int
    init(parallel: Parallel, size: Int) { self.parallel = parallel; self.size = size }

    func forward(_ io: NodeIO, batch: Int, mode: ForwardMode) {
        let x = io.inputs[0], y = io.output
        parallel.forEachRange(batch * size, minChunk: 16384) { r in
            for i in r { y[i] = Swift.max(x[i], 0) }
        }
    }

    func backward(_ io: NodeIO, batch: Int) {
        guard let dx = io.inputGrads[0] else { return }
        let y = io.output, dy = io.outputGrad!, acc = io.accumulate[0]
        parallel.forEachRange(batch * size, minChunk: 16384) { r in
            reluGradient(dy + r.lowerBound, reluOutput: y + r.lowerBound, into: dx + r.lowerBound, count: r.count, accumulate: acc)
        }
    }
}

/// dx = (or += when `accumulate`) dy where the ReLU's output y is > 0, else 0, sixteen lanes at a time:
/// a branch per element mispredicts on a ReLU's random signs (DenseNet-121's ReLUs outside the dense
/// blocks took 49 ms of a 1 s training step that way). `dx` may be `dy`.
@inline(__always)
func reluGradient(
    _ dy: UnsafePointer<Float>, reluOutput y: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>, count: Int,
    accumulate: Bool
) {
    typealias Lanes = SIMD16<Float>
    var i = 0
    while i + Lanes.scalarCount <= count {
        let g = UnsafeRawPointer(dy + i).loadUnaligned(as: Lanes.self)
        let positive = UnsafeRawPointer(y + i).loadUnaligned(as: Lanes.self) .> 0
        var out = Lanes.zero.replacing(with: g, where: positive)
        if accumulate { out += UnsafeRawPointer(dx + i).loadUnaligned(as: Lanes.self) }
        UnsafeMutableRawPointer(dx + i).storeBytes(of: out, as: Lanes.self)
        i += Lanes.scalarCount
    }
    for j in i..<count {
        let g = y[j] > 0 ? dy[j] : 0
        dx[j] = accumulate ? dx[j] + g : g
    }
}

/// Keras `Activation` layer (relu, linear or softmax).
public final class Activation: Layer {
    /// `Activation`, as Keras' config names the class.
    public let kerasClassName = "Activation"
    /// An explicit Keras name, e.g. `conv1/relu` in tf-keras' DenseNet121; nil lets Keras name it
    /// `activation`, `activation_1`, ….
    public let name: String?
    /// The function applied, Keras' `activation` argument.
    public let function: ActivationFunction
    /// A layer applying `function`, like `keras.layers.Activation("relu", name=…)`.
    public init(_ function: ActivationFunction, name: String? = nil) {
        self.function = function
        self.name = name
    }
    /// Always empty: an activation holds no variables.
    public var ownVariables: [Variable] { [] }
    /// The input itself for `linear`, else one ReLU or softmax op on it.
    public func call(_ inputs: [SymbolicTensor], in graph: GraphBuilder) throws -> SymbolicTensor {
        switch function {
        case .linear: return inputs[0]
        case .relu: return try graph.apply(ReLUOp(), inputs)
        case .softmax: return try graph.apply(SoftmaxOp(), inputs)
        }
    }
}

/// Keras `ReLU` layer.
public final class ReLU: Layer {
    /// `ReLU`, as Keras' config names the class.
    public let kerasClassName = "ReLU"
    /// An explicit Keras name; nil lets Keras name it `re_lu`, `re_lu_1`, ….
    public let name: String?
    /// `keras.layers.ReLU(name=…)` with Keras' defaults (no maximum, no negative slope, no threshold).
    public init(name: String? = nil) { self.name = name }
    /// Always empty: ReLU holds no variables.
    public var ownVariables: [Variable] { [] }
    /// One ReLU op on the input.
    public func call(_ inputs: [SymbolicTensor], in graph: GraphBuilder) throws -> SymbolicTensor {
        try graph.apply(ReLUOp(), inputs)
    }
}

/// Concatenation on the channel (last) axis, inputs in order.
public final class Concatenate: Layer, Op {
    /// `Concatenate`, as Keras' config names the class.
    public let kerasClassName = "Concatenate"
    /// An explicit Keras name, e.g. `conv2_block1_concat`; nil lets Keras name it `concatenate`,
    /// `concatenate_1`, ….
    public let name: String?
    /// `keras.layers.Concatenate(name=…)` on the last axis (Keras' default `axis=-1`).
    public init(name: String? = nil) { self.name = name }
    /// Always empty: concatenation holds no variables.
    public var ownVariables: [Variable] { [] }
    /// The inputs joined along their channels, in the order given.
    public func call(_ inputs: [SymbolicTensor], in graph: GraphBuilder) throws -> SymbolicTensor { try graph.apply(self, inputs) }
    /// The inputs' common height and width with the sum of their channels.
    ///
    /// - Throws: `EngineError` when there are no inputs, or they differ in any axis but the last.
    public func outputShape(for inputs: [[Int]]) throws -> [Int] {
        guard let first = inputs.first, !first.isEmpty else { throw EngineError.invalidArgument("Concatenate needs inputs") }
        for s in inputs where Array(s.dropLast()) != Array(first.dropLast()) {
            throw EngineError.shapeMismatch(what: "Concatenate inputs", expected: first, got: s)
        }
        return Array(first.dropLast()) + [inputs.reduce(0) { $0 + $1.last! }]
    }
    /// Copies each input's channels into its slice of every output row, and the slices of the gradient back.
    public func makeKernel(_ spec: KernelSpec) -> any Kernel { ConcatKernel(spec: spec) }
}

final class ConcatKernel: Kernel {
    let widths: [Int]
    let offsets: [Int]
    let total: Int
    let rowsPerSample: Int
    let parallel: Parallel
    init(spec: KernelSpec) {
        widths = spec.inputShapes.map { $0.last! }
        var o: [Int] = [], acc = 0
        for w in widths { o.append(acc); acc += w }
        offsets = o
        total = acc
        rowsPerSample = product(spec.outputShape) / acc
        parallel = spec.parallel
    }

    func forward(_ io: NodeIO, batch: Int, mode: ForwardMode) {
        for i in 0..<widths.count {
            parallel.copyRows(
                batch * rowsPerSample, count: widths[i], from: io.inputs[i], stride: widths[i],
                to: io.output + offsets[i], stride: total)
        }
    }

    func backward(_ io: NodeIO, batch: Int) {
        for i in 0..<widths.count {
            guard let dx = io.inputGrads[i] else { continue }
            parallel.copyRows(
                batch * rowsPerSample, count: widths[i], from: io.outputGrad! + offsets[i], stride: total,
                to: dx, stride: widths[i], accumulate: io.accumulate[i])
        }
    }
}

extension Parallel {
    /// `copyRows` of rows 0..<rows on the workers, in pieces of at least 16 384 values.
    func copyRows(
        _ rows: Int, count: Int, from src: UnsafePointer<Float>, stride srcStride: Int,
        to dst: UnsafeMutablePointer<Float>, stride dstStride: Int, accumulate: Bool = false
    ) {
        forEachRange(rows, minChunk: Swift.max(1, 16384 / Swift.max(count, 1))) { range in
            DenseNetEngine.copyRows(range, count: count, from: src, stride: srcStride, to: dst, stride: dstStride, accumulate: accumulate)
        }
    }
}

/// dst[r, 0..<count] = (or += when `accumulate`) src[r, 0..<count] for the rows, rows `srcStride`
/// and `dstStride` floats apart: the channel slices of concatenations. Rows of a few channels move
/// as vectors, not as one memmove call each.
func copyRows(
    _ rows: Range<Int>, count: Int, from src: UnsafePointer<Float>, stride srcStride: Int,
    to dst: UnsafeMutablePointer<Float>, stride dstStride: Int, accumulate: Bool = false
) {
    for r in rows {
        let s = src + r * srcStride, d = dst + r * dstStride
        if !accumulate && count >= 64 { d.update(from: s, count: count); continue }
        var j = 0
        while j + 8 <= count {
            let v = UnsafeRawPointer(s + j).loadUnaligned(as: SIMD8<Float>.self)
            let out = accumulate ? UnsafeRawPointer(d + j).loadUnaligned(as: SIMD8<Float>.self) + v : v
            UnsafeMutableRawPointer(d + j).storeBytes(of: out, as: SIMD8<Float>.self)
            j += 8
        }
        while j < count { d[j] = accumulate ? d[j] + s[j] : s[j]; j += 1 }
    }
}

/// Flatten in NHWC order (a copy; memory order is unchanged).
public final class Flatten: Layer, Op {
    /// `Flatten`, as Keras' config names the class.
    public let kerasClassName = "Flatten"
    /// An explicit Keras name; nil lets Keras name it `flatten`, `flatten_1`, ….
    public let name: String?
    /// `keras.layers.Flatten(name=…)` for channels-last data, so the flat order is NHWC's.
    public init(name: String? = nil) { self.name = name }
    /// Always empty: flattening holds no variables.
    public var ownVariables: [Variable] { [] }
    /// One flatten op on the input.
    public func call(_ inputs: [SymbolicTensor], in graph: GraphBuilder) throws -> SymbolicTensor { try graph.apply(self, inputs) }
    /// One axis holding all of the input's per-sample values.
    public func outputShape(for inputs: [[Int]]) throws -> [Int] { [product(inputs[0])] }
    /// A copy of the values, which NHWC already stores in flattened order.
    public func makeKernel(_ spec: KernelSpec) -> any Kernel { CopyKernel(size: product(spec.outputShape)) }
}

final class CopyKernel: ImageKernel {
    let size: Int
    init(size: Int) { self.size = size }
    func forward(_ io: NodeIO, batch: Int, mode: ForwardMode) {
        io.output.update(from: io.inputs[0], count: batch * size)
    }
    func forwardsPerImage(_ mode: ForwardMode) -> Bool { true }
    func forward(_ io: NodeIO, image n: Int, worker: Int, mode: ForwardMode) {
        (io.output + n * size).update(from: io.inputs[0] + n * size, count: size)
    }
    func backward(_ io: NodeIO, batch: Int) {
        guard let dx = io.inputGrads[0] else { return }
        let dy = io.outputGrad!
        if io.accumulate[0] { for i in 0..<(batch * size) { dx[i] += dy[i] } } else { dx.update(from: dy, count: batch * size) }
    }
}

/// ZeroPadding2D: ((top, bottom), (left, right)).
public final class ZeroPadding2D: Layer, Op {
    /// `ZeroPadding2D`, as Keras' config names the class.
    public let kerasClassName = "ZeroPadding2D"
    /// An explicit Keras name, e.g. `zero_padding2d` before DenseNet121's stem convolution.
    public let name: String?
    /// Rows of zeros added `((top, bottom), (left, right))`, Keras' tuple-of-tuples form.
    public let padding: ((Int, Int), (Int, Int))
    /// Padding of `((top, bottom), (left, right))` zeros.
    public init(padding: ((Int, Int), (Int, Int)), name: String? = nil) {
        self.padding = padding
        self.name = name
    }
    /// The same `padding` zeros on all four sides, like Keras' `ZeroPadding2D(padding=3)`.
    public convenience init(padding: Int, name: String? = nil) {
        self.init(padding: ((padding, padding), (padding, padding)), name: name)
    }
    /// Always empty: padding holds no variables.
    public var ownVariables: [Variable] { [] }
    /// One padding op on the input.
    public func call(_ inputs: [SymbolicTensor], in graph: GraphBuilder) throws -> SymbolicTensor { try graph.apply(self, inputs) }
    /// `[height + top + bottom, width + left + right, channels]`.
    ///
    /// - Throws: `EngineError.invalidArgument` for an input that is not a height × width × channels image.
    public func outputShape(for inputs: [[Int]]) throws -> [Int] {
        let s = inputs[0]
        guard s.count == 3 else { throw EngineError.invalidArgument("ZeroPadding2D expects NHWC") }
        return [s[0] + padding.0.0 + padding.0.1, s[1] + padding.1.0 + padding.1.1, s[2]]
    }
    /// Copies the image into the middle of a zeroed output; backward takes the gradient of that middle.
    public func makeKernel(_ spec: KernelSpec) -> any Kernel {
        ZeroPadKernel(
            input: spec.inputShapes[0], output: spec.outputShape, top: padding.0.0, left: padding.1.0, parallel: spec.parallel)
    }
}

final class ZeroPadKernel: Kernel {
    let h, w, c, ho, wo, top, left: Int
    let parallel: Parallel
    init(input: [Int], output: [Int], top: Int, left: Int, parallel: Parallel) {
        h = input[0]; w = input[1]; c = input[2]; ho = output[0]; wo = output[1]
        self.top = top; self.left = left
        self.parallel = parallel
    }

    /// Output rows on the workers, each zeroed around its copy (DenseNet's stem pads 114×114×64 floats,
    /// 3.3 MB: a batch-1 image left one core idle for it).
    func forward(_ io: NodeIO, batch: Int, mode: ForwardMode) {
        let x = io.inputs[0], y = io.output, h = self.h, w = self.w, c = self.c, ho = self.ho, wo = self.wo
        let top = self.top, left = self.left
        parallel.forEachRange(batch * ho, minChunk: Swift.max(1, 16384 / (wo * c))) { rows in
            for row in rows {
                let n = row / ho, iy = row % ho - top, yr = y + row * wo * c
                guard iy >= 0 && iy < h else { yr.update(repeating: 0, count: wo * c); continue }
                yr.update(repeating: 0, count: left * c)
                (yr + left * c).update(from: x + (n * h + iy) * w * c, count: w * c)
                (yr + (left + w) * c).update(repeating: 0, count: (wo - left - w) * c)
            }
        }
    }
    func backward(_ io: NodeIO, batch: Int) {
        guard let dx = io.inputGrads[0] else { return }
        let dy = io.outputGrad!, acc = io.accumulate[0]
        for n in 0..<batch {
            for iy in 0..<h {
                let s = dy + ((n * ho + iy + top) * wo + left) * c, d = dx + (n * h + iy) * w * c
                if acc { for j in 0..<(w * c) { d[j] += s[j] } } else { d.update(from: s, count: w * c) }
            }
        }
    }
}
