/// Uninterpreted elements of a numeric or bool dataset/attribute, for bit-exact copies.
public struct RawArray: Sendable, Equatable {
    /// The stored element type the bytes are laid out as (native byte order).
    public var dataType: DataType
    /// Extent of each dimension; empty for a scalar.
    public var shape: [Int]
    /// `shape.reduce(1, *) * dataType.size` bytes, row-major.
    public var bytes: [UInt8]

    /// Raw elements; traps if `bytes` does not fit `shape` and `dataType`.
    public init(dataType: DataType, shape: [Int], bytes: [UInt8]) {
        precondition(
            dataType.size.map { shape.reduce(1, *) * $0 } == bytes.count,
            "\(bytes.count) bytes do not hold \(dataType) elements of shape \(shape)")
        self.dataType = dataType
        self.shape = shape
        self.bytes = bytes
    }

    /// The bytes of a typed array.
    public init<T: DataElement>(_ array: NDArray<T>) {
        self.init(dataType: T.dataType, shape: array.shape, bytes: T.encode(array.scalars))
    }
}
