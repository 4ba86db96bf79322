// Dense (fully connected) layer and the softmax op.

import CBLAS
import Glibc

/// Keras' `Dense`: `activation(x · kernel + bias)` on a flat input, with a `(in, out)` kernel. The kernel
/// starts Glorot-uniform and the bias at zero, both built by the first `call`. A `softmax` activation is a
/// separate `SoftmaxOp` so training can take the logits.
public final class Dense: Layer, Op {
    /// `Dense`, as Keras' config names the class.
    public let kerasClassName = "Dense"
    /// An explicit Keras name, e.g. DenseNet121's `predictions`; nil lets Keras name it `dense`, `dense_1`,
    /// ….
    public let name: String?
    /// Output features (the class count for a classifier's last layer).
    public let units: Int
    /// `linear`, `relu` or `softmax`.
    public let activation: ActivationFunction
    /// Whether the layer adds a bias (Keras' `use_bias`).
    public let useBias: Bool
    /// The `[in, units]` kernel, Keras' layout; nil until built.
    public private(set) var kernel: Variable?
    /// The `[units]` bias; nil until built, or always without `useBias`.
    public private(set) var bias: Variable?

    /// A fully connected layer with Keras' arguments and defaults.
    public init(units: Int, activation: ActivationFunction = .linear, useBias: Bool = true, name: String? = nil) {
        self.units = units
        self.activation = activation
        self.useBias = useBias
        self.name = name
    }

    /// `kernel`, then `bias` when there is one, Keras' order; empty until built.
    public var ownVariables: [Variable] { [kernel, bias].compactMap { $0 } }

    /// Creates the `[inputFeatures, units]` kernel, Glorot-uniform from `rng`, and a zero bias, as Keras'
    /// `build`.
    public func build(inputFeatures: Int, rng: inout SplitMix64) {
        let k = Variable(name: "kernel", shape: [inputFeatures, units], trainable: true)
        glorotUniform(k, fanIn: inputFeatures, fanOut: units, rng: &rng)
        kernel = k
        if useBias { bias = Variable(name: "bias", shape: [units], trainable: true) }
    }

    /// Builds the variables on the first call, then appends the product (and a softmax op for `softmax`).
    ///
    /// - Throws: `EngineError` for other than one flat input, or one with other than the kernel's input
    ///   features.
    public func call(_ inputs: [SymbolicTensor], in graph: GraphBuilder) throws -> SymbolicTensor {
        guard inputs.count == 1, inputs[0].shape.count == 1 else {
            throw EngineError.invalidArgument("Dense expects one flat input, got \(inputs.map { $0.shape })")
        }
        if kernel == nil { build(inputFeatures: inputs[0].shape[0], rng: &graph.rng) }
        guard kernel!.shape[0] == inputs[0].shape[0] else {
            throw EngineError.shapeMismatch(what: "Dense input features", expected: [kernel!.shape[0]], got: inputs[0].shape)
        }
        let z = try graph.apply(self, inputs)
        // Softmax is a separate op so the loss can take the logits (as tf-keras does via _keras_logits).
        return activation == .softmax ? try graph.apply(SoftmaxOp(), [z]) : z
    }

    /// `[units]`.
    public func outputShape(for inputs: [[Int]]) throws -> [Int] { [units] }

    /// The sgemm kernel, with the bias and a `relu` fused; the layer must be built.
    public func makeKernel(_ spec: KernelSpec) -> any Kernel {
        DenseKernel(kernel: kernel!, bias: bias, relu: activation == .relu, spec: spec)
    }
}

/// Y[n, out] = act(X[n, in] * W[in, out] + b).
final class DenseKernel: Kernel {
    let kernel: Variable
    let bias: Variable?
    let relu: Bool
    let fin: Int, fout: Int
    let parallel: Parallel
    let biasGradient: BiasGradientSums
    /// `.float64` summation: the kernel gradient's float64 sums; the products run sample by sample
    /// so a sample's results do not depend on the batch it is in.
    let wideKernelGradient: UnsafeMutablePointer<Double>?
    /// `.float64`: the batch's inputs and output gradients widened to float64 (capacity × fin,
    /// capacity × fout), whose dgemm products are exact and whose sums differ from one process's
    /// by float64 rounding only.
    let wideInputs: UnsafeMutablePointer<Double>, wideOutputGrads: UnsafeMutablePointer<Double>

    init(kernel: Variable, bias: Variable?, relu: Bool, spec: KernelSpec) {
        self.kernel = kernel
        self.bias = bias
        self.relu = relu
        fin = kernel.shape[0]
        fout = kernel.shape[1]
        parallel = spec.parallel
        biasGradient = BiasGradientSums(columns: fout, float64Sums: bias.map { spec.wideGradients?[$0] } ?? nil)
        wideKernelGradient = spec.wideGradients?[kernel]
        let widened = wideKernelGradient == nil ? 0 : spec.capacity
        wideInputs = .allocate(capacity: widened * fin)
        wideOutputGrads = .allocate(capacity: widened * fout)
    }

    deinit {
        wideInputs.deallocate()
        wideOutputGrads.deallocate()
    }

    /// Sample by sample under `.float64` (one row each), else the batch at once.
    func rowBlocks(_ batch: Int) -> [Range<Int>] {
        wideKernelGradient == nil ? [0..<batch] : (0..<batch).map { $0..<($0 + 1) }
    }

    /// Fixed split of a dimension into pieces (shape-only).
    @inline(__always) func pieces(_ n: Int) -> Int { Swift.max(1, Swift.min(4, n / 32)) }

    func forward(_ io: NodeIO, batch: Int, mode: ForwardMode) {
        let x = io.inputs[0], y = io.output, w = UnsafePointer(kernel.data), b = bias?.data
        let fin = self.fin, fout = self.fout, relu = self.relu
        let p = pieces(fout)
        parallel.forEachPiece(p) { pi, _ in
            let cols = pieceRange(pi, of: p, count: fout)
            for rows in rowBlocks(batch) {
                sgemm(
                    m: rows.count, n: cols.count, k: fin, a: x + rows.lowerBound * fin, lda: fin, b: w + cols.lowerBound,
                    ldb: fout, beta: 0, c: y + rows.lowerBound * fout + cols.lowerBound, ldc: fout)
            }
            for r in 0..<batch {
                let yr = y + r * fout
                for c in cols {
                    var v = yr[c]
                    if let b { v += b[c] }
                    yr[c] = relu ? Swift.max(v, 0) : v
                }
            }
        }
    }

    func backward(_ io: NodeIO, batch: Int) {
        let x = io.inputs[0], y = io.output, dy = io.outputGrad!, w = UnsafePointer(kernel.data)
        let fin = self.fin, fout = self.fout
        if relu { reluMask(dy, y, count: batch * fout) }
        if let bias { biasGradient.add(dy, rows: batch, to: bias.grad) }
        let gw = kernel.grad
        let pIn = pieces(fin)
        if wideKernelGradient != nil {
            let xd = wideInputs, dyd = wideOutputGrads
            parallel.forEachRange(batch * fin, minChunk: 16384) { r in for e in r { xd[e] = Double(x[e]) } }
            for e in 0..<(batch * fout) { dyd[e] = Double(dy[e]) }
        }
        // dW += X^T dY, split over rows of dW (input features)
        parallel.forEachPiece(pIn) { pi, _ in
            let rows = pieceRange(pi, of: pIn, count: fin)
            guard let wide = wideKernelGradient else {
                sgemm(
                    transA: true, m: rows.count, n: fout, k: batch, a: x + rows.lowerBound, lda: fin, b: dy, ldb: fout,
                    beta: 1, c: gw + rows.lowerBound * fout, ldc: fout)
                return
            }
            BLAS.matchKernelsToTheCPU()
            cblas_dgemm(
                CblasRowMajor, CblasTrans, CblasNoTrans, Int32(rows.count), Int32(fout), Int32(batch), 1,
                wideInputs + rows.lowerBound, Int32(fin), wideOutputGrads, Int32(fout), 1, wide + rows.lowerBound * fout,
                Int32(fout))
        }
        if let dx = io.inputGrads[0] {
            let beta: Float = io.accumulate[0] ? 1 : 0
            // dX = dY W^T, split over columns of dX
            parallel.forEachPiece(pIn) { pi, _ in
                let cols = pieceRange(pi, of: pIn, count: fin)
                for rows in rowBlocks(batch) {
                    sgemm(
                        transB: true, m: rows.count, n: cols.count, k: fout, a: dy + rows.lowerBound * fout, lda: fout,
                        b: w + cols.lowerBound * fout, ldb: fout, beta: beta, c: dx + rows.lowerBound * fin + cols.lowerBound,
                        ldc: fin)
                }
            }
        }
    }
}

/// Softmax over the last axis. As a graph output, the trainer fuses it with the
/// cross-entropy loss on its input (the logits).
public final class SoftmaxOp: Op {
    /// The op; it holds no state, so one instance may be applied anywhere.
    public init() {}
    /// The input's shape: softmax normalizes along the last axis.
    public func outputShape(for inputs: [[Int]]) throws -> [Int] { inputs[0] }
    /// `exp(x − max) / sum`, per row of the last axis.
    public func makeKernel(_ spec: KernelSpec) -> any Kernel { SoftmaxKernel(classes: spec.outputShape.last!, spec: spec) }
}

final class SoftmaxKernel: Kernel {
    let classes: Int
    let rowsPerSample: Int
    init(classes: Int, spec: KernelSpec) {
        self.classes = classes
        rowsPerSample = product(spec.outputShape) / classes
    }

    func forward(_ io: NodeIO, batch: Int, mode: ForwardMode) {
        for r in 0..<(batch * rowsPerSample) {
            softmaxRow(io.inputs[0] + r * classes, io.output + r * classes, classes)
        }
    }

    func backward(_ io: NodeIO, batch: Int) {
        guard let dx = io.inputGrads[0] else { return }
        let y = io.output, dy = io.outputGrad!, k = classes
        for r in 0..<(batch * rowsPerSample) {
            let yr = y + r * k, dr = dy + r * k, gr = dx + r * k
            var dot: Float = 0
            for j in 0..<k { dot += yr[j] * dr[j] }
            for j in 0..<k {
                let v = yr[j] * (dr[j] - dot)
                gr[j] = io.accumulate[0] ? gr[j] + v : v
            }
        }
    }
}

/// TF's softmax: exp(z - max) / sum.
@inline(__always)
func softmaxRow(_ z: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ k: Int) {
    var mx = -Float.infinity
    for j in 0..<k { mx = Swift.max(mx, z[j]) }
    var s: Float = 0
    for j in 0..<k { let e = expf(z[j] - mx); out[j] = e; s += e }
    for j in 0..<k { out[j] /= s }
}
