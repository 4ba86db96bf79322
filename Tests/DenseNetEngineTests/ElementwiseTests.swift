import Testing
import TestSupport
@testable import DenseNetEngine

@Suite struct ElementwiseTests {
    /// `reluGradient` passes dy exactly where the ReLU's output is > 0 and 0 elsewhere (NaN, −0, 0 and
    /// negative outputs), written or added, in the sixteen-lane part and in the tail after it.
    @Test(arguments: [false, true])
    func reluGradientPassesWhereTheOutputIsPositive(accumulate: Bool) {
        let count = 37
        var y = randomFloats(count, seed: 3, range: -1...1)
        (y[0], y[1], y[2], y[33], y[34], y[35], y[36]) = (.nan, -0.0, 0, .nan, 0, 1, -1)
        let dy = randomFloats(count, seed: 4, range: -2...2)
        var dx = [Float](repeating: 0.25, count: count)
        dy.withUnsafeBufferPointer { g in
            y.withUnsafeBufferPointer { y in
                dx.withUnsafeMutableBufferPointer {
                    reluGradient(g.baseAddress!, reluOutput: y.baseAddress!, into: $0.baseAddress!, count: count, accumulate: accumulate)
                }
            }
        }
        let expected = (0..<count).map { i -> Float in
            let passed: Float = y[i] > 0 ? dy[i] : 0
            return accumulate ? 0.25 + passed : passed
        }
        #expect(dx.map(\.bitPattern) == expected.map(\.bitPattern))
        #expect(y.filter { $0 > 0 }.count > 5 && y.filter { !($0 > 0) }.count > 5)
    }
}
