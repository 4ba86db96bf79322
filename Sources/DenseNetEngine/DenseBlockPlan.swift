// Memory-efficient dense blocks (Pleiss et al. 2017, "Memory-Efficient Implementation of DenseNets").
//
// A dense block as Keras builds it is a chain of conv blocks x' = Concatenate([x, f(x)]), where f
// starts with BatchNormalization → relu. Executed op by op, every Concatenate writes a fresh copy
// of all feature maps so far, and every BatchNormalization/relu of the growing input keeps its
// own output and gradient: memory quadratic in the block's depth.
//
// `fuseDenseBlocks` finds such chains in a built graph and replaces each by one `DenseBlockOp`:
// - the block's concatenated features live in ONE buffer (the fused node's output, the width of
//   the block's last Concatenate); the block input is copied into its first channels and each
//   conv block appends its k new channels in place (its last convolution writes them there
//   itself); the gradient lives in one buffer too;
// - the first BatchNormalization + relu of each conv block (the only ops that read the wide input)
//   write into one scratch buffer shared by all conv blocks, and are recomputed from the stored
//   batch statistics in the backward pass (one multiply-add per element, no convolution); when the
//   conv block starts with a direct convolution (densenet-mini), the forward pass writes them
//   straight into that convolution's padded input instead (`ConvKernel.forwardDirect(normalizing:)`);
// - the rest of the conv block (1×1 conv, BN, relu, 3×3 conv) runs through the ordinary kernels;
//   it keeps per layer only the outputs its backward pass reads (the 1×1 conv's and the relu's),
//   everything else, gradients included, lives in buffers shared across the block.
// So memory grows linearly with depth. Arithmetic is the same, in the same order, as op by op:
// results are bit-identical to the unfused graph.

/// A placeholder left where fused nodes were (shape [0]: the executor allocates nothing for it).
final class FusedAwayOp: Op {
    func outputShape(for inputs: [[Int]]) throws -> [Int] { [0] }
    func makeKernel(_ spec: KernelSpec) -> any Kernel { FusedAwayKernel() }
}

final class FusedAwayKernel: Kernel {
    func forward(_ io: NodeIO, batch: Int, mode: ForwardMode) {}
    func backward(_ io: NodeIO, batch: Int) {}
}

/// One conv block of a dense block: x → BN → relu → tail… → h, output Concatenate([x, h]).
struct DenseConvBlock {
    /// Channels of the block input x (a prefix of the block buffer).
    let inputChannels: Int
    /// Channels appended (h).
    let growth: Int
    let bn: BatchNormalization
    /// The ops after the relu, in order, with their input and output per-sample shapes.
    let tail: [(op: any Op, input: [Int], output: [Int])]

    /// Per tail op: is its output read by a backward pass (its own or the next op's)? Those
    /// outputs are kept per conv block; the others live in shared buffers. A ReLU right after a
    /// BatchNormalization is not kept either: the backward pass recomputes it (`reluRecomputed`).
    var keptOutputs: [Bool] {
        tail.indices.map { k in
            let op = tail[k].op
            let readsOwnOutput = op is ReLUOp || (op as? Conv2D)?.activation == .relu
            let nextReadsInput = k + 1 < tail.count && (tail[k + 1].op is Conv2D || tail[k + 1].op is BatchNormalization)
            return !reluRecomputed(at: k) && (readsOwnOutput || nextReadsInput)
        }
    }

    /// Tail op k is a ReLU after a BatchNormalization, whose input is kept: the backward pass makes
    /// its output again from that input and the statistics of the forward pass (the same
    /// arithmetic, so the same bits) instead of keeping it, halving what DenseNet's conv blocks keep.
    func reluRecomputed(at k: Int) -> Bool { k > 0 && tail[k].op is ReLUOp && tail[k - 1].op is BatchNormalization }
}

/// A whole dense block as one graph op. It is a `Layer` only so that the executor sees its
/// trainable variables; it never appears in a model tree.
final class DenseBlockOp: Op, Layer {
    let kerasClassName = "DenseBlock"
    let name: String? = nil
    let height: Int, width: Int
    let inputChannels: Int
    let outputChannels: Int
    let units: [DenseConvBlock]

    init(height: Int, width: Int, inputChannels: Int, units: [DenseConvBlock]) {
        self.height = height
        self.width = width
        self.inputChannels = inputChannels
        self.units = units
        outputChannels = inputChannels + units.reduce(0) { $0 + $1.growth }
    }

    var ownVariables: [Variable] { [] }
    var attributes: [LayerAttribute] {
        var layers: [any Layer] = []
        for u in units {
            layers.append(u.bn)
            for t in u.tail { if let l = t.op as? any Layer { layers.append(l) } }
        }
        return [.list("layers", layers)]
    }

    func call(_ inputs: [SymbolicTensor], in graph: GraphBuilder) throws -> SymbolicTensor {
        try graph.apply(self, inputs)
    }

    func outputShape(for inputs: [[Int]]) throws -> [Int] { [height, width, outputChannels] }

    func makeKernel(_ spec: KernelSpec) -> any Kernel { DenseBlockKernel(op: self, spec: spec) }
}

/// Finds dense blocks in `nodes` and fuses each into one `DenseBlockOp` node (at the position of
/// its last Concatenate, so node ids are unchanged; the other nodes become placeholders). Nodes
/// in `keep` (graph outputs) are never fused away.
func fuseDenseBlocks(_ nodes: [GraphNode], keep: Set<Int>) -> [GraphNode] {
    var consumers = [[Int]](repeating: [], count: nodes.count)
    for (i, n) in nodes.enumerated() { for j in n.inputs { consumers[j].append(i) } }

    struct Found { let x: Int; let bn: Int; let relu: Int; let tail: [Int]; let concat: Int }
    func spatial(_ s: [Int]) -> [Int] { Array(s.prefix(2)) }
    /// The conv block ending in Concatenate node `c`, if it has the fusable shape.
    func match(_ c: Int) -> Found? {
        let n = nodes[c]
        guard n.op is Concatenate, n.inputs.count == 2, n.shape.count == 3 else { return nil }
        let x = n.inputs[0], h = n.inputs[1]
        let hw = spatial(nodes[x].shape)
        guard nodes[x].shape.count == 3, x != h, consumers[h] == [c] else { return nil }
        var tail: [Int] = []
        var cur = h
        while tail.count < 16 {
            let node = nodes[cur]
            guard !keep.contains(cur), node.inputs.count == 1, node.shape.count == 3, spatial(node.shape) == hw,
                node.op is Conv2D || node.op is BatchNormalization || node.op is ReLUOp
            else { return nil }
            tail.insert(cur, at: 0)
            let p = node.inputs[0]
            guard p != x, consumers[p] == [cur], !keep.contains(p) else { return nil }
            if nodes[p].op is ReLUOp, let bn = nodes[p].inputs.first, nodes[bn].op is BatchNormalization,
                nodes[bn].inputs == [x], consumers[bn] == [p], !keep.contains(bn)
            {
                return Found(x: x, bn: bn, relu: p, tail: tail, concat: c)
            }
            cur = p
        }
        return nil
    }

    var blocks: [[Found]] = []
    var blockOfConcat: [Int: Int] = [:]
    for c in nodes.indices {
        guard let f = match(c) else { continue }
        // x's consumers must be exactly this conv block's BN and Concatenate when x is an inner
        // Concatenate of the block (its buffer disappears); the block's own input may be shared.
        if let b = blockOfConcat[f.x], blocks[b].last?.concat == f.x, !keep.contains(f.x),
            Set(consumers[f.x]) == Set([f.bn, f.concat]), consumers[f.x].count == 2
        {
            blocks[b].append(f)
            blockOfConcat[c] = b
        } else {
            blocks.append([f])
            blockOfConcat[c] = blocks.count - 1
        }
    }
    guard !blocks.isEmpty else { return nodes }

    var out = nodes
    let dead = GraphNode(op: FusedAwayOp(), inputs: [], shape: [0])
    for block in blocks {
        let x0 = block[0].x
        let shape0 = nodes[x0].shape
        var units: [DenseConvBlock] = []
        var channels = shape0[2]
        for f in block {
            let tail = f.tail.map { (op: nodes[$0].op!, input: nodes[nodes[$0].inputs[0]].shape, output: nodes[$0].shape) }
            let growth = nodes[f.tail.last!].shape[2]
            units.append(
                DenseConvBlock(
                    inputChannels: channels, growth: growth,
                    bn: nodes[f.bn].op as! BatchNormalization, tail: tail))
            channels += growth
            for id in [f.bn, f.relu] + f.tail { out[id] = dead }
            if f.concat != block.last!.concat { out[f.concat] = dead }
        }
        let op = DenseBlockOp(height: shape0[0], width: shape0[1], inputChannels: shape0[2], units: units)
        let last = block.last!.concat
        precondition(op.outputChannels == nodes[last].shape[2])
        out[last] = GraphNode(op: op, inputs: [x0], shape: nodes[last].shape)
    }
    return out
}

/// Executes a `DenseBlockOp`: see the top of this file.
final class DenseBlockKernel: ImageKernel {
    let op: DenseBlockOp
    let pix: Int  // pixels per sample
    let total: Int  // block buffer channels
    let capacity: Int
    let parallel: Parallel

    /// Per conv block: the tail's kernels and where their outputs are kept.
    final class Unit {
        let c: Int, growth: Int
        let bn: BatchNormalization
        let kernels: [any Kernel]
        let sizes: [Int]  // per-sample floats of each tail output
        let keep: [Bool]  // tail output read by the backward pass: one buffer per unit
        /// Tail positions of ReLUs after a BatchNormalization, made again before the backward pass.
        let recomputedReLUs: [Int]
        /// The tail ends in a convolution whose output nothing else reads: it writes its channels
        /// of the block buffer itself (no copy).
        let lastWritesBlock: Bool
        let normalization: BatchNormArithmetic
        /// Inference on AVX-512: relu(BN(x)) → 1×1 conv (→ BN → relu) in one pass, when the tail fits.
        let pointwise: FusedPointwise?
        var kept: [UnsafeMutablePointer<Float>?]
        /// The tail ops' kinds and forward FLOPs per sample (`LayerKindProfile`).
        let kinds: [(name: String, flopsPerSample: Int)]

        init(_ u: DenseConvBlock, spec: KernelSpec) {
            c = u.inputChannels
            growth = u.growth
            bn = u.bn
            kernels = u.tail.map {
                $0.op.makeKernel(
                    KernelSpec(
                        inputShapes: [$0.input], outputShape: $0.output,
                        capacity: spec.capacity, parallel: spec.parallel, configuration: spec.configuration,
                        collective: spec.collective, wideGradients: spec.wideGradients))
            }
            sizes = u.tail.map { product($0.output) }
            kinds = u.tail.map { LayerKindProfile.kind(of: $0.op, outputShape: $0.output) }
            keep = u.keptOutputs
            recomputedReLUs = u.tail.indices.filter { u.reluRecomputed(at: $0) }
            lastWritesBlock = kernels.last is ConvKernel && keep.last == false
            kept = Array(repeating: nil, count: u.tail.count)
            normalization = BatchNormArithmetic(layer: u.bn, channels: c, spec: spec)
            pointwise = FusedPointwise(tail: kernels, configuration: spec.configuration, parallel: spec.parallel)
        }

        deinit {
            for p in kept { p?.deallocate() }
        }
    }

    let units: [Unit]
    let maxInput: Int  // widest conv-block input
    /// relu(BN(x)) of the conv block being run, and its gradient (shared by all conv blocks).
    let head: UnsafeMutablePointer<Float>
    var headGrad: UnsafeMutablePointer<Float>?
    /// Tail outputs not kept per unit, and all tail gradients: one buffer per tail position.
    var sharedOut: [UnsafeMutablePointer<Float>]
    var sharedGrad: [UnsafeMutablePointer<Float>] = []
    /// NodeIOs of the tails: inference (everything shared) and training (kept outputs + gradients).
    private var inferenceIOs: [[NodeIO]]?
    private var trainingIOs: [[NodeIO]]?
    private var lastForwardKept = false
    private var lastMode: ForwardMode = .inference
    /// Every conv block is one direct convolution writing into the block buffer (densenet-mini's
    /// dense units): in inference the block runs image by image (`ImageKernel`).
    private let directUnits: Bool
    /// The executor's profile: a dense block measures its parts by kind.
    private let profile: LayerKindProfile

    init(op: DenseBlockOp, spec: KernelSpec) {
        self.op = op
        pix = op.height * op.width
        total = op.outputChannels
        capacity = spec.capacity
        parallel = spec.parallel
        profile = spec.profile
        let units = op.units.map { Unit($0, spec: spec) }
        self.units = units
        directUnits = units.allSatisfy { $0.kernels.count == 1 && ($0.kernels[0] as? ConvKernel)?.direct == true && $0.lastWritesBlock }
        maxInput = op.units.map(\.inputChannels).max() ?? 1
        head = allocateFloats(spec.capacity * pix * maxInput)
        let positions = units.map(\.sizes.count).max() ?? 0
        sharedOut = (0..<positions).map { k in
            let size = units.compactMap { k < $0.sizes.count ? $0.sizes[k] : nil }.max() ?? 1
            return allocateFloats(Swift.max(1, size * spec.capacity))
        }
    }

    deinit {
        head.deallocate()
        headGrad?.deallocate()
        for p in sharedOut { p.deallocate() }
        for p in sharedGrad { p.deallocate() }
    }

    var workspacePerWorker: Int {
        units.flatMap { $0.kernels.map(\.workspacePerWorker) + [$0.pointwise?.workspacePerWorker ?? 0] }.max() ?? 0
    }

    private func ios(training: Bool, workspace: [UnsafeMutablePointer<Float>]) -> [[NodeIO]] {
        if training, let t = trainingIOs { return t }
        if !training, let i = inferenceIOs { return i }
        if training && headGrad == nil {
            headGrad = allocateFloats(capacity * pix * maxInput)
            sharedGrad = sharedOut.indices.map { k in
                let size = units.compactMap { k < $0.sizes.count ? $0.sizes[k] : nil }.max() ?? 1
                return allocateFloats(Swift.max(1, size * capacity))
            }
        }
        let made: [[NodeIO]] = units.map { u in
            var outputs: [UnsafeMutablePointer<Float>] = []
            for k in u.sizes.indices {
                if training && u.keep[k] {
                    if u.kept[k] == nil { u.kept[k] = allocateFloats(Swift.max(1, u.sizes[k] * capacity)) }
                    outputs.append(u.kept[k]!)
                } else {
                    outputs.append(sharedOut[k])
                }
            }
            return u.sizes.indices.map { k in
                NodeIO(
                    inputs: [k == 0 ? head : outputs[k - 1]], output: outputs[k],
                    inputGrads: training ? [k == 0 ? headGrad! : sharedGrad[k - 1]] : [nil],
                    outputGrad: training ? sharedGrad[k] : nil, workspace: workspace)
            }
        }
        if training { trainingIOs = made } else { inferenceIOs = made }
        return made
    }

    func forward(_ io: NodeIO, batch: Int, mode: ForwardMode) {
        forward(io, batch: batch, mode: mode, keep: mode.isTraining)
    }

    func forwardsPerImage(_ mode: ForwardMode) -> Bool { mode == .inference && directUnits }

    private func forward(_ io: NodeIO, batch: Int, mode: ForwardMode, keep: Bool) {
        let block = io.output, c0 = op.inputChannels, total = self.total, rows = batch * pix
        profile.measure("concatenation") {
            parallel.copyRows(rows, count: c0, from: io.inputs[0], stride: c0, to: block, stride: total)
        }
        let tails = ios(training: keep, workspace: io.workspace)
        lastForwardKept = keep
        lastMode = mode
        for (i, (u, tail)) in zip(units, tails).enumerated() {
            profile.measure("batch normalization") {
                // the unit before took this pass's statistics of all but the last growth channels
                u.normalization.computeStatistics(
                    block, stride: total, rows: rows, mode: mode, extending: i > 0 ? units[i - 1].normalization : nil)
            }
            let last = u.kernels.count - 1
            var first = 0
            if mode == .inference && !keep, let pointwise = u.pointwise {
                let fused = tail[pointwise.fusedKernels - 1]
                profile.measure(u.kinds[0].name + " fused with its normalizations and relus", flops: batch * u.kinds[0].flopsPerSample) {
                    pointwise.forward(
                        normalizing: block, stride: total, with: u.normalization, rows: rows, into: fused.output,
                        stride: u.sizes[pointwise.fusedKernels - 1] / pix, workspace: io.workspace)
                }
                first = pointwise.fusedKernels
            } else if let pointwise = u.pointwise {
                // training: the 1×1 convolution of relu(BN(x)) in one pass, without storing the head
                profile.measure(u.kinds[0].name, flops: batch * u.kinds[0].flopsPerSample) {
                    pointwise.forwardConvolution(
                        normalizing: block, stride: total, with: u.normalization, rows: rows, into: tail[0].output,
                        stride: u.sizes[0] / pix, workspace: io.workspace)
                }
                first = 1
            }
            for (k, kernel) in u.kernels.enumerated() where k >= first {
                let kind = u.kinds[k]
                guard let conv = kernel as? ConvKernel else {
                    if k == 0 { profile.measure("batch normalization") { headRecompute(u, block: block, batch: batch) } }
                    if k > 0, kernel is ReLUKernel, u.kernels[k - 1] is BatchNormKernel { continue }  // done with it
                    if k + 1 < u.kernels.count, u.kernels[k + 1] is ReLUKernel, let bn = kernel as? BatchNormKernel {
                        profile.measure(kind.name) { bn.forward(tail[k], throughReLU: tail[k + 1], batch: batch, mode: mode) }
                        continue
                    }
                    profile.measure(kind.name) { kernel.forward(tail[k], batch: batch, mode: mode) }
                    continue
                }
                let intoBlock = k == last && u.lastWritesBlock
                let y = intoBlock ? block + u.c : tail[k].output, ldy = intoBlock ? total : conv.cout
                if k == 0 && conv.direct {
                    // relu(BN(x)) written straight into the convolution's padded input, not into `head`
                    profile.measure(kind.name, flops: batch * kind.flopsPerSample) {
                        conv.forwardDirect(
                            tail[0], batch: batch, mode: mode, normalizing: block, stride: total,
                            with: u.normalization, into: y, stride: ldy)
                    }
                } else {
                    if k == 0 { profile.measure("batch normalization") { headRecompute(u, block: block, batch: batch) } }
                    profile.measure(kind.name, flops: batch * kind.flopsPerSample) {
                        conv.forward(tail[k], batch: batch, mode: mode, into: y, stride: ldy)
                    }
                }
            }
            if !u.lastWritesBlock {
                profile.measure("concatenation") {
                    parallel.copyRows(rows, count: u.growth, from: tail[last].output, stride: u.growth, to: block + u.c, stride: total)
                }
            }
        }
    }

    func backward(_ io: NodeIO, batch: Int) {
        if !lastForwardKept {
            // The forward pass ran in inference mode without keeping the tails: run it again
            // (same mode, so no statistics move) keeping what the backward pass reads.
            forward(io, batch: batch, mode: lastMode, keep: true)
        }
        let tails = ios(training: true, workspace: io.workspace)
        let block = io.output, dBlock = io.outputGrad!, total = self.total
        for (u, tail) in zip(units, tails).reversed() {
            let fused = u.pointwise?.fusesBackward == true ? u.pointwise : nil
            if fused == nil {
                profile.measure("batch normalization backward") { headRecompute(u, block: block, batch: batch) }
            }
            profile.measure("concatenation backward") {
                parallel.copyRows(
                    batch * pix, count: u.growth, from: dBlock + u.c, stride: total, to: tail.last!.outputGrad!, stride: u.growth)
            }
            for k in u.recomputedReLUs {
                let bn = u.kernels[k - 1] as! BatchNormKernel
                profile.measure("batch normalization backward") { bn.recomputeOutput(tail[k - 1], throughReLU: tail[k], batch: batch) }
            }
            // the fused pass makes the bottleneck normalization's input gradient itself (never stored)
            let takesNormalization = fused?.fusedKernels == 3 && !tail[1].accumulate[0]
            backwardTail(u, tail, batch: batch, downTo: fused == nil ? 0 : takesNormalization ? 3 : 1)
            if let fused {
                var outputGrad = FusedPointwise.OutputGradient.stored(tail[0].outputGrad!)
                if takesNormalization {
                    let bn = u.kernels[1] as! BatchNormKernel
                    profile.measure("batch normalization backward") {
                        outputGrad = .normalizationInputGradient(
                            bn.backwardLeavingInputGradient(tail[1], throughReLU: tail[2], batch: batch))
                    }
                }
                profile.measure(u.kinds[0].name + " backward", flops: 2 * batch * u.kinds[0].flopsPerSample) {
                    fused.backward(
                        outputGrad: outputGrad, normalizing: block, stride: total, with: u.normalization,
                        rows: batch * pix, into: headGrad!, workspace: io.workspace)
                }
            }
            profile.measure("batch normalization backward") {
                headBackward(u, block: block, dBlock: dBlock, batch: batch, sumsTaken: fused != nil)
            }
        }
        if let dx = io.inputGrads[0] {
            profile.measure("concatenation backward") {
                parallel.copyRows(
                    batch * pix, count: op.inputChannels, from: dBlock, stride: total, to: dx, stride: op.inputChannels,
                    accumulate: io.accumulate[0])
            }
        }
    }

    /// The tail's backward passes from the last op down to op `first`; a BatchNormalization followed by
    /// a ReLU takes the ReLU's backward pass into its own.
    private func backwardTail(_ u: Unit, _ tail: [NodeIO], batch: Int, downTo first: Int) {
        var k = u.kernels.count - 1
        while k >= first {
            if k > 0, u.kernels[k] is ReLUKernel, let bn = u.kernels[k - 1] as? BatchNormKernel {
                profile.measure("batch normalization backward") { bn.backward(tail[k - 1], throughReLU: tail[k], batch: batch) }
                k -= 2
            } else {
                // a convolution's input and weight gradients: twice its forward multiply-adds
                profile.measure(u.kinds[k].name + " backward", flops: 2 * batch * u.kinds[k].flopsPerSample) {
                    u.kernels[k].backward(tail[k], batch: batch)
                }
                k -= 1
            }
        }
    }

    // MARK: - image by image (inference, direct units only)

    /// The BatchNormalizations' coefficients from their moving statistics, once per batch; and the
    /// tails' NodeIOs, made here (on one thread) the first time.
    func prepareImages(_ io: NodeIO, batch: Int, mode: ForwardMode) {
        _ = ios(training: false, workspace: io.workspace)
        lastForwardKept = false
        lastMode = mode
        for u in units {
            u.normalization.computeStatistics(io.output, stride: total, rows: batch * pix, mode: mode)
            (u.kernels[0] as! ConvKernel).prepareWinograd()
        }
    }

    /// `forward` of image n alone: its rows of the block input, then each unit's normalised,
    /// padded convolution into the block buffer.
    func forward(_ io: NodeIO, image n: Int, worker t: Int, mode: ForwardMode) {
        let block = io.output, c0 = op.inputChannels, total = self.total
        copyRows(n * pix..<(n + 1) * pix, count: c0, from: io.inputs[0], stride: c0, to: block, stride: total)
        for (u, tail) in zip(units, ios(training: false, workspace: io.workspace)) {
            (u.kernels[0] as! ConvKernel).forwardDirect(
                tail[0], image: n, worker: t, mode: mode, normalizing: block, stride: total,
                with: u.normalization, into: block + u.c, stride: total)
        }
    }

    // MARK: - BatchNormalization + relu over the block buffer's first c channels
    // (BatchNormKernel's arithmetic and ReLUKernel's, reading rows with stride `total`).

    /// head = relu(BN(x)) with the statistics of the last forward pass.
    private func headRecompute(_ u: Unit, block: UnsafeMutablePointer<Float>, batch: Int) {
        u.normalization.normalize(block, stride: total, into: head, stride: u.c, rows: batch * pix, relu: true)
    }

    /// relu and BatchNormalization backward in one pass; the input gradient is added to the block
    /// gradient's first c channels (which already hold the Concatenate's pass-through gradient). The
    /// relu's signs come from the block buffer, which the pass reads anyway, not from `head`.
    /// `sumsTaken`: the fused 1×1 backward pass took the normalization's gradient sums.
    private func headBackward(
        _ u: Unit, block: UnsafeMutablePointer<Float>, dBlock: UnsafeMutablePointer<Float>, batch: Int, sumsTaken: Bool
    ) {
        u.normalization.backward(
            x: block, stride: total, outputGrad: headGrad!, rows: batch * pix,
            inputGrad: dBlock, stride: total, accumulate: true, relu: .recomputed, sumsTaken: sumsTaken)
    }
}

extension DenseBlockOp {
    /// Floats per sample of everything a training pass holds for this block: the block buffer and
    /// its gradient, the kept tail outputs, and the shared buffers (head, tail outputs, gradients).
    var fusedFloatsPerSample: Int {
        let pix = height * width
        let widest = units.map(\.inputChannels).max() ?? 0
        let kept = units.reduce(0) { acc, u in
            acc + zip(u.tail, u.keptOutputs).reduce(0) { $0 + ($1.1 ? product($1.0.output) : 0) }
        }
        let positions = units.map(\.tail.count).max() ?? 0
        let shared = (0..<positions).reduce(0) { acc, k in
            acc + (units.compactMap { k < $0.tail.count ? product($0.tail[k].output) : nil }.max() ?? 0)
        }
        return 2 * pix * outputChannels + kept + 2 * pix * widest + 2 * shared
    }

    /// The same for the op-by-op graph: every BN, relu, tail op and Concatenate output, and a
    /// gradient of each.
    var unfusedFloatsPerSample: Int {
        let pix = height * width
        return units.reduce(0) { acc, u in
            acc + 2
                * (2 * pix * u.inputChannels + u.tail.reduce(0) { $0 + product($1.output) }
                    + pix * (u.inputChannels + u.growth))
        }
    }
}

extension Model {
    /// Activation and gradient floats a training executor for `batch` samples holds, as built
    /// (dense blocks fused, unless the model was built without) and as the op-by-op graph would
    /// (every Concatenate a fresh copy). Per-worker scratch and kernel-private buffers
    /// (convolution weight partials, pooling indices) are not counted.
    public func activationFloats(batch: Int) -> (planned: Int, unfused: Int) {
        var needsGrad = [Bool](repeating: false, count: nodes.count)
        var planned = 0, unfused = 0
        for (i, n) in nodes.enumerated() {
            if n.op is FusedAwayOp { continue }
            if let op = n.op {
                let hasParams = (op as? any Layer).map { !$0.trainableVariables.isEmpty } ?? false
                needsGrad[i] = hasParams || n.inputs.contains { needsGrad[$0] }
            }
            if let block = n.op as? DenseBlockOp {
                planned += block.fusedFloatsPerSample * batch
                unfused += block.unfusedFloatsPerSample * batch
            } else {
                let size = product(n.shape) * batch * (needsGrad[i] ? 2 : 1)
                planned += size
                unfused += size
            }
        }
        return (planned, unfused)
    }

    /// Dense blocks executed with shared buffers (see `fuseDenseBlocks`).
    public var fusedDenseBlocks: Int { nodes.filter { $0.op is DenseBlockOp }.count }
}
