/// Column sums accumulated in float64, row by row, for `EngineConfiguration.Summation.float64`:
/// float32 terms sum exactly enough that splitting the rows between processes and adding their
/// partial sums (still in float64) changes the result by float64 rounding only, far below what the
/// final rounding to float32 keeps.
enum Float64Sums {
    /// sum[j] = Σ_row element(row, j), row by row.
    @inline(__always)
    static func columnSums<Value: LaneSum>(
        rows: Int, columns: Int, into sum: UnsafeMutablePointer<Value>, _ element: (_ row: Int, _ column: Int) -> Value
    ) {
        sum.update(repeating: .zero, count: columns)
        for r in 0..<rows { for j in 0..<columns { sum[j] += element(r, j) } }
    }
}

extension Double: LaneSum {}
extension SIMD2: LaneSum where Scalar == Double {}
