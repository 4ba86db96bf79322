/// A row-major (C order, as NumPy) n-dimensional array: a shape and its elements, flat.
public struct NDArray<Element> {
    /// Extent of each dimension; empty for a scalar.
    public var shape: [Int]
    /// The elements in row-major order; `shape.reduce(1, *)` of them.
    public var scalars: [Element]

    /// An array of `shape` holding `scalars`; traps if the counts disagree.
    public init(shape: [Int], scalars: [Element]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in shape \(shape)")
        precondition(
            shape.reduce(1, *) == scalars.count,
            "shape \(shape) needs \(shape.reduce(1, *)) elements, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    /// A rank-0 array holding one value.
    public init(scalar: Element) {
        self.init(shape: [], scalars: [scalar])
    }

    /// A 1-D array of `scalars`.
    public init(_ scalars: [Element]) {
        self.init(shape: [scalars.count], scalars: scalars)
    }

    /// The value of a rank-0 array, or nil for any other rank.
    public var scalar: Element? { shape.isEmpty ? scalars.first : nil }
}

extension NDArray: Equatable where Element: Equatable {}
extension NDArray: Hashable where Element: Hashable {}
extension NDArray: Sendable where Element: Sendable {}
