// Where a forward or backward pass spends its time, by kind of layer (`densenet-io bench --profile`):
// the question "are the 1×1 and 3×3 convolutions near the machine's peak, and what else costs" needs
// each kind's wall time beside its multiply-adds. Off, a measurement costs one branch per node.

import Glibc

/// Wall time and multiply-adds of an executor's passes, summed by kind of layer ("convolution 1×1",
/// "batch normalization", …; backward passes end in " backward").
public final class LayerKindProfile: @unchecked Sendable {
    /// One kind's totals.
    public struct Entry: Sendable {
        /// Wall time, seconds.
        public var seconds = 0.0
        /// Floating-point operations (2 per multiply-add) of convolutions and dense layers; 0 for the rest.
        public var flops = 0
        /// Kernel calls measured.
        public var calls = 0
    }

    /// The totals by kind since the last `reset`.
    public private(set) var entries: [String: Entry] = [:]
    /// Measures only while true (set by `Executor.profile`).
    var enabled = false

    init() {}

    /// Forgets every measurement.
    public func reset() { entries = [:] }

    /// Runs `body`, adding its wall time (and `flops`) to `kind` when enabled.
    @inline(__always)
    func measure(_ kind: @autoclosure () -> String, flops: @autoclosure () -> Int = 0, _ body: () -> Void) {
        guard enabled else { return body() }
        let start = Clock.now()
        body()
        let elapsed = Clock.now() - start
        let key = kind()
        entries[key, default: Entry()].seconds += elapsed
        entries[key, default: Entry()].flops += flops()
        entries[key, default: Entry()].calls += 1
    }

    /// The kind under which `op` is counted, and its floating-point operations per sample forward
    /// (2 per multiply-add; convolutions and dense layers only).
    static func kind(of op: any Op, outputShape: [Int]) -> (name: String, flopsPerSample: Int) {
        switch op {
        case let conv as Conv2D:
            let (kh, kw) = conv.kernelSize, stride = conv.strides.0
            let name = "convolution \(kh)×\(kw)" + (stride > 1 ? " stride \(stride)" : "")
            return (name, 2 * product(outputShape) * kh * kw * (conv.kernel.map { $0.shape[2] } ?? 0))
        case let dense as Dense: return ("dense", 2 * (dense.kernel?.count ?? 0))
        case is BatchNormalization: return ("batch normalization", 0)
        case is ReLUOp: return ("relu", 0)
        case is MaxPooling2D: return ("max pooling", 0)
        case is AveragePooling2D: return ("average pooling", 0)
        case is GlobalAveragePooling2D, is GlobalMaxPooling2D: return ("global pooling", 0)
        case is Concatenate: return ("concatenation", 0)
        case is SoftmaxOp: return ("softmax", 0)
        case is ZeroPadding2D: return ("zero padding", 0)
        case is Flatten: return ("flatten", 0)
        case let block as DenseBlockOp:
            let flops = block.units.reduce(0) { sum, unit in
                unit.tail.reduce(sum) { $0 + kind(of: $1.op, outputShape: $1.output).flopsPerSample }
            }
            return ("dense block", flops)
        default: return ("other", 0)
        }
    }
}
