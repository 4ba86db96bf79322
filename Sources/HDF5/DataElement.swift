/// A Swift type that datasets and attributes can be read as and written from.
///
/// Conforming types are plain fixed-size values whose memory layout is HDF5's native one
/// for `dataType`, so elements are copied, never converted element by element.
public protocol DataElement: BitwiseCopyable, Sendable {
    /// The stored element type written for, and expected when reading, this Swift type.
    static var dataType: DataType { get }
    /// Whether values stored as `stored` may be read as this type (default: equal types).
    static func canRead(_ stored: DataType) -> Bool
    /// Reinterprets native-layout bytes as elements (default: a bitwise copy).
    static func decode(_ bytes: [UInt8]) -> [Self]
}

extension DataElement {
    /// Equal types only: reading copies bytes and converts nothing, so a stored `int64` is not readable as
    /// `Int32`, nor `float32` as `Double`.
    public static func canRead(_ stored: DataType) -> Bool { stored == dataType }

    /// A bitwise copy of as many whole elements as `bytes` holds; trailing bytes short of one element are ignored.
    public static func decode(_ bytes: [UInt8]) -> [Self] {
        let count = bytes.count / MemoryLayout<Self>.stride
        return [Self](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: $0) }
            initialized = count
        }
    }

    /// The elements' bytes in native layout, ready for H5Dwrite/H5Awrite.
    static func encode(_ values: [Self]) -> [UInt8] {
        values.withUnsafeBytes { Array($0) }
    }
}

extension Float: DataElement { public static var dataType: DataType { .float32 } }
extension Double: DataElement { public static var dataType: DataType { .float64 } }
extension Int8: DataElement { public static var dataType: DataType { .int8 } }
extension Int16: DataElement { public static var dataType: DataType { .int16 } }
extension Int32: DataElement { public static var dataType: DataType { .int32 } }
extension Int64: DataElement { public static var dataType: DataType { .int64 } }
extension UInt8: DataElement { public static var dataType: DataType { .uint8 } }
extension UInt16: DataElement { public static var dataType: DataType { .uint16 } }
extension UInt32: DataElement { public static var dataType: DataType { .uint32 } }
extension UInt64: DataElement { public static var dataType: DataType { .uint64 } }

extension Bool: DataElement {
    /// Written as h5py's bool enum.
    public static var dataType: DataType { .bool }
    /// Reads h5py's bool enum and plain uint8 (nonzero is true).
    public static func canRead(_ stored: DataType) -> Bool { stored == .bool || stored == .uint8 }
    /// Any nonzero byte is `true`.
    public static func decode(_ bytes: [UInt8]) -> [Bool] { bytes.map { $0 != 0 } }
}
