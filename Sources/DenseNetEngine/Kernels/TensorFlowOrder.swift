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
    /// `accumulators` holds 3 × `columns` floats. Each column's sum is its own, so the columns are
    /// shared among the workers without changing a bit.
    @inline(__always)
    static func packetColumnSums<Source: ColumnSource>(
        rows: Int, columns: Int, into sum: UnsafeMutablePointer<Float>, accumulators: UnsafeMutablePointer<Float>,
        parallel: Parallel, _ element: Source
    ) where Source.Value == Float {
        let packed = rows >= 16 ? columns / 8 * 8 : 0
        parallel.forEachRange(columns, minChunk: columnChunk(rows: rows, columns: columns)) { range in
            let inPackets = range.clamped(to: 0..<packed), rest = range.clamped(to: packed..<columns)
            for j in range { sum[j] = 0 }
            if !inPackets.isEmpty {
                let a1 = accumulators, a2 = a1 + packed, a3 = a2 + packed
                for j in inPackets { a1[j] = 0; a2[j] = 0; a3[j] = 0 }
                let quads = rows / 4 * 4
                for r in stride(from: 0, to: quads, by: 4) {
                    for j in inPackets {
                        sum[j] += element(r, j)
                        a1[j] += element(r + 1, j)
                        a2[j] += element(r + 2, j)
                        a3[j] += element(r + 3, j)
                    }
                }
                for j in inPackets { sum[j] = sum[j] + a1[j] + a2[j] + a3[j] }
                for r in quads..<rows { for j in inPackets { sum[j] += element(r, j) } }
            }
            for r in 0..<rows { for j in rest { sum[j] += element(r, j) } }
        }
    }

    /// Column sums of `element(row, column)` as TensorFlow's ReduceOuterDimensions computes them
    /// (BiasAddGrad, FusedBatchNormGrad): row by row — except that up to 32 columns per thread,
    /// when Eigen's cost model finds the work worth two threads, each half of the rows is summed
    /// row by row and the second half's sums are added to the first's. `halves` holds `columns`
    /// values. Columns are shared among the workers, as in `packetColumnSums`.
    @inline(__always)
    static func outerColumnSums<Source: ColumnSource>(
        rows: Int, columns: Int, into sum: UnsafeMutablePointer<Source.Value>, halves: UnsafeMutablePointer<Source.Value>,
        parallel: Parallel, _ element: Source
    ) {
        let half = (rows + 1) / 2
        let split = columns <= intraOpThreads * 32 && splitsInTwo(rowsPerBlock: half, columns: columns)
        let firstEnd = split ? half : rows
        parallel.forEachRange(columns, minChunk: columnChunk(rows: rows, columns: columns)) { range in
            for j in range { sum[j] = .zero }
            for r in 0..<firstEnd { for j in range { sum[j] += element(r, j) } }
            guard split else { return }
            for j in range { halves[j] = .zero }
            for r in firstEnd..<rows { for j in range { halves[j] += element(r, j) } }
            for j in range { sum[j] += halves[j] }
        }
    }

    /// Columns per worker: all of them on one worker for small sums (not worth a fan-out).
    private static func columnChunk(rows: Int, columns: Int) -> Int {
        rows * columns >= 16_384 ? 1 : Swift.max(columns, 1)
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

extension TensorFlowOrder {
    /// grad += BiasAddGrad(dy): the column sums of the rows × columns matrix `dy`, in
    /// ReduceOuterDimensions' order. `scratch` holds 2 × columns floats.
    static func addColumnSums(of dy: UnsafePointer<Float>, rows: Int, columns: Int,
                              to grad: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, parallel: Parallel) {
        outerColumnSums(rows: rows, columns: columns, into: scratch, halves: scratch + columns, parallel: parallel,
                        StridedRows(base: dy, stride: columns))
        for j in 0..<columns { grad[j] += scratch[j] }
    }
}

/// The element (row, column) of what the TensorFlow-order sums add up. A type, not a closure: the
/// sums run inside the workers' closures, where only a concrete type is specialised and inlined.
protocol ColumnSource {
    associatedtype Value: LaneSum
    func callAsFunction(_ row: Int, _ column: Int) -> Value
}

/// A float matrix whose rows lie `stride` floats apart.
struct StridedRows: ColumnSource {
    let base: UnsafePointer<Float>
    let stride: Int

    @inline(__always) func callAsFunction(_ row: Int, _ column: Int) -> Float { base[row * stride + column] }
}

/// A float, or several summed lane by lane (one pass over the rows for several sums).
protocol LaneSum {
    static var zero: Self { get }
    static func += (sum: inout Self, value: Self)
}

extension Float: LaneSum {}
extension SIMD4: LaneSum where Scalar == Float {}
