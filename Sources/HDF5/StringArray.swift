/// Strings read from or to be written to a dataset or attribute, with their stored format.
public struct StringArray: Sendable, Equatable {
    /// How the strings are (or will be) stored.
    public var format: StringFormat
    /// Extent of each dimension; empty for a scalar.
    public var shape: [Int]
    /// The strings in row-major order, padding removed.
    public var strings: [String]

    /// Strings of `shape`; traps if the counts disagree.
    public init(_ strings: [String], shape: [Int], format: StringFormat) {
        precondition(
            shape.reduce(1, *) == strings.count,
            "shape \(shape) needs \(shape.reduce(1, *)) strings, got \(strings.count)")
        self.format = format
        self.shape = shape
        self.strings = strings
    }

    /// A 1-D array of strings (possibly empty).
    public init(_ strings: [String], format: StringFormat = .variableUTF8) {
        self.init(strings, shape: [strings.count], format: format)
    }

    /// A scalar string.
    public init(scalar: String, format: StringFormat = .variableUTF8) {
        self.init([scalar], shape: [], format: format)
    }

    /// The string of a scalar, or nil for arrays.
    public var scalar: String? { shape.isEmpty ? strings.first : nil }
}
