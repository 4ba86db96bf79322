// A dense unit's relu(BN(x)) → 1×1 convolution (→ BatchNormalization → ReLU) in one AVX-512 pass, for
// inference (Sources/CKernels/pointwise_avx512.c). Op by op the head was written once by
// `normalize_rows`, copied again into OpenBLAS's panels, and the 1×1 output read and written once more
// by each of BatchNormalization and ReLU; here each block of rows is normalised into a small panel,
// multiplied by the weights packed into strips of 32 output channels, and the following
// BatchNormalization and ReLU are applied before the one store. Training takes the convolution alone
// (its following normalization needs the batch's statistics of its output first), and its backward pass
// in one pass with the head's normalization gradient sums (pointwise_backward_avx512.c). Rounding differs
// from OpenBLAS (its sums run in another order); only TensorFlow-order sums take it (the float64
// configuration keeps every image's bits independent of the batch, which OpenBLAS gives it).
// Each output row is computed by itself: the pieces do not change a bit. Measured in
// docs/performance.md ("One pass for the dense units' 1×1 convolutions").

import CKernels

/// The one-pass head of a dense unit whose tail starts with a bias-free, linear 1×1 convolution with a
/// multiple of 32 output channels, optionally followed by a BatchNormalization and a ReLU.
final class FusedPointwise {
    let conv: ConvKernel
    /// The BatchNormalization after the convolution, applied in the epilogue (nil: none follows).
    let outputNormalization: BatchNormArithmetic?
    /// A ReLU follows (the BatchNormalization, or the convolution).
    let relu: Bool
    /// How many of the tail's kernels this pass replaces (1 to 3).
    let fusedKernels: Int
    let parallel: Parallel
    /// The weights in ckernels_pointwise_pack's strips, and which values they were packed from:
    /// training or loading may have changed them since (checked before each batch, as Winograd's).
    private let packed: UnsafeMutablePointer<Float>
    private var packedFrom = TransformedValues()
    /// Training's backward pass in one AVX-512 pass (`backward`): the head's channels are a multiple of 16.
    let fusesBackward: Bool
    /// The weights transposed in ckernels_pointwise_backward_pack's half-strips, and which values they were
    /// packed from; the backward pass's weight gradient of the batch before it is added to the variable's.
    private let packedTransposed, weightSums: UnsafeMutablePointer<Float>
    private var packedTransposedFrom = TransformedValues()

    /// The pass for `tail` (a dense unit's kernels after its first relu), or nil when the
    /// configuration or the tail's first kernels do not fit it.
    init?(tail: [any Kernel], configuration: EngineConfiguration, parallel: Parallel) {
        guard configuration.usesAVX512, configuration.summation == .tensorFlow,
            let conv = tail.first as? ConvKernel, conv.is1x1, !conv.direct, conv.bias == nil, !conv.relu,
            conv.cout % 32 == 0, tail.count > 1
        else { return nil }
        self.conv = conv
        self.parallel = parallel
        var fused = 1
        outputNormalization = (tail[fused] as? BatchNormKernel)?.arithmetic
        if outputNormalization != nil { fused += 1 }
        relu = fused < tail.count && tail[fused] is ReLUKernel
        if relu { fused += 1 }
        // the last kernel of the tail writes the block buffer: it stays op by op
        fusedKernels = Swift.min(fused, tail.count - 1)
        guard fusedKernels == fused else { return nil }
        let weights = conv.g.cin * conv.cout
        packed = .allocate(capacity: weights)
        fusesBackward = conv.g.cin % 16 == 0
        packedTransposed = .allocate(capacity: fusesBackward ? weights : 0)
        weightSums = .allocate(capacity: fusesBackward ? weights : 0)
    }

    deinit {
        packed.deallocate()
        packedTransposed.deallocate()
        weightSums.deallocate()
    }

    /// Floats of scratch per worker (the forward pass's panel, the backward pass's chains and blocks).
    var workspacePerWorker: Int {
        Swift.max(
            ckernels_pointwise_scratch(conv.g.cin),
            fusesBackward ? ckernels_pointwise_backward_scratch(conv.g.cin, conv.cout) : 0)
    }

    /// Rows per piece when the pieces take every column (above `columnSplitRows`): blocks of the 14-row
    /// microkernel, at most 112, and at least 4 pieces when the rows allow. From the row count only,
    /// never the worker count.
    static func rowsPerPiece(rows: Int) -> Int {
        let quarter = (rows + 3) / 4
        return Swift.max(14, Swift.min(112, (quarter + 13) / 14 * 14))
    }

    /// Output columns per piece: all of them, or, for the few rows of a batch-1 call at 14×14 and 7×7,
    /// half of them (whole 32-column strips) with every row, so that each piece streams only its half of
    /// the weights, which there outweigh the rows. From the shape only, never the worker count.
    static func columnsPerPiece(rows: Int, columns: Int) -> Int {
        rows <= columnSplitRows && columns % 64 == 0 ? columns / 2 : columns
    }

    /// The most rows whose pieces split the columns instead (`columnsPerPiece`).
    static let columnSplitRows = 196

    /// Packs the weights unless the pack is of the current ones.
    private func prepareWeights() {
        if packedFrom.areCurrent(for: conv.kernel) { return }
        ckernels_pointwise_pack(conv.kernel.data, conv.g.cin, conv.cout, packed)
        packedFrom.record(conv.kernel)
    }

    /// Inference: y[rows, cout] (rows `ldy` floats apart) = the fused kernels' output for relu(BN(x)) of
    /// x's first cin channels, rows `stride` floats apart, with `head`'s coefficients (already computed).
    func forward(
        normalizing x: UnsafePointer<Float>, stride: Int, with head: BatchNormArithmetic, rows: Int,
        into y: UnsafeMutablePointer<Float>, stride ldy: Int, workspace: [UnsafeMutablePointer<Float>]
    ) {
        outputNormalization?.useMovingStatistics()
        run(normalizing: x, stride: stride, with: head, rows: rows, into: y, stride: ldy, workspace: workspace, epilogue: true)
    }

    /// Training: the convolution's output alone, for relu(BN(x)) as `forward` takes it. The pass never
    /// stores the head (the backward pass makes it again), and rounds as the inference pass does.
    func forwardConvolution(
        normalizing x: UnsafePointer<Float>, stride: Int, with head: BatchNormArithmetic, rows: Int,
        into y: UnsafeMutablePointer<Float>, stride ldy: Int, workspace: [UnsafeMutablePointer<Float>]
    ) {
        run(normalizing: x, stride: stride, with: head, rows: rows, into: y, stride: ldy, workspace: workspace, epilogue: false)
    }

    /// The pass, with the following normalization and ReLU (`epilogue`) or without.
    private func run(
        normalizing x: UnsafePointer<Float>, stride: Int, with head: BatchNormArithmetic, rows: Int,
        into y: UnsafeMutablePointer<Float>, stride ldy: Int, workspace: [UnsafeMutablePointer<Float>], epilogue: Bool
    ) {
        prepareWeights()
        let cin = conv.g.cin, cout = conv.cout, beta = UnsafePointer(head.layer.beta!.data)
        let mean = UnsafePointer(head.mean), scaling = UnsafePointer(head.scaling), packed = UnsafePointer(self.packed)
        let out = epilogue ? outputNormalization : nil, relu: Int32 = epilogue && relu ? 1 : 0
        let columns = Self.columnsPerPiece(rows: rows, columns: cout), groups = cout / columns
        let piece = columns < cout ? rows : Self.rowsPerPiece(rows: rows), pieces = (rows + piece - 1) / piece
        let outBeta = out.map { UnsafePointer($0.layer.beta!.data) }
        parallel.forEachPiece(pieces * groups) { p, t in
            let r0 = p / groups * piece, count = Swift.min(piece, rows - r0), c0 = p % groups * columns
            ckernels_pointwise_avx512(
                x + r0 * stride, stride, count, cin, mean, scaling, beta, packed + c0 * cin, columns,
                out.map { $0.mean + c0 }, out.map { $0.scaling + c0 }, outBeta.map { $0 + c0 }, relu,
                y + r0 * ldy + c0, ldy, workspace[t])
        }
    }

    /// Training's backward pass of the convolution (`fusesBackward`), whose forward pass took relu(BN(x))
    /// from x's first cin channels (rows `stride` floats apart) with `head`'s batch statistics: the
    /// head's gradient into `headGrad` (rows of cin), the weight gradient added to the kernel's, and
    /// `head`'s TensorFlow-order gradient sums of that gradient through its relu, ready for
    /// `BatchNormArithmetic.backward(…, sumsTaken: true)`. The workers split the channels in runs of
    /// 16; each channel's results are made whole by one of them, in an order fixed by the shape.
    func backward(
        outputGrad: OutputGradient, normalizing x: UnsafePointer<Float>, stride: Int,
        with head: BatchNormArithmetic, rows: Int, into headGrad: UnsafeMutablePointer<Float>,
        workspace: [UnsafeMutablePointer<Float>]
    ) {
        switch outputGrad {
        case .stored(let dy):
            backward(dy, through: nil, normalizing: x, stride: stride, with: head, rows: rows, into: headGrad, workspace: workspace)
        case .normalizationInputGradient(let operands):
            withUnsafePointer(to: operands) {
                backward(nil, through: $0, normalizing: x, stride: stride, with: head, rows: rows, into: headGrad, workspace: workspace)
            }
        }
    }

    /// Where `backward` takes the convolution's output gradient from.
    enum OutputGradient {
        /// Written by the op after it (rows of cout).
        case stored(UnsafePointer<Float>)
        /// The input gradient of the normalization after it (`fusedKernels` 3), made by the pass from
        /// these operands as it reads its rows (so it is never stored).
        case normalizationInputGradient(ckernels_normalization_input_grad)
    }

    private func backward(
        _ dy: UnsafePointer<Float>?, through: UnsafePointer<ckernels_normalization_input_grad>?,
        normalizing x: UnsafePointer<Float>, stride: Int, with head: BatchNormArithmetic, rows: Int,
        into headGrad: UnsafeMutablePointer<Float>, workspace: [UnsafeMutablePointer<Float>]
    ) {
        // each worker packs its own channels (training changes the weights every step)
        let repack = !packedTransposedFrom.areCurrent(for: conv.kernel)
        let w = UnsafePointer(conv.kernel.data), packedTransposed = self.packedTransposed
        // one piece per worker (at most one per run of 16 channels): each piece reads all of dy
        let cin = conv.g.cin, cout = conv.cout, runs = cin / 16, pieces = Swift.min(parallel.workers, runs)
        let firstEnd = TensorFlowOrder.outerColumnSumsFirstHalf(rows: rows, columns: cin)
        let weightSums = self.weightSums
        let mean = UnsafePointer(head.mean), invStd = UnsafePointer(head.invStd)
        let scaling = UnsafePointer(head.scaling), beta = UnsafePointer(head.layer.beta!.data)
        head.gradientSums.withMemoryRebound(to: Float.self, capacity: 4 * cin) { sums in
            parallel.forEachPiece(pieces) { p, t in
                let channels = pieceRange(p, of: pieces, count: runs)
                let j0 = channels.lowerBound * 16, j1 = channels.upperBound * 16
                if repack { ckernels_pointwise_backward_pack(w, j0, j1, cout, packedTransposed) }
                ckernels_pointwise_backward_avx512(
                    dy, through, cout, packedTransposed, x, stride, rows, firstEnd, j0, j1, mean, invStd, scaling, beta, headGrad, cin,
                    sums, weightSums + j0 * cout, workspace[t])
            }
        }
        if repack { packedTransposedFrom.record(conv.kernel) }
        let grad = conv.kernel.grad
        parallel.forEachRange(cin * cout, minChunk: 16384) { r in
            for e in r { grad[e] += weightSums[e] }
        }
    }
}
