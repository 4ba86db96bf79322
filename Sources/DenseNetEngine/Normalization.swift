// BatchNormalization over the last axis (NHWC channels), tf-keras semantics.

import CKernels

/// Which batch variance feeds the moving_variance update.
public enum MovingVarianceUpdate: String, Sendable {
    /// tf-keras' fused kernel: unbiased batch variance (times n/(n-1), n = N*H*W).
    case besselCorrected
    /// Keras 3: the biased batch variance used for normalisation.
    case biased
}

/// Keras' `BatchNormalization` over the channel (last) axis: in training, normalizes with the batch's mean
/// and variance and updates the moving ones by `momentum`; in inference, uses the moving ones. `gamma` starts
/// at 1, `beta` and `moving_mean` at 0, `moving_variance` at 1, as in Keras.
public final class BatchNormalization: Layer, Op {
    /// `BatchNormalization`, as Keras' config names the class.
    public let kerasClassName = "BatchNormalization"
    /// An explicit Keras name, e.g. DenseNet121's `conv1/bn`; nil lets Keras name it `batch_normalization`,
    /// `batch_normalization_1`, ….
    public let name: String?
    /// How much of the old moving statistics each training step keeps (Keras' default 0.99).
    public let momentum: Float
    /// Added to the variance before its square root (Keras' default 1e-3; DenseNet121 uses 1.001e-5).
    public let epsilon: Float
    /// 1 − momentum, computed in Double as Keras does in Python before TF rounds it to float32.
    let averagingFactor: Float
    /// Which batch variance updates `movingVariance`: tf-keras' and Keras 3's differ.
    public let movingVarianceUpdate: MovingVarianceUpdate
    /// The per-channel scale; nil until built.
    public private(set) var gamma: Variable?
    /// The per-channel offset; nil until built.
    public private(set) var beta: Variable?
    /// The per-channel mean used in inference (non-trainable); nil until built.
    public private(set) var movingMean: Variable?
    /// The per-channel variance used in inference (non-trainable); nil until built.
    public private(set) var movingVariance: Variable?

    /// A normalization with Keras' `momentum` and `epsilon` (stored as float32), updating the moving variance
    /// the way `movingVarianceUpdate` says.
    public init(
        momentum: Double = 0.99, epsilon: Double = 1e-3,
        movingVarianceUpdate: MovingVarianceUpdate = .besselCorrected, name: String? = nil
    ) {
        self.momentum = Float(momentum)
        self.epsilon = Float(epsilon)
        averagingFactor = Float(1.0 - momentum)
        self.movingVarianceUpdate = movingVarianceUpdate
        self.name = name
    }

    /// `gamma`, `beta`, `moving_mean`, `moving_variance`, Keras' order; empty until built.
    public var ownVariables: [Variable] { [gamma, beta, movingMean, movingVariance].compactMap { $0 } }

    /// Creates the four `[c]` variables with Keras' initial values.
    public func build(channels c: Int) {
        gamma = Variable(name: "gamma", shape: [c], trainable: true, initialValue: 1)
        beta = Variable(name: "beta", shape: [c], trainable: true, initialValue: 0)
        movingMean = Variable(name: "moving_mean", shape: [c], trainable: false, initialValue: 0)
        movingVariance = Variable(name: "moving_variance", shape: [c], trainable: false, initialValue: 1)
    }

    /// Builds the variables on the first call, then appends the normalization.
    ///
    /// - Throws: `EngineError` for other than one input, or channels other than the built ones.
    public func call(_ inputs: [SymbolicTensor], in graph: GraphBuilder) throws -> SymbolicTensor {
        guard inputs.count == 1, let c = inputs[0].shape.last else {
            throw EngineError.invalidArgument("BatchNormalization expects one input")
        }
        if gamma == nil { build(channels: c) }
        guard gamma!.count == c else {
            throw EngineError.shapeMismatch(what: "BatchNormalization channels", expected: [gamma!.count], got: [c])
        }
        return try graph.apply(self, inputs)
    }

    /// The input's shape.
    public func outputShape(for inputs: [[Int]]) throws -> [Int] { inputs[0] }

    /// The batch-normalization kernel (AVX2 where the configuration allows).
    public func makeKernel(_ spec: KernelSpec) -> any Kernel { BatchNormKernel(layer: self, spec: spec) }
}

final class BatchNormKernel: Kernel {
    let arithmetic: BatchNormArithmetic
    let rows: Int  // rows per sample

    init(layer: BatchNormalization, spec: KernelSpec) {
        let c = spec.outputShape.last!
        arithmetic = BatchNormArithmetic(layer: layer, channels: c, spec: spec)
        rows = product(spec.outputShape) / c
    }

    func forward(_ io: NodeIO, batch: Int, mode: ForwardMode) {
        let c = arithmetic.c, x = io.inputs[0]
        arithmetic.computeStatistics(x, stride: c, rows: batch * rows, mode: mode)
        arithmetic.normalize(x, stride: c, into: io.output, stride: c, rows: batch * rows, relu: false)
    }

    /// `forward` of this normalization and of the ReLU after it in one pass: the ReLU's output
    /// (`relu`'s) is written, the normalization's own is not.
    func forward(_ io: NodeIO, throughReLU relu: NodeIO, batch: Int, mode: ForwardMode) {
        let c = arithmetic.c, x = io.inputs[0]
        arithmetic.computeStatistics(x, stride: c, rows: batch * rows, mode: mode)
        arithmetic.normalize(x, stride: c, into: relu.output, stride: c, rows: batch * rows, relu: true)
    }

    /// The ReLU's output after `forward(_:throughReLU:…)` again, from the same input and the statistics
    /// that pass left (the same bits), for a backward pass that did not keep it.
    func recomputeOutput(_ io: NodeIO, throughReLU relu: NodeIO, batch: Int) {
        let c = arithmetic.c
        arithmetic.normalize(io.inputs[0], stride: c, into: relu.output, stride: c, rows: batch * rows, relu: true)
    }

    func backward(_ io: NodeIO, batch: Int) {
        let c = arithmetic.c
        arithmetic.backward(
            x: io.inputs[0], stride: c, outputGrad: io.outputGrad!, rows: batch * rows,
            inputGrad: io.inputGrads[0], stride: c, accumulate: io.accumulate[0])
    }

    /// `backward` of this normalization and of the ReLU after it in one pass: `relu` is the ReLU's
    /// node (its output and output gradient); the normalization's own output gradient is never written.
    func backward(_ io: NodeIO, throughReLU relu: NodeIO, batch: Int) {
        let c = arithmetic.c
        arithmetic.backward(
            x: io.inputs[0], stride: c, outputGrad: relu.outputGrad!, rows: batch * rows,
            inputGrad: io.inputGrads[0], stride: c, accumulate: io.accumulate[0], relu: .output(relu.output))
    }

    /// `backward(_:throughReLU:batch:)` but for the input gradient, which the pass before it (the
    /// fused 1×1 backward pass) makes as it reads it, from the operands returned. AVX-512 only.
    func backwardLeavingInputGradient(_ io: NodeIO, throughReLU relu: NodeIO, batch: Int) -> ckernels_normalization_input_grad {
        let c = arithmetic.c, x = io.inputs[0], dy = UnsafePointer(relu.outputGrad!)
        arithmetic.backward(
            x: x, stride: c, outputGrad: dy, rows: batch * rows, inputGrad: nil, stride: c, accumulate: false,
            relu: .output(relu.output))
        return arithmetic.inputGradientOperands(x: x, outputGrad: dy, relu: .output(relu.output))
    }
}

/// tf-keras' fused BatchNormalization (FusedBatchNormV3 and its gradient on the CPU) over a
/// [rows × channels] matrix whose rows may be strided, with TensorFlow's float32 rounding: its
/// summation orders (`TensorFlowOrder`), its formulas term by term, and its two rsqrts — Eigen
/// evaluates the c values 1/sqrt(variance + epsilon) with the packet approximation on whole
/// 8-float packets of channels and as 1/sqrt on the channels left over. With `.float64`
/// summation the row sums are taken in float64 (`Float64Sums`) and summed over the processes
/// before they are rounded, so they do not depend on how the rows are split. Shared by the
/// BatchNormalization kernel and the memory-efficient dense block.
final class BatchNormArithmetic {
    let layer: BatchNormalization
    let c: Int
    let parallel: Parallel
    /// `normalizeRows` runs the AVX2 kernel (same bits as the loop), or the AVX-512 one (the same bits).
    let usesAVX2, usesAVX512: Bool
    /// How the row sums are taken (the configuration's).
    let summation: EngineConfiguration.Summation
    /// Per channel: the mean and biased variance normalised with, 1/sqrt(variance + epsilon) and
    /// that times gamma.
    let mean, variance, invStd, scaling: UnsafeMutablePointer<Float>
    /// Per channel: sums of dy, dy·x̂ and dy·(x − mean) of the last backward pass, and scratch
    /// (`.tensorFlow`; c each).
    let gradientSums, scratch: UnsafeMutablePointer<SIMD4<Float>>
    /// Per channel: float64 sums of dy and dy·(x − mean) of the last backward pass (`.float64`; c).
    let wideGradientSums: UnsafeMutablePointer<SIMD2<Double>>
    /// `.float64`: the gamma and beta gradients' float64 sums (`WideGradients`).
    let wideGamma: UnsafeMutablePointer<Double>?, wideBeta: UnsafeMutablePointer<Double>?
    /// Scratch for the batch statistics, then the input gradient's coefficients (3 × c).
    let coefficients: UnsafeMutablePointer<Float>
    private(set) var lastWasTraining = false

    /// The other processes' rows when training data-parallel (nil: this process holds the batch):
    /// the batch statistics and the input gradient's sums are summed over them, in `sums`.
    let collective: (any Collective)?
    /// Float64 sums: the float32 ones sent to the other processes, or `.float64`'s own (2c + 1).
    let sums: UnsafeMutableBufferPointer<Double>
    /// Rows the last training-mode statistics were taken over (of every process), and of this one.
    private var statisticsRows = 0, localStatisticsRows = 0

    init(layer: BatchNormalization, channels c: Int, spec: KernelSpec) {
        self.layer = layer
        self.c = c
        parallel = spec.parallel
        usesAVX2 = spec.configuration.usesAVX2
        usesAVX512 = spec.configuration.usesAVX512
        summation = spec.configuration.summation
        collective = spec.collective.size > 1 ? spec.collective : nil
        mean = .allocate(capacity: c); variance = .allocate(capacity: c)
        invStd = .allocate(capacity: c); scaling = .allocate(capacity: c)
        let wide = summation == .float64
        gradientSums = .allocate(capacity: wide ? 0 : c); scratch = .allocate(capacity: wide ? 0 : c)
        wideGradientSums = .allocate(capacity: wide ? c : 0)
        wideGamma = spec.wideGradients?[layer.gamma!]
        wideBeta = spec.wideGradients?[layer.beta!]
        coefficients = .allocate(capacity: 3 * c)
        sums = .allocate(capacity: collective == nil && !wide ? 0 : 2 * c + 1)
    }

    deinit {
        for p in [mean, variance, invStd, scaling, coefficients] { p.deallocate() }
        gradientSums.deallocate(); scratch.deallocate(); wideGradientSums.deallocate(); sums.deallocate()
    }

    /// Sums the first `count` of `sums` over the processes (nothing to do in a process alone).
    private func sumWideOverProcesses(count: Int) {
        collective?.allreduceSum(UnsafeMutableBufferPointer(rebasing: sums[0..<count]))
    }

    /// Sums `count` floats at `values` (and, when given, `rows`) over the processes; the row total.
    @discardableResult
    private func sumOverProcesses(_ values: UnsafeMutablePointer<Float>, count: Int, rows: Int? = nil) -> Int {
        guard let collective else { return rows ?? 0 }
        for j in 0..<count { sums[j] = Double(values[j]) }
        if let rows { sums[count] = Double(rows) }
        collective.allreduceSum(UnsafeMutableBufferPointer(rebasing: sums[0..<(count + (rows == nil ? 0 : 1))]))
        for j in 0..<count { values[j] = Float(sums[j]) }
        return rows == nil ? 0 : Int(sums[count])
    }

    /// Training: the batch statistics of the rows of `x`, `stride` floats apart (and, when
    /// `update`, the moving statistics moved towards them); inference: the moving statistics.
    /// `earlier`: a normalization of the same rows' first channels whose training statistics this
    /// pass took (a dense block's unit before): the channels whose sums it took as this one would are
    /// copied, not summed again (`reusableChannels`), with the same bits.
    func computeStatistics(
        _ x: UnsafePointer<Float>, stride xs: Int, rows: Int, mode: ForwardMode, extending earlier: BatchNormArithmetic? = nil
    ) {
        if case let .training(update) = mode {
            lastWasTraining = true
            localStatisticsRows = rows
            let known = earlier.map { reusableChannels(of: $0, rows: rows) } ?? 0
            if let earlier, known > 0 {
                mean.update(from: earlier.mean, count: known)
                variance.update(from: earlier.variance, count: known)
            }
            switch summation {
            case .tensorFlow: computeBatchStatisticsInTensorFlowOrder(x, stride: xs, rows: rows, from: known)
            case .float64: computeBatchStatisticsInFloat64(rows: rows, from: known) { r, j in x[r * xs + j] }
            }
            if update { layer.updateMovingStatistics(mean: mean, variance: variance, channels: c, count: statisticsRows) }
            computeScaling()
        } else {
            useMovingStatistics()
        }
    }

    /// Inference: normalise with the moving statistics.
    func useMovingStatistics() {
        lastWasTraining = false
        layer.movingStatistics(channels: c, mean: mean, variance: variance)
        computeScaling()
    }

    /// invStd and scaling from `variance`, as FusedBatchNormV3 rounds them.
    private func computeScaling() {
        let gamma = layer.gamma!.data, packed = c / 8 * 8
        for j in 0..<c {
            let v = variance[j] + layer.epsilon
            invStd[j] = j < packed ? TensorFlowOrder.rsqrt(v) : 1 / v.squareRoot()
            scaling[j] = invStd[j] * gamma[j]
        }
    }

    /// How many of `earlier`'s first channels have training statistics this normalization would take
    /// the same way, over the same rows: all of them with float64 sums or fewer than 16 rows (one sum per
    /// channel either way), else its whole 8-channel packets (packetColumnSums sums the channels past
    /// them row by row, and this normalization's packets may take them in).
    private func reusableChannels(of earlier: BatchNormArithmetic, rows: Int) -> Int {
        guard earlier.lastWasTraining, earlier.localStatisticsRows == rows, earlier.summation == summation,
            earlier.c <= c
        else { return 0 }
        return summation == .float64 || rows < 16 ? earlier.c : earlier.c / 8 * 8
    }

    /// The batch mean and biased variance (and `statisticsRows`) of channels `from`… as FusedBatchNormV3
    /// rounds them.
    private func computeBatchStatisticsInTensorFlowOrder(_ x: UnsafePointer<Float>, stride xs: Int, rows: Int, from j0: Int) {
        let mean = self.mean, count = c - j0
        packetColumnSums(x, stride: xs, rows: rows, into: mean, centeredOn: nil, from: j0)
        statisticsRows = sumOverProcesses(mean + j0, count: count, rows: rows)
        let inverse = 1 / Float(statisticsRows)
        for j in j0..<c { mean[j] *= inverse }
        packetColumnSums(x, stride: xs, rows: rows, into: variance, centeredOn: mean, from: j0)
        sumOverProcesses(variance + j0, count: count)
        for j in j0..<c { variance[j] *= inverse }
    }

    /// `TensorFlowOrder.packetColumnSums` of x, or of (x − mean)² when `mean` is given, for channels
    /// `from`… (a whole number of packets, or every channel below 16 rows: they are summed as among all
    /// c); with AVX-512 the channels are split between the workers (each channel's sum is one chain over
    /// the rows, whoever takes it: the same bits).
    private func packetColumnSums(
        _ x: UnsafePointer<Float>, stride xs: Int, rows: Int, into sum: UnsafeMutablePointer<Float>,
        centeredOn mean: UnsafePointer<Float>?, from j0: Int = 0
    ) {
        if usesAVX512 {
            let packed = rows >= 16 ? c / 8 * 8 : 0
            forEachChannelRange(rows: rows, from: j0) { j in
                ckernels_bn_statistic_sums_avx512(x, xs, rows, j.lowerBound, j.upperBound, packed, mean, sum)
            }
            return
        }
        let columns = c - j0, x = x + j0, sum = sum + j0
        if let mean {
            let mean = mean + j0
            TensorFlowOrder.packetColumnSums(rows: rows, columns: columns, into: sum, accumulators: coefficients) { r, j in
                let d = x[r * xs + j] - mean[j]
                return d * d
            }
        } else {
            TensorFlowOrder.packetColumnSums(rows: rows, columns: columns, into: sum, accumulators: coefficients) { r, j in
                x[r * xs + j]
            }
        }
    }

    /// Runs `body` on ranges of channels `from`… in whole 16-channel vectors, one per worker (one range
    /// when the work is small): wide ranges let the gradient sums read each row's channels as one run.
    private func forEachChannelRange(rows: Int, from j0: Int = 0, _ body: (Range<Int>) -> Void) {
        let vectors = (c - j0 + 15) / 16
        let width = rows * (c - j0) < 16384 ? vectors : (vectors + parallel.workers - 1) / parallel.workers
        parallel.forEachPiece((vectors + width - 1) / width) { p, _ in
            body(j0 + p * width * 16..<Swift.min(c, j0 + (p + 1) * width * 16))
        }
    }

    /// The batch mean and biased variance (and `statisticsRows`) of channels `from`… from float64 sums
    /// of x and x² over every process's rows, in one pass and one reduction, each rounded once. Float32
    /// values square exactly in float64, so E[x²] − E[x]² loses nothing a float32 variance keeps
    /// unless the mean exceeds the deviation by ~10⁴ (cancellation of 2⁻⁵³·mean²/variance).
    @inline(__always)
    private func computeBatchStatisticsInFloat64(rows: Int, from j0: Int, _ x: (_ row: Int, _ channel: Int) -> Float) {
        let c = self.c, sums = self.sums.baseAddress!
        sums.update(repeating: 0, count: 2 * c)
        for r in 0..<rows {
            for j in j0..<c {
                let v = Double(x(r, j))
                sums[j] += v
                sums[c + j] += v * v
            }
        }
        sums[2 * c] = Double(rows)
        sumWideOverProcesses(count: 2 * c + 1)
        let count = sums[2 * c]
        statisticsRows = Int(count)
        for j in j0..<c {
            let m = sums[j] / count
            mean[j] = Float(m)
            variance[j] = Float(Swift.max(sums[c + j] / count - m * m, 0))
        }
    }

    /// y = (x − mean)·scaling + beta, then max(y, 0) when `relu`.
    func normalize(
        _ x: UnsafePointer<Float>, stride xs: Int, into y: UnsafeMutablePointer<Float>, stride ys: Int,
        rows: Int, relu: Bool
    ) {
        // pieces of at least 16 384 values (as ReLU's): a batch-1 image of 3 136 rows is split too
        parallel.forEachRange(rows, minChunk: Swift.max(1, 16384 / c)) { rr in
            normalizeRows(x + rr.lowerBound * xs, stride: xs, into: y + rr.lowerBound * ys, stride: ys, rows: rr.count, relu: relu)
        }
    }

    /// `normalize` of `rows` rows on the calling thread (the AVX2 or AVX-512 kernel when `usesAVX2`: same bits).
    @inline(__always)
    func normalizeRows(
        _ x: UnsafePointer<Float>, stride xs: Int, into y: UnsafeMutablePointer<Float>, stride ys: Int,
        rows: Int, relu: Bool
    ) {
        let c = self.c, mean = self.mean, scaling = self.scaling, beta = layer.beta!.data
        if usesAVX2 {
            let kernel = usesAVX512 ? ckernels_normalize_rows_avx512 : ckernels_normalize_rows
            kernel(x, xs, y, ys, rows, c, mean, scaling, beta, relu ? 1 : 0)
            return
        }
        for r in 0..<rows {
            let xr = x + r * xs, yr = y + r * ys
            if relu {
                for j in 0..<c { yr[j] = Swift.max((xr[j] - mean[j]) * scaling[j] + beta[j], 0) }
            } else {
                for j in 0..<c { yr[j] = (xr[j] - mean[j]) * scaling[j] + beta[j] }
            }
        }
    }

    /// What ckernels_bn_input_grad_avx512 reads for the input gradient of the last `backward` (contiguous
    /// rows of c), for a pass that makes that gradient itself.
    func inputGradientOperands(
        x: UnsafePointer<Float>, outputGrad dy: UnsafePointer<Float>, relu: FollowingReLU?
    ) -> ckernels_normalization_input_grad {
        let gradient = OutputGradient(dy: dy, c: c, relu: relu, x: x, stride: c, of: self)
        return ckernels_normalization_input_grad(
            x: x, dy: dy, relu: gradient.followingReLU(fromRow: 0), mean: mean, coefficients: coefficients)
    }

    /// Adds the gamma and beta gradients and writes (or adds, when `accumulate`) the input gradient
    /// from the output gradient `dy` (contiguous rows of c). With `relu`, the output gradient is a
    /// following ReLU's: it counts where that ReLU's output is > 0. `sumsTaken`: `.tensorFlow`'s
    /// gradient sums of this `dy` are in `gradientSums` already (the fused 1×1 backward pass took them).
    func backward(
        x: UnsafePointer<Float>, stride xs: Int, outputGrad dy: UnsafePointer<Float>, rows: Int,
        inputGrad dx: UnsafeMutablePointer<Float>?, stride dxs: Int, accumulate: Bool,
        relu: FollowingReLU? = nil, sumsTaken: Bool = false
    ) {
        let gradient = OutputGradient(dy: dy, c: c, relu: relu, x: x, stride: xs, of: self)
        switch summation {
        case .tensorFlow:
            if !sumsTaken { gradientSumsInTensorFlowOrder(x: x, stride: xs, outputGrad: gradient, rows: rows) }
            gradientCoefficientsFromSums()
        case .float64: gradientCoefficientsInFloat64(x: x, stride: xs, outputGrad: gradient, rows: rows)
        }
        guard let dx else { return }
        let c = self.c, mean = self.mean
        let coef = UnsafePointer(coefficients)
        parallel.forEachRange(rows, minChunk: Swift.max(1, 16384 / c)) { rr in
            if usesAVX512 {
                let r0 = rr.lowerBound
                ckernels_bn_input_grad_avx512(
                    x + r0 * xs, xs, dy + r0 * c, c, gradient.followingReLU(fromRow: r0), rr.count, c, mean, coef,
                    dx + r0 * dxs, dxs, accumulate ? 1 : 0)
                return
            }
            for r in rr {
                let xr = x + r * xs, gr = dx + r * dxs
                for j in 0..<c {
                    let g = coef[c + j] * ((gradient[r, j] - coef[j]) - (xr[j] - mean[j]) * coef[2 * c + j])
                    gr[j] = accumulate ? gr[j] + g : g
                }
            }
        }
    }
}

/// The ReLU after a normalization, whose backward pass the normalization's takes in.
enum FollowingReLU {
    /// Its output, contiguous rows of c.
    case output(UnsafePointer<Float>)
    /// Its output made again from the normalization's input and statistics, as `normalizeRows`
    /// rounds it (so the same signs), instead of read: one stream fewer over the rows for each of
    /// the two passes.
    case recomputed
}

/// A normalization's output gradient, or the one a following ReLU passes back (0 where the ReLU's
/// output is not > 0, as `ReLUKernel.backward` writes it).
struct OutputGradient {
    let dy: UnsafePointer<Float>
    let c: Int
    let relu: FollowingReLU?
    /// The normalization's input and its coefficients, for `.recomputed`.
    let x: UnsafePointer<Float>, xs: Int
    let mean, scaling, beta: UnsafePointer<Float>

    init(
        dy: UnsafePointer<Float>, c: Int, relu: FollowingReLU?, x: UnsafePointer<Float>, stride xs: Int,
        of normalization: BatchNormArithmetic
    ) {
        self.dy = dy
        self.c = c
        self.relu = relu
        self.x = x
        self.xs = xs
        mean = UnsafePointer(normalization.mean)
        scaling = UnsafePointer(normalization.scaling)
        beta = UnsafePointer(normalization.layer.beta!.data)
    }

    @inline(__always)
    subscript(row: Int, channel: Int) -> Float {
        let i = row * c + channel
        switch relu {
        case nil: return dy[i]
        case .output(let y): return y[i] > 0 ? dy[i] : 0
        case .recomputed:
            let output = (x[row * xs + channel] - mean[channel]) * scaling[channel] + beta[channel]
            return output > 0 ? dy[i] : 0
        }
    }

    /// The AVX-512 kernels' description of `relu` for rows from `r0` on.
    func followingReLU(fromRow r0: Int) -> ckernels_following_relu {
        switch relu {
        case nil: return ckernels_following_relu(output: nil, stride: 0, scaling: nil, beta: nil)
        case .output(let y): return ckernels_following_relu(output: y + r0 * c, stride: c, scaling: nil, beta: nil)
        case .recomputed: return ckernels_following_relu(output: nil, stride: 0, scaling: scaling, beta: beta)
        }
    }
}

extension BatchNormArithmetic {
    // TF: dx = gamma·r·((dy − mean(dy)) − (x − mean)·r²·mean(dy·(x − mean))), r = invStd; in
    // inference mode dx = gamma·r·dy. `coefficients` gets mean(dy), gamma·r, r²·mean(dy·(x − mean)).
    // The gamma and beta gradients stay this process's share (the trainer sums every gradient); the
    // means are over every process's rows, as the statistics were.

    /// `gradientSums` in FusedBatchNormGrad's order.
    private func gradientSumsInTensorFlowOrder(
        x: UnsafePointer<Float>, stride xs: Int, outputGrad dy: OutputGradient, rows: Int
    ) {
        let c = self.c, mean = self.mean, invStd = self.invStd
        if usesAVX512 {
            let firstEnd = TensorFlowOrder.outerColumnSumsFirstHalf(rows: rows, columns: c)
            gradientSums.withMemoryRebound(to: Float.self, capacity: 4 * c) { sums in
                forEachChannelRange(rows: rows) { j in
                    ckernels_bn_gradient_sums_avx512(
                        x, xs, dy.dy, c, dy.followingReLU(fromRow: 0), rows, firstEnd, j.lowerBound, j.upperBound, mean,
                        invStd, sums)
                }
            }
        } else {
            TensorFlowOrder.outerColumnSums(rows: rows, columns: c, into: gradientSums, halves: scratch) { r, j in
                let g = dy[r, j], centered = x[r * xs + j] - mean[j]
                return SIMD4(g, g * (centered * invStd[j]), g * centered, 0)
            }
        }
    }

    /// Adds the gamma and beta gradients and sets `coefficients` from `gradientSums`, in
    /// FusedBatchNormGrad's formulas.
    private func gradientCoefficientsFromSums() {
        let c = self.c, invStd = self.invStd
        let gGamma = layer.gamma!.grad, gBeta = layer.beta!.grad, gamma = layer.gamma!.data
        let count = Float(statisticsRows), inverse = 1 / count
        let k = coefficients
        for j in 0..<c {
            let s = gradientSums[j]
            gBeta[j] += s[0]
            gGamma[j] += s[1]
            k[j] = s[0]
            k[c + j] = s[2]
        }
        if lastWasTraining { sumOverProcesses(k, count: 2 * c) }
        for j in 0..<c {
            k[2 * c + j] = lastWasTraining ? (invStd[j] * invStd[j]) * (k[c + j] / count) : 0
            k[j] = lastWasTraining ? k[j] * inverse : 0
            k[c + j] = gamma[j] * invStd[j]
        }
    }

    /// Adds the gamma and beta gradients and sets `coefficients`, from float64 sums (summed over
    /// the processes before rounding), each coefficient rounded once.
    private func gradientCoefficientsInFloat64(
        x: UnsafePointer<Float>, stride xs: Int, outputGrad dy: OutputGradient, rows: Int
    ) {
        let c = self.c, mean = self.mean, invStd = self.invStd, wide = wideGradientSums
        Float64Sums.columnSums(rows: rows, columns: c, into: wide) { r, j in
            let g = Double(dy[r, j])
            return SIMD2(g, g * (Double(x[r * xs + j]) - Double(mean[j])))
        }
        let gamma = layer.gamma!.data, sums = self.sums.baseAddress!, k = coefficients
        let gGamma = wideGamma!, gBeta = wideBeta!
        for j in 0..<c {
            gBeta[j] += wide[j][0]
            gGamma[j] += wide[j][1] * Double(invStd[j])
            sums[j] = wide[j][0]
            sums[c + j] = wide[j][1]
        }
        if lastWasTraining { sumWideOverProcesses(count: 2 * c) }
        let count = Double(statisticsRows)
        for j in 0..<c {
            let r = Double(invStd[j])
            k[2 * c + j] = lastWasTraining ? Float(r * r * (sums[c + j] / count)) : 0
            k[j] = lastWasTraining ? Float(sums[j] / count) : 0
            k[c + j] = gamma[j] * invStd[j]
        }
    }
}

extension BatchNormalization {
    /// moving ← moving·momentum + batch·(1 − momentum), in FusedBatchNormV3's form for tf-keras
    /// ((1 − f)·old + f·new with f = 1 − momentum, the variance Bessel-corrected as (f·n/(n−1))·var)
    /// and in Keras 3's (biased variance).
    func updateMovingStatistics(mean: UnsafePointer<Float>, variance: UnsafePointer<Float>, channels c: Int, count: Int) {
        let mm = movingMean!.data, mv = movingVariance!.data, factor = averagingFactor
        switch movingVarianceUpdate {
        case .besselCorrected:
            let keep = 1 - factor
            let varianceFactor = count > 1 ? factor * (Float(count) / Float(count - 1)) : factor
            for j in 0..<c {
                mm[j] = keep * mm[j] + factor * mean[j]
                mv[j] = keep * mv[j] + varianceFactor * variance[j]
            }
        case .biased:
            for j in 0..<c {
                mm[j] = mm[j] * momentum + mean[j] * factor
                mv[j] = mv[j] * momentum + variance[j] * factor
            }
        }
    }

    /// Inference mode: the moving mean and variance.
    func movingStatistics(channels c: Int, mean: UnsafeMutablePointer<Float>, variance: UnsafeMutablePointer<Float>) {
        mean.update(from: movingMean!.data, count: c)
        variance.update(from: movingVariance!.data, count: c)
    }
}
