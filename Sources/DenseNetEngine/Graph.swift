// Execution graph: primitive ops wired as a DAG; an executor with preallocated buffers.

/// A symbolic tensor in a graph under construction: node id and per-sample shape (no batch axis).
public struct SymbolicTensor: Hashable, Sendable {
    /// The node's index in the graph; outputs of later nodes have larger ids.
    public let id: Int
    /// The per-sample shape (no batch axis), e.g. `[28, 28, 1]`.
    public let shape: [Int]
}

/// A primitive computation (conv, BN, relu, ...). Layers append ops to a graph.
public protocol Op: AnyObject {
    /// Per-sample output shape for the given per-sample input shapes.
    func outputShape(for inputs: [[Int]]) throws -> [Int]
    /// A kernel executing this op at a fixed node position with fixed shapes and batch capacity.
    func makeKernel(_ spec: KernelSpec) -> any Kernel
}

/// What an op's kernel is built for: its node's shapes, the largest batch, the workers and the configuration.
public struct KernelSpec: Sendable {
    /// The per-sample shapes of the node's inputs, in order.
    public let inputShapes: [[Int]]
    /// The per-sample shape of the node's output.
    public let outputShape: [Int]
    /// Maximum batch size; kernels may preallocate for it.
    public let capacity: Int
    /// The workers the kernel splits its loops over.
    public let parallel: Parallel
    /// Which kernels to run (the model's configuration).
    public let configuration: EngineConfiguration
    /// The processes training together: batch normalization sums its statistics over them.
    public let collective: any Collective
    /// Where kernels add their gradient sums under `.float64` summation; nil otherwise.
    var wideGradients: WideGradients? = nil
    /// The executor's profile, for kernels that measure their parts themselves (dense blocks).
    var profile = LayerKindProfile()
}

/// How a forward pass treats BatchNormalization: Keras' `training=False` or `training=True`.
public enum ForwardMode: Equatable, Sendable {
    /// `training=False`: BatchNormalization uses its moving statistics (`predict`, `evaluate`).
    case inference
    /// Training mode (batch statistics); updateStatistics = update BN moving stats.
    case training(updateStatistics: Bool)

    /// True for `.training`, whether or not statistics are updated.
    public var isTraining: Bool { if case .training = self { return true } else { return false } }
}

/// Buffers of one node: fixed pointers (allocated for capacity once).
public final class NodeIO {
    /// The inputs' activations, `capacity × per-sample size` floats each.
    public let inputs: [UnsafeMutablePointer<Float>]
    /// The node's activation, which its kernel's forward pass writes.
    public let output: UnsafeMutablePointer<Float>
    /// nil where the input needs no gradient (and before the executor's first backward pass).
    public internal(set) var inputGrads: [UnsafeMutablePointer<Float>?]
    /// Per input: add into inputGrads[i] (true) or overwrite it (false). Set by the backward plan.
    public internal(set) var accumulate: [Bool]
    /// The gradient of the loss with respect to `output`, filled in before the kernel's backward pass; nil
    /// when nothing needs it (and before the executor's first backward pass). Other nodes' gradients
    /// take turns in the same buffer (`GradientBufferPlan`): it holds this gradient only from the
    /// backward pass of the node's last consumer to its own.
    public internal(set) var outputGrad: UnsafeMutablePointer<Float>?
    /// Per-worker scratch, shared by all nodes (valid only during one forward/backward call).
    public let workspace: [UnsafeMutablePointer<Float>]

    init(
        inputs: [UnsafeMutablePointer<Float>], output: UnsafeMutablePointer<Float>,
        inputGrads: [UnsafeMutablePointer<Float>?], outputGrad: UnsafeMutablePointer<Float>?,
        workspace: [UnsafeMutablePointer<Float>]
    ) {
        self.inputs = inputs
        self.output = output
        self.inputGrads = inputGrads
        self.accumulate = Array(repeating: false, count: inputs.count)
        self.outputGrad = outputGrad
        self.workspace = workspace
    }
}

/// An op's computation at one node of a built graph, with its shapes fixed; it may keep scratch for its batch
/// capacity.
public protocol Kernel: AnyObject {
    /// Floats of per-worker scratch needed (shared across nodes).
    var workspacePerWorker: Int { get }
    /// Computes `io.output` from `io.inputs` for the first `batch` samples; `mode` decides
    /// BatchNormalization's statistics.
    func forward(_ io: NodeIO, batch: Int, mode: ForwardMode)
    /// Computes input gradients (overwrite or accumulate per io.accumulate) and ADDS parameter gradients.
    func backward(_ io: NodeIO, batch: Int)
}

extension Kernel {
    /// Default: no scratch.
    public var workspacePerWorker: Int { 0 }
}

/// A kernel whose forward pass can compute each image on its own, from that image's inputs only.
/// The executor runs a chain of them (each reading only the previous one's output: in inference
/// densenet-mini from its first convolution to the flatten before its classifier) image by image in one
/// parallel loop: an image's activations are still in cache for the next kernel, and the chain
/// joins once, not per kernel. Same computations per image, so the same bits as kernel by kernel.
protocol ImageKernel: Kernel {
    /// This instance can, in this mode (a convolution on the direct path, not on the batched GEMM
    /// one; a dense block only in inference, where its BatchNormalizations need no batch statistics).
    func forwardsPerImage(_ mode: ForwardMode) -> Bool
    /// Runs once per batch before the images (e.g. BatchNormalization coefficients).
    func prepareImages(_ io: NodeIO, batch: Int, mode: ForwardMode)
    /// Image `n`'s forward pass, on worker `worker` (which selects the workspace).
    func forward(_ io: NodeIO, image n: Int, worker: Int, mode: ForwardMode)
}

extension ImageKernel {
    func prepareImages(_ io: NodeIO, batch: Int, mode: ForwardMode) {}
}

/// Consecutive `ImageKernel` nodes the executor runs image by image; `last` = the last node's id
/// (placeholders of fused nodes may lie between them).
struct ImageChain {
    let links: [(kernel: any ImageKernel, io: NodeIO)]
    let last: Int
}

struct GraphNode {
    let op: (any Op)?  // nil = graph input
    let inputs: [Int]
    let shape: [Int]
}

/// Collects primitive ops while layers are called; also hands out the init RNG.
public final class GraphBuilder {
    /// The generator that initializes variables as layers are built; seeding it reproduces the initial
    /// weights.
    public var rng: SplitMix64
    var nodes: [GraphNode] = []
    var inputIDs: [Int] = []

    /// An empty graph whose variable initialization starts from `seed`.
    public init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    /// Adds a graph input of per-sample `shape` (no batch axis).
    public func input(shape: [Int]) -> SymbolicTensor {
        nodes.append(GraphNode(op: nil, inputs: [], shape: shape))
        inputIDs.append(nodes.count - 1)
        return SymbolicTensor(id: nodes.count - 1, shape: shape)
    }

    /// Appends `op` applied to `inputs` and returns its output.
    ///
    /// - Throws: whatever `op.outputShape(for:)` throws for these input shapes (an `EngineError`).
    @discardableResult
    public func apply(_ op: any Op, _ inputs: [SymbolicTensor]) throws -> SymbolicTensor {
        let shape = try op.outputShape(for: inputs.map { $0.shape })
        nodes.append(GraphNode(op: op, inputs: inputs.map { $0.id }, shape: shape))
        return SymbolicTensor(id: nodes.count - 1, shape: shape)
    }
}

/// Runs a built graph on batches up to `capacity`, with all activation, gradient and scratch
/// buffers allocated once: activations and scratch when it is made, gradients (shared by liveness,
/// `GradientBufferPlan`) at the first backward pass or seed fill.
final class Executor {
    let nodes: [GraphNode]
    let capacity: Int
    let parallel: Parallel
    let configuration: EngineConfiguration
    let sizes: [Int]  // per-sample floats per node
    let outputs: [UnsafeMutablePointer<Float>]
    let needsGrad: [Bool]
    /// Which buffer holds each node's gradient.
    let gradientPlan: GradientBufferPlan
    /// The gradient buffers, once allocated (`grads`).
    private var gradientBuffers: [UnsafeMutablePointer<Float>] = []
    /// Per node: its gradient's buffer, nil where none is needed; the caller fills the seed's before
    /// `backward`. Allocated at the first use, so an executor that only runs forward passes holds none.
    private(set) lazy var grads: [UnsafeMutablePointer<Float>?] = allocateGradients()
    var kernels: [(any Kernel)?] = []
    var ios: [NodeIO?] = []
    let workspace: [UnsafeMutablePointer<Float>]
    var backwardPlans: [Int: [(node: Int, accumulate: [Bool])]] = [:]
    /// The processes of a data-parallel run (the world of one otherwise).
    let collective: any Collective
    /// `.float64` summation: every trainable variable's gradient sums, rounded once after backward.
    let wideGradients: WideGradients?
    /// Per node, for inference [0] and training [1]: the chain of `ImageKernel`s starting at it,
    /// nil when it runs alone.
    private(set) var imageChains: [[ImageChain?]] = []
    /// Time by kind of layer, measured while `profile.enabled`.
    let profile = LayerKindProfile()
    /// Per node: its kind and forward FLOPs per sample; nil for the input and fused-away nodes.
    private var kinds: [(name: String, flopsPerSample: Int)?] = []
    /// Per node: the run of nodes starting at it that inference computes in one pass (`InferenceFusion`).
    private(set) var inferenceFusions: [(any InferenceFusion)?] = []
    /// The last node of the last forward pass when it ran an `InferenceFusion`, whose inner nodes'
    /// outputs it did not write: a backward pass after it runs that forward pass again unfused.
    private var lastForwardFusedUpTo: Int?
    /// The `TrainingFusion`s the last forward pass ran, by their last node: the backward pass runs
    /// theirs in place of their nodes'.
    private var trainingFusionsRan: [Int: any TrainingFusion] = [:]

    /// gradientForInputs: also compute gradients w.r.t. graph inputs (for tests and tools).
    /// chainImages: run chains of `ImageKernel`s image by image (off only to compare, in tests).
    /// sharesGradientBuffers: gradients never live at once share buffers (off only to compare, in tests).
    /// fusesNodes: inference runs `InferenceFusion`s, training `TrainingFusion`s (off only to compare, in tests).
    init(
        nodes: [GraphNode], capacity: Int, parallel: Parallel, configuration: EngineConfiguration,
        collective: any Collective = SingleProcess(), gradientForInputs: Bool = false, chainImages: Bool = true,
        sharesGradientBuffers: Bool = true, fusesNodes: Bool = true
    ) {
        self.nodes = nodes
        self.capacity = capacity
        self.parallel = parallel
        self.configuration = configuration
        self.collective = collective
        wideGradients =
            configuration.summation == .float64
            ? WideGradients(variables: nodes.flatMap { ($0.op as? any Layer)?.trainableVariables ?? [] }) : nil
        let sizes = nodes.map { product($0.shape) }
        self.sizes = sizes
        var ng = [Bool](repeating: false, count: nodes.count)
        for (i, n) in nodes.enumerated() {
            guard let op = n.op else { ng[i] = gradientForInputs; continue }
            let hasParams = (op as? any Layer).map { !$0.trainableVariables.isEmpty } ?? false
            ng[i] = hasParams || n.inputs.contains { ng[$0] }
        }
        needsGrad = ng
        gradientPlan = GradientBufferPlan(nodes: nodes, needsGradient: ng, sizes: sizes, sharing: sharesGradientBuffers)
        let outputs = sizes.map { zeroedFloats(Swift.max(1, $0 * capacity)) }
        self.outputs = outputs
        var ks: [(any Kernel)?] = []
        var maxWS = 0
        for n in nodes {
            guard let op = n.op else { ks.append(nil); continue }
            let k = op.makeKernel(
                KernelSpec(
                    inputShapes: n.inputs.map { nodes[$0].shape }, outputShape: n.shape,
                    capacity: capacity, parallel: parallel, configuration: configuration, collective: collective,
                    wideGradients: wideGradients, profile: profile))
            maxWS = Swift.max(maxWS, k.workspacePerWorker)
            ks.append(k)
        }
        kernels = ks
        var consumers = [[Int]](repeating: [], count: nodes.count)
        for (i, n) in nodes.enumerated() { for j in n.inputs { consumers[j].append(i) } }
        inferenceFusions = nodes.indices.map { i in
            guard fusesNodes else { return nil }
            return inferenceFusion(
                at: i, nodes: nodes, kernels: ks, consumers: consumers, parallel: parallel, configuration: configuration)
        }
        maxWS = inferenceFusions.reduce(maxWS) { Swift.max($0, $1?.workspacePerWorker ?? 0) }
        let workspace = (0..<parallel.workers).map { _ in zeroedFloats(Swift.max(1, maxWS)) }
        self.workspace = workspace
        ios = nodes.indices.map { i in
            let n = nodes[i]
            guard n.op != nil else { return nil }
            return NodeIO(
                inputs: n.inputs.map { outputs[$0] }, output: outputs[i],
                inputGrads: n.inputs.map { _ in nil }, outputGrad: nil, workspace: workspace)
        }
        kinds = nodes.map { n in
            guard let op = n.op, !(op is FusedAwayOp) else { return nil }
            return LayerKindProfile.kind(of: op, outputShape: n.shape)
        }
        let real = nodes.indices.filter { !(ks[$0] is FusedAwayKernel) }
        imageChains = [ForwardMode.inference, .training(updateStatistics: false)].map { mode in
            func link(_ i: Int) -> (kernel: any ImageKernel, io: NodeIO)? {
                guard chainImages, let k = ks[i] as? any ImageKernel, k.forwardsPerImage(mode) else { return nil }
                return (k, ios[i]!)
            }
            var chains = [ImageChain?](repeating: nil, count: nodes.count)
            for (i, j) in zip(real, real.dropFirst()).reversed() where nodes[j].inputs == [i] {
                guard let first = link(i), let next = link(j) else { continue }
                chains[i] = ImageChain(links: [first] + (chains[j]?.links ?? [next]), last: chains[j]?.last ?? j)
            }
            return chains
        }
    }

    deinit {
        for p in outputs { p.deallocate() }
        for p in gradientBuffers { p.deallocate() }
        for p in workspace { p.deallocate() }
    }

    /// The gradient buffers of `gradientPlan`, zeroed, wired into the nodes' `NodeIO`s.
    private func allocateGradients() -> [UnsafeMutablePointer<Float>?] {
        gradientBuffers = gradientPlan.bufferSizes.map { zeroedFloats(Swift.max(1, $0 * capacity)) }
        let grads = gradientPlan.buffer.map { $0.map { gradientBuffers[$0] } }
        for (i, io) in ios.enumerated() {
            io?.inputGrads = nodes[i].inputs.map { grads[$0] }
            io?.outputGrad = grads[i]
        }
        return grads
    }

    /// Floats of gradient buffers allocated so far: none before the first backward pass or seed fill.
    var allocatedGradientFloats: Int { gradientBuffers.isEmpty ? 0 : gradientPlan.floats(capacity: capacity) }

    /// fusing: inference may run `InferenceFusion`s, training `TrainingFusion`s.
    func forward(batch: Int, mode: ForwardMode, upTo last: Int? = nil, fusing: Bool = true) {
        precondition(batch >= 1 && batch <= capacity)
        let end = last ?? (nodes.count - 1)
        let chains = imageChains[mode.isTraining ? 1 : 0]
        var i = 0
        lastForwardFusedUpTo = nil
        trainingFusionsRan = [:]
        while i <= end {
            if fusing, mode == .inference, let fusion = inferenceFusions[i], fusion.nodes.upperBound <= end {
                profile.measure(fusion.profileKind, flops: batch * fusion.flopsPerSample) {
                    fusion.forward(outputs, input: nodes[i].inputs[0], batch: batch, workspace: workspace)
                }
                lastForwardFusedUpTo = end
                i = fusion.nodes.upperBound + 1
            } else if fusing, mode.isTraining, let fusion = inferenceFusions[i] as? any TrainingFusion,
                fusion.fusesTraining, fusion.nodes.upperBound <= end
            {
                profile.measure(fusion.trainingProfileKind, flops: batch * fusion.flopsPerSample) {
                    fusion.forward(training: ios, batch: batch, mode: mode)
                }
                trainingFusionsRan[fusion.nodes.upperBound] = fusion
                i = fusion.nodes.upperBound + 1
            } else if let chain = chains[i], chain.last <= end {
                let kinds = self.kinds[i...chain.last].compactMap { $0 }
                profile.measure(
                    "image chain: " + kinds.map(\.name).joined(separator: " + "),
                    flops: batch * kinds.reduce(0) { $0 + $1.flopsPerSample }
                ) {
                    for link in chain.links { link.kernel.prepareImages(link.io, batch: batch, mode: mode) }
                    parallel.forEachPiece(batch) { n, t in
                        for link in chain.links { link.kernel.forward(link.io, image: n, worker: t, mode: mode) }
                    }
                }
                i = chain.last + 1
            } else {
                if let kind = kinds[i], !(kernels[i] is DenseBlockKernel) {  // (a dense block measures its parts)
                    profile.measure(kind.name, flops: batch * kind.flopsPerSample) {
                        kernels[i]?.forward(ios[i]!, batch: batch, mode: mode)
                    }
                } else {
                    kernels[i]?.forward(ios[i]!, batch: batch, mode: mode)
                }
                i += 1
            }
        }
    }

    /// Plan: the nodes (reverse order) contributing to `seed`, with overwrite/accumulate flags
    /// (the first write into a gradient buffer overwrites, later ones add).
    func plan(seed: Int) -> [(node: Int, accumulate: [Bool])] {
        if let p = backwardPlans[seed] { return p }
        var reach = [Bool](repeating: false, count: nodes.count)
        reach[seed] = true
        for i in stride(from: seed, through: 0, by: -1) where reach[i] {
            for j in nodes[i].inputs where needsGrad[j] { reach[j] = true }
        }
        var written = [Bool](repeating: false, count: nodes.count)
        written[seed] = true
        var plan: [(node: Int, accumulate: [Bool])] = []
        for i in stride(from: seed, through: 0, by: -1) where reach[i] && nodes[i].op != nil && needsGrad[i] {
            var acc: [Bool] = []
            for j in nodes[i].inputs {
                if needsGrad[j] { acc.append(written[j]); written[j] = true } else { acc.append(false) }
            }
            plan.append((i, acc))
        }
        backwardPlans[seed] = plan
        return plan
    }

    /// Backward from node `seed`, whose gradient buffer the caller has filled. Under `.float64`
    /// summation the gradient sums are summed over the processes (when `acrossProcesses`) and
    /// rounded into each `grad`.
    func backward(batch: Int, seed: Int, acrossProcesses: Bool = false) {
        _ = grads  // allocated and wired into the NodeIOs by now
        if let end = lastForwardFusedUpTo { forward(batch: batch, mode: .inference, upTo: end, fusing: false) }
        wideGradients?.zero()
        var fusion: (any TrainingFusion)?
        for (i, acc) in plan(seed: seed) {
            let io = ios[i]!
            io.accumulate = acc
            if let ran = trainingFusionsRan[i] { fusion = ran }  // (a seed inside it: its nodes' own passes)
            if let running = fusion, running.nodes.contains(i) {
                // the fused pass runs at its first node, when the plan has set that node's accumulation
                guard i == running.nodes.lowerBound else { continue }
                profile.measure(running.trainingProfileKind + " backward", flops: 2 * batch * running.flopsPerSample) {
                    running.backward(ios, batch: batch)
                }
                fusion = nil
                continue
            }
            if let kind = kinds[i], !(kernels[i] is DenseBlockKernel) {
                // the input gradient and the weight gradient: twice the forward multiply-adds
                profile.measure(kind.name + " backward", flops: 2 * batch * kind.flopsPerSample) {
                    kernels[i]!.backward(io, batch: batch)
                }
            } else {
                kernels[i]!.backward(io, batch: batch)
            }
        }
        wideGradients?.roundIntoGradients(summingOver: acrossProcesses ? collective : SingleProcess(), parallel: parallel)
    }
}

/// `count` floats, zeroed (so resident: the executor's buffers are its memory from the start).
private func zeroedFloats(_ count: Int) -> UnsafeMutablePointer<Float> {
    let p = allocateFloats(count)
    p.initialize(repeating: 0, count: count)
    return p
}

/// A model's primitive ops in call order, as its layers append them and before dense blocks are
/// fused: what an exporter (ONNX) walks. Node 0 is the input.
public struct OpGraph {
    /// One primitive op applied to earlier nodes.
    public struct Node {
        /// The op; nil for the graph input.
        public let op: (any Op)?
        /// Indices of the nodes this one reads.
        public let inputs: [Int]
        /// Per-sample output shape (no batch axis).
        public let shape: [Int]
    }

    /// Every node, inputs before the nodes that read them.
    public let nodes: [Node]
    /// The index of the model's output node.
    public let output: Int
}

extension Model {
    /// The model's ops as its layers call them (a fresh symbolic call: the variables are built
    /// already, so no initializer runs and no weight changes).
    public func opGraph() throws -> OpGraph {
        let graph = GraphBuilder(seed: 0)
        let output = try root.call([graph.input(shape: inputShape)], in: graph)
        return OpGraph(nodes: graph.nodes.map { OpGraph.Node(op: $0.op, inputs: $0.inputs, shape: $0.shape) }, output: output.id)
    }
}
