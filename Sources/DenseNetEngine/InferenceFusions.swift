// Runs of nodes that inference computes in one pass, in other orders or with other kernels than the
// nodes' own: DenseNet's transitions, pooled before their convolution, and its stem, a direct strided
// convolution whose normalization and ReLU are applied as its rows are made. The executor asks each kind
// at every node (`inferenceFusion`). Training keeps the nodes' rounding: its transitions only skip what
// changes no bit (`TrainingFusion`).

import CKernels

/// Nodes `nodes` that inference runs as one pass: it reads the first node's input and writes the last
/// node's output; the nodes between may serve as scratch.
protocol InferenceFusion: AnyObject {
    /// The nodes it replaces, in order; each intermediate output is read only by the next node.
    var nodes: ClosedRange<Int> { get }
    /// The kind `bench --profile` counts it under.
    var profileKind: String { get }
    /// Forward FLOPs per sample as the nodes op by op count them (the profile's effective rate).
    var flopsPerSample: Int { get }
    /// Floats of the executor's per-worker scratch (`NodeIO.workspace`) that `forward` uses.
    var workspacePerWorker: Int { get }
    /// Inference of `batch` samples, from and into the executor's node outputs.
    func forward(_ outputs: [UnsafeMutablePointer<Float>], input: Int, batch: Int, workspace: [UnsafeMutablePointer<Float>])
}

/// An `InferenceFusion` whose training passes also run as one, with the bits of its nodes' own.
protocol TrainingFusion: InferenceFusion {
    /// The kind `bench --profile` counts its training passes under ("… backward" for the backward one).
    var trainingProfileKind: String { get }
    /// Training runs this fusion (false: its nodes one by one, where the fused passes would round otherwise).
    var fusesTraining: Bool { get }
    /// Training's forward pass over the executor's `ios` (by node): writes the last node's output and
    /// every output that `backward` or the nodes' own backward passes read (a backward pass seeded
    /// inside the fusion runs those).
    func forward(training ios: [NodeIO?], batch: Int, mode: ForwardMode)
    /// The backward pass after it, from the last node's output gradient: the first node's input gradient
    /// (written or added, as its `accumulate` says) and the variables' gradients; the inner nodes'
    /// gradient buffers, and the outputs its forward pass left unwritten, serve as scratch.
    func backward(_ ios: [NodeIO?], batch: Int)
}

/// The fusion that starts at node `first`, if any: `first…` must match one kind's ops exactly, with
/// each intermediate output read only by the next node.
func inferenceFusion(
    at first: Int, nodes: [GraphNode], kernels: [(any Kernel)?], consumers: [[Int]], parallel: Parallel,
    configuration: EngineConfiguration
) -> (any InferenceFusion)? {
    func chain(_ count: Int) -> Bool {
        first + count <= nodes.count
            && (first..<(first + count - 1)).allSatisfy { nodes[$0 + 1].inputs == [$0] && consumers[$0] == [$0 + 1] }
    }
    if chain(4),
        let transition = PooledTransition(nodes: nodes, kernels: kernels, at: first, parallel: parallel, configuration: configuration)
    {
        return transition
    }
    if chain(6), let stem = DirectStem(nodes: nodes, kernels: kernels, at: first, parallel: parallel, configuration: configuration) {
        return stem
    }
    return nil
}

// MARK: - Transitions

// A DenseNet transition — BatchNormalization → ReLU → 1×1 convolution → 2×2 average pooling at stride 2
// without padding — with the pooling moved before the convolution. A 1×1 convolution without bias or
// activation and an average are both linear and act on different axes, so they commute: pooling first
// gives the same function with a quarter of the multiply-adds (the transitions' convolutions were ~9 % of
// DenseNet-121's inference time), and the normalised, rectified and pooled rows are made in one pass over
// the block's output instead of three. Measured in docs/performance.md ("Transitions and stem in one pass").
//
// Training runs the nodes in Keras' order (pooling first rounds the output and the weight gradient
// otherwise, and tf-keras' one-step fixtures notice: Adam's first step flips sign on the noise-sized
// gradients of the stem), but two of their passes change no bit in other forms: the normalization writes
// the ReLU's output itself, and the convolution's input gradient is computed once per pooled pixel and
// spread over its window times 1/4 — the pooling's backward pass gives each pixel of a window the
// window's gradient times 1/4, a power of two that leaves every product and partial sum of the GEMM's
// ordered chains exactly scaled — a quarter of that GEMM's multiply-adds. The ReLU's backward pass is
// taken into the normalization's.
/// The four nodes of one transition, run as normalize-rectify-pool, then one GEMM per piece.
final class PooledTransition: TrainingFusion {
    /// The nodes it replaces, normalization to pooling; the last one's output is written.
    let nodes: ClosedRange<Int>
    let normalization: BatchNormArithmetic
    let weights: Variable
    let height: Int, width: Int, channels: Int, outputChannels: Int
    let pooledHeight: Int, pooledWidth: Int
    let parallel: Parallel
    /// `.float64` summation: one GEMM per image, so an image's bits do not depend on the batch.
    let imageByImage: Bool

    let profileKind = "transition pooled before its convolution 1×1"
    let trainingProfileKind = "transition (normalization + relu, convolution 1×1, average pooling)"
    /// The nodes' own kernels, which training runs.
    let normalizationKernel: BatchNormKernel, convolution: ConvKernel, pooling: any Kernel
    /// The input gradient's GEMM has the bits of the convolution's own (the portable kernels' direct path does not).
    var fusesTraining: Bool { !convolution.direct }

    /// The transition at nodes `first…first + 3` (a chain), if their ops are one.
    init?(nodes graph: [GraphNode], kernels: [(any Kernel)?], at first: Int, parallel: Parallel, configuration: EngineConfiguration) {
        guard let bn = kernels[first] as? BatchNormKernel, graph[first].shape.count == 3,
            graph[first + 1].op is ReLUOp, let conv = graph[first + 2].op as? Conv2D,
            let convolution = kernels[first + 2] as? ConvKernel,
            let pool = graph[first + 3].op as? AveragePooling2D, let pooling = kernels[first + 3], let kernel = conv.kernel
        else { return nil }
        guard conv.kernelSize == (1, 1), conv.strides == (1, 1), !conv.useBias, conv.activation == .linear,
            pool.poolSize == (2, 2), pool.strides == (2, 2), pool.padding == .valid
        else { return nil }
        nodes = first...(first + 3)
        normalization = bn.arithmetic
        (normalizationKernel, self.convolution, self.pooling) = (bn, convolution, pooling)
        weights = kernel
        (height, width, channels) = (graph[first].shape[0], graph[first].shape[1], graph[first].shape[2])
        outputChannels = conv.filters
        (pooledHeight, pooledWidth) = (height / 2, width / 2)
        self.parallel = parallel
        imageByImage = configuration.summation == .float64
    }

    /// Two normalised input rows, then one image's pooled rows.
    var workspacePerWorker: Int { (2 * width + pooledHeight * pooledWidth) * channels }

    /// Forward FLOPs per sample as the op-by-op convolution counts them, as Winograd's are counted
    /// (the pooled GEMM does a quarter of them): the profile's GFLOP/s are the transition's effective rate.
    var flopsPerSample: Int { 2 * height * width * channels * outputChannels }

    /// Pieces are images, or bands of a small batch's pooled rows (a GEMM's height changes OpenBLAS's
    /// rounding of a row, as the convolutions' bands do).
    func forward(_ outputs: [UnsafeMutablePointer<Float>], input: Int, batch: Int, workspace: [UnsafeMutablePointer<Float>]) {
        let x = outputs[input], y = outputs[nodes.upperBound]
        normalization.useMovingStatistics()
        let bands = imageByImage ? 1 : imageBands(batch: batch, rows: pooledHeight, pixelsPerRow: pooledWidth)
        parallel.forEachPiece(batch * bands) { piece, t in
            let n = piece / bands, rows = pieceRange(piece % bands, of: bands, count: pooledHeight)
            let pair = workspace[t], pooled = workspace[t] + 2 * width * channels
            for oy in rows {
                let top = x + (n * height + 2 * oy) * width * channels
                normalization.normalizeRows(top, stride: channels, into: pair, stride: channels, rows: 2 * width, relu: true)
                averageTwoByTwo(pair, into: pooled + (oy - rows.lowerBound) * pooledWidth * channels)
            }
            sgemm(
                m: rows.count * pooledWidth, n: outputChannels, k: channels, a: pooled, lda: channels,
                b: weights.data, ldb: outputChannels, beta: 0,
                c: y + (n * pooledHeight + rows.lowerBound) * pooledWidth * outputChannels, ldc: outputChannels)
        }
    }

    func forward(training ios: [NodeIO?], batch: Int, mode: ForwardMode) {
        normalizationKernel.forward(ios[nodes.lowerBound]!, throughReLU: ios[nodes.lowerBound + 1]!, batch: batch, mode: mode)
        convolution.forward(ios[nodes.lowerBound + 2]!, batch: batch, mode: mode)
        pooling.forward(ios[nodes.upperBound]!, batch: batch, mode: mode)
    }

    /// The pooling's backward pass and the convolution's weight gradient as the nodes take them; the
    /// convolution's input gradient per pooled pixel (into the normalization's output, which training
    /// does not write), spread over its window (into the ReLU's output gradient); the normalization's
    /// and the ReLU's backward passes in one.
    func backward(_ ios: [NodeIO?], batch: Int) {
        let normalized = ios[nodes.lowerBound]!, rectified = ios[nodes.lowerBound + 1]!
        let convolved = ios[nodes.lowerBound + 2]!, pooled = ios[nodes.upperBound]!
        pooling.backward(pooled, batch: batch)
        convolution.backward(
            NodeIO(
                inputs: convolved.inputs, output: convolved.output, inputGrads: [nil], outputGrad: convolved.outputGrad,
                workspace: convolved.workspace),
            batch: batch)
        let dy = UnsafePointer(pooled.outputGrad!), pooledGrad = normalized.output, w = UnsafePointer(weights.data)
        let pixels = pooledHeight * pooledWidth, (h, wd, c, cout) = (height, width, channels, outputChannels)
        // the GEMMs of the convolution's chunks of images (about 2 048 of its rows), a quarter as tall
        let chunk = convolution.imagesPerChunk
        parallel.forEachPiece((batch + chunk - 1) / chunk) { piece, _ in
            let n0 = piece * chunk, images = Swift.min(chunk, batch - n0)
            sgemm(
                transB: true, m: images * pixels, n: c, k: cout, a: dy + n0 * pixels * cout, lda: cout, b: w, ldb: cout,
                beta: 0, c: pooledGrad + n0 * pixels * c, ldc: c)
        }
        let headGrad = rectified.outputGrad!
        parallel.forEachPiece(batch * h) { row, _ in
            let n = row / h, iy = row % h, out = headGrad + row * wd * c
            guard iy / 2 < pooledHeight else { out.update(repeating: 0, count: wd * c); return }
            let source = pooledGrad + (n * pixels + iy / 2 * pooledWidth) * c
            for ix in 0..<wd {
                let o = out + ix * c
                guard ix / 2 < pooledWidth else { o.update(repeating: 0, count: c); continue }
                let s = source + ix / 2 * c
                for j in 0..<c { o[j] = s[j] * 0.25 }
            }
        }
        normalizationKernel.backward(normalized, throughReLU: rectified, batch: batch)
    }

    /// One pooled row from two input rows (`pair`, `width` pixels each), as PoolKernel sums a window:
    /// row by row, left to right, then times 1/4.
    @inline(__always)
    private func averageTwoByTwo(_ pair: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let c = channels, below = width * channels
        for ox in 0..<pooledWidth {
            let a = pair + 2 * ox * c, o = out + ox * c
            for j in 0..<c { o[j] = (a[j] + a[c + j] + a[below + j] + a[below + c + j]) * 0.25 }
        }
    }
}

// MARK: - Stem

// DenseNet's stem — ZeroPadding2D → Conv2D 7×7 at stride 2 over the 3 colour channels → BatchNormalization
// → ReLU → ZeroPadding2D → MaxPooling2D 3×3 at stride 2 — with AVX-512. Op by op the convolution went
// through im2col (147 floats per output pixel) and OpenBLAS at about a quarter of the peak, and the
// normalization, ReLU, padding and pooling each read and wrote the 112×112×64 activations once more
// (together as long as the convolution). Here each piece pads its input rows, runs the direct strided
// kernel (strided_conv_avx512.c), normalises and rectifies the rows it made while they are in cache, and
// a second pass max-pools them with the padding implicit.
/// The six nodes of the stem, run as a direct convolution with its normalization, then one pooling pass.
final class DirectStem: InferenceFusion {
    let nodes: ClosedRange<Int>
    let profileKind: String
    let normalization: BatchNormArithmetic
    let weights: Variable
    let input: (height: Int, width: Int, channels: Int)
    let padding: (top: Int, left: Int), padded: (height: Int, width: Int)
    let kernelSize: (Int, Int), stride: Int
    let activations: (height: Int, width: Int, channels: Int)
    let pool: (size: Int, stride: Int, padding: Int), pooled: (height: Int, width: Int)
    let parallel: Parallel
    /// The kernel in ckernels_pointwise_pack's strips (packed again each batch: 37 KB for DenseNet's).
    private let packed: UnsafeMutablePointer<Float>

    /// The stem at nodes `first…first + 5` (a chain), if their ops are one and the CPU has AVX-512.
    init?(nodes graph: [GraphNode], kernels: [(any Kernel)?], at first: Int, parallel: Parallel, configuration: EngineConfiguration) {
        guard configuration.usesAVX512, let pad = graph[first].op as? ZeroPadding2D, let conv = graph[first + 1].op as? Conv2D,
            let kernel = conv.kernel, let bn = kernels[first + 2] as? BatchNormKernel, graph[first + 3].op is ReLUOp,
            let poolPad = graph[first + 4].op as? ZeroPadding2D, let maxPool = graph[first + 5].op as? MaxPooling2D,
            let image = graph[first].inputs.first, graph[image].shape.count == 3
        else { return nil }
        let ((top, _), (left, _)) = pad.padding, ((poolTop, _), (poolLeft, _)) = poolPad.padding
        guard conv.strides.0 == conv.strides.1, conv.padding == .valid, !conv.useBias, conv.activation == .linear,
            conv.filters % 32 == 0, maxPool.poolSize.0 == maxPool.poolSize.1, maxPool.strides.0 == maxPool.strides.1,
            maxPool.padding == .valid, poolTop == poolLeft
        else { return nil }
        nodes = first...(first + 5)
        normalization = bn.arithmetic
        weights = kernel
        let x = graph[image].shape, p = graph[first].shape, a = graph[first + 1].shape, y = graph[first + 5].shape
        input = (x[0], x[1], x[2])
        padding = (top, left)
        padded = (p[0], p[1])
        kernelSize = conv.kernelSize
        stride = conv.strides.0
        activations = (a[0], a[1], a[2])
        pool = (maxPool.poolSize.0, maxPool.strides.0, poolTop)
        pooled = (y[0], y[1])
        profileKind = "stem: convolution \(kernelSize.0)×\(kernelSize.1) stride \(stride) + normalization + relu + max pooling"
        self.parallel = parallel
        packed = .allocate(capacity: kernel.count)
    }

    deinit { packed.deallocate() }

    /// An image's padded rows, and the floats the kernel may read past them.
    var workspacePerWorker: Int { padded.height * padded.width * input.channels + 16 * stride * input.channels }

    var flopsPerSample: Int {
        2 * activations.height * activations.width * activations.channels * kernelSize.0 * kernelSize.1 * input.channels
    }

    /// Pieces are images, or bands of a small batch's rows; every output is computed by itself, so
    /// the bits do not depend on the pieces. The ReLU's node holds the activations between the passes.
    func forward(_ outputs: [UnsafeMutablePointer<Float>], input inputNode: Int, batch: Int, workspace: [UnsafeMutablePointer<Float>]) {
        let x = outputs[inputNode], a = outputs[nodes.lowerBound + 3], y = outputs[nodes.upperBound]
        let (h, w, cin) = input, (ah, aw, cout) = activations
        normalization.useMovingStatistics()
        ckernels_pointwise_pack(weights.data, kernelSize.0 * kernelSize.1 * cin, cout, packed)
        let bands = imageBands(batch: batch, rows: ah, pixelsPerRow: aw)
        parallel.forEachPiece(batch * bands) { piece, t in
            let n = piece / bands, rows = pieceRange(piece % bands, of: bands, count: ah)
            let firstRow = rows.lowerBound * stride, inputRows = (rows.count - 1) * stride + kernelSize.0
            DirectConv.pad(
                x + n * h * w * cin, h: h, w: w, c: cin, top: padding.top, left: padding.left, hp: padded.height,
                wp: padded.width, rows: firstRow..<(firstRow + inputRows), into: workspace[t])
            let out = a + (n * ah + rows.lowerBound) * aw * cout
            ckernels_strided_conv_avx512(
                workspace[t], padded.width, cin, kernelSize.0, kernelSize.1, stride, packed, cout, rows.count, aw, out)
            normalization.normalizeRows(out, stride: cout, into: out, stride: cout, rows: rows.count * aw, relu: true)
        }
        let poolBands = imageBands(batch: batch, rows: pooled.height, pixelsPerRow: pooled.width)
        parallel.forEachPiece(batch * poolBands) { piece, _ in
            let n = piece / poolBands, rows = pieceRange(piece % poolBands, of: poolBands, count: pooled.height)
            ckernels_max_pool_avx512(
                a + n * ah * aw * cout, ah, aw, cout, pool.size, pool.stride, pool.padding, rows.lowerBound,
                rows.upperBound, pooled.width, y + n * pooled.height * pooled.width * cout)
        }
    }
}
