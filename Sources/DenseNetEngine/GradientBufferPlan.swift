// Gradient buffers shared by liveness: which nodes' gradients take turns in one buffer.

/// Which buffer holds each node's gradient during a backward pass.
///
/// A backward pass runs the nodes from the last to the first. Node j's gradient is first written
/// by the backward pass of its last consumer (the highest-index node reading j; that first write
/// overwrites, `Executor.plan`) and last read by j's own, so it is live over the node indices
/// [j, lastConsumer(j)] — a seed's gradient, which the caller fills before the pass, as well: no
/// node above the seed runs. Gradients whose intervals are disjoint take turns in one buffer,
/// sized for the largest; a graph input's gradient (`gradientForInputs`) is the last one written,
/// so it is intact when the pass ends. Intervals are assigned in the pass's order (interval
/// colouring), each to the free buffer that fits it best. DenseNet-121 at 224×224: a few buffers of
/// the largest gradients instead of one per node (see docs/performance.md, Memory).
struct GradientBufferPlan {
    /// Per node: the index of its buffer in `bufferSizes`; nil where no gradient is needed.
    let buffer: [Int?]
    /// Per buffer: the per-sample floats of its largest tenant.
    let bufferSizes: [Int]

    /// `sizes`: per-sample floats per node. `sharing` false gives every gradient its own buffer
    /// (only to compare, in tests).
    init(nodes: [GraphNode], needsGradient: [Bool], sizes: [Int], sharing: Bool = true) {
        var lastConsumer = Array(nodes.indices)
        for (i, node) in nodes.enumerated() { for j in node.inputs { lastConsumer[j] = Swift.max(lastConsumer[j], i) } }
        var startingAt = [[Int]](repeating: [], count: nodes.count)
        for j in nodes.indices where needsGradient[j] { startingAt[lastConsumer[j]].append(j) }

        var buffer = [Int?](repeating: nil, count: nodes.count)
        var bufferSizes: [Int] = []
        var free: [Int] = []
        for t in nodes.indices.reversed() {
            for j in startingAt[t] {
                let fits = free.filter { bufferSizes[$0] >= sizes[j] }.min { bufferSizes[$0] < bufferSizes[$1] }
                if let b = fits ?? free.max(by: { bufferSizes[$0] < bufferSizes[$1] }) {
                    free.removeAll { $0 == b }
                    bufferSizes[b] = Swift.max(bufferSizes[b], sizes[j])
                    buffer[j] = b
                } else {
                    bufferSizes.append(sizes[j])
                    buffer[j] = bufferSizes.count - 1
                }
            }
            if sharing, let b = buffer[t] { free.append(b) }
        }
        self.buffer = buffer
        self.bufferSizes = bufferSizes
    }

    /// Floats of all buffers for `capacity` samples (at least one per buffer).
    func floats(capacity: Int) -> Int { bufferSizes.reduce(0) { $0 + Swift.max(1, $1 * capacity) } }
}
