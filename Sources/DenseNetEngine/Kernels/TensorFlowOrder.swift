import CKernels

/// The summation orders and the one approximation with which tf-keras' CPU kernels round their
/// float32 results. TensorFlow sums BatchNormalization statistics and bias gradients over thousands
/// of rows in float32, one row after another; its results differ from exact sums by ~1e-6 relative,
/// and Adam's first steps turn such differences on near-zero gradients into ~1e-4 weight changes.
/// Following the same order makes those results equal to TensorFlow's bit for bit.
enum TensorFlowOrder {
    /// The intra-op threads of the TensorFlow being followed (ReduceOuterDimensions splits large
    /// sums between them): two, the cores of the machine the Keras fixtures were written on. A
    /// constant, so that results do not depend on the machine.
    static let intraOpThreads = 2

    /// Column sums of `element(row, column)` as Eigen reduces a tensor's outer dimension
    /// (FusedBatchNorm's batch mean and variance). Columns in whole 8-float packets: from 16 rows
    /// on, four accumulators take the rows r ≡ 0, 1, 2, 3 (mod 4), are added in that order, then
    /// the rows left over; other columns, and fewer rows, are summed row by row.
    /// `accumulators` holds 3 × `columns` floats.
    @inline(__always)
    static func packetColumnSums(
        rows: Int, columns: Int, into sum: UnsafeMutablePointer<Float>, accumulators: UnsafeMutablePointer<Float>,
        _ element: (_ row: Int, _ column: Int) -> Float
    ) {
        let packed = rows >= 16 ? columns / 8 * 8 : 0
        sum.update(repeating: 0, count: columns)
        if packed > 0 {
            let a1 = accumulators, a2 = a1 + packed, a3 = a2 + packed
            accumulators.update(repeating: 0, count: 3 * packed)
            let quads = rows / 4 * 4
            for r in stride(from: 0, to: quads, by: 4) {
                for j in 0..<packed {
                    sum[j] += element(r, j)
                    a1[j] += element(r + 1, j)
                    a2[j] += element(r + 2, j)
                    a3[j] += element(r + 3, j)
                }
            }
            for j in 0..<packed { sum[j] = sum[j] + a1[j] + a2[j] + a3[j] }
            for r in quads..<rows { for j in 0..<packed { sum[j] += element(r, j) } }
        }
        for r in 0..<rows { for j in packed..<columns { sum[j] += element(r, j) } }
    }

    /// Column sums of `element(row, column)` as TensorFlow's ReduceOuterDimensions computes them
    /// (BiasAddGrad, FusedBatchNormGrad): row by row — except that up to 32 columns per thread,
    /// when Eigen's cost model finds the work worth two threads, each half of the rows is summed
    /// row by row and the second half's sums are added to the first's. `halves` holds `columns`
    /// values.
    @inline(__always)
    static func outerColumnSums<Value: LaneSum>(
        rows: Int, columns: Int, into sum: UnsafeMutablePointer<Value>, halves: UnsafeMutablePointer<Value>,
        _ element: (_ row: Int, _ column: Int) -> Value
    ) {
        let firstEnd = outerColumnSumsFirstHalf(rows: rows, columns: columns)
        sum.update(repeating: .zero, count: columns)
        for r in 0..<firstEnd { for j in 0..<columns { sum[j] += element(r, j) } }
        guard firstEnd < rows else { return }
        halves.update(repeating: .zero, count: columns)
        for r in firstEnd..<rows { for j in 0..<columns { halves[j] += element(r, j) } }
        for j in 0..<columns { sum[j] += halves[j] }
    }

    /// Where `outerColumnSums` ends its first chain of rows: half the rows (rounded up) when it
    /// splits them in two, else all of them.
    static func outerColumnSumsFirstHalf(rows: Int, columns: Int) -> Int {
        let half = (rows + 1) / 2
        let split = columns <= intraOpThreads * 32 && splitsInTwo(rowsPerBlock: half, columns: columns)
        return split ? half : rows
    }

    /// Eigen's TensorCostModel for two blocks of `rowsPerBlock × columns` float additions: each
    /// costs a load of 4 bytes at 11/64 cycles per byte plus one cycle; threads =
    /// (cost − 100 000) / 100 000 + 0.9, truncated.
    private static func splitsInTwo(rowsPerBlock: Int, columns: Int) -> Bool {
        let perCoefficient = 4.0 * (11.0 / 64.0) + 1.0
        let cost = Double(intraOpThreads) * Double(rowsPerBlock * columns) * perCoefficient
        return Int((cost - 100_000) / 100_000 + 0.9) >= 2
    }

    /// 1/sqrt(x) as Eigen's packet rsqrt computes it on this CPU.
    @inline(__always)
    static func rsqrt(_ x: Float) -> Float { ckernels_tensorflow_rsqrt(x) }
}

/// A bias's gradient: the column sums of the rows × columns output gradient `dy`, added to `grad`
/// in TensorFlow's order (BiasAddGrad's ReduceOuterDimensions), or under `.float64` summation
/// added in float64 to the bias's `WideGradients` sums. Shared by convolutions and dense layers.
final class BiasGradientSums {
    let columns: Int
    /// The bias's float64 sums (`.float64`); nil: TensorFlow's order.
    private let wide: UnsafeMutablePointer<Double>?
    /// TensorFlow's order: the sums and the second half's (2 × columns).
    private let scratch: UnsafeMutablePointer<Float>

    init(columns: Int, float64Sums wide: UnsafeMutablePointer<Double>?) {
        self.columns = columns
        self.wide = wide
        scratch = .allocate(capacity: wide == nil ? 2 * columns : 0)
    }

    deinit { scratch.deallocate() }

    func add(_ dy: UnsafePointer<Float>, rows: Int, to grad: UnsafeMutablePointer<Float>) {
        let columns = self.columns
        if let wide {
            for r in 0..<rows { for j in 0..<columns { wide[j] += Double(dy[r * columns + j]) } }
            return
        }
        TensorFlowOrder.outerColumnSums(rows: rows, columns: columns, into: scratch, halves: scratch + columns) { r, j in
            dy[r * columns + j]
        }
        for j in 0..<columns { grad[j] += scratch[j] }
    }
}

/// A float, or several summed lane by lane (one pass over the rows for several sums).
protocol LaneSum {
    static var zero: Self { get }
    static func += (sum: inout Self, value: Self)
}

extension Float: LaneSum {}
extension SIMD4: LaneSum where Scalar == Float {}
