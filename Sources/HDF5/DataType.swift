import CHDF5

/// The element type of a dataset or attribute, in NumPy's names.
public enum DataType: Sendable, Hashable, CustomStringConvertible {
    /// IEEE floats of 2, 4 and 8 bytes (NumPy's `float16`, `float32`, `float64`); Keras weights are `float32`.
    case float16, float32, float64
    /// Signed two's-complement integers of 1, 2, 4 and 8 bytes.
    case int8, int16, int32, int64
    /// Unsigned integers of 1, 2, 4 and 8 bytes.
    case uint8, uint16, uint32, uint64
    /// h5py's bool: an 8-bit enum {FALSE = 0, TRUE = 1}.
    case bool
    /// Fixed- or variable-length string; see `StringFormat` for which.
    case string
    /// Anything else (compound, array, reference, ...), named by its HDF5 class.
    case other(String)

    /// NumPy's name for the type, e.g. "float32".
    public var description: String {
        switch self {
        case .float16: "float16"
        case .float32: "float32"
        case .float64: "float64"
        case .int8: "int8"
        case .int16: "int16"
        case .int32: "int32"
        case .int64: "int64"
        case .uint8: "uint8"
        case .uint16: "uint16"
        case .uint32: "uint32"
        case .uint64: "uint64"
        case .bool: "bool"
        case .string: "string"
        case .other(let name): name
        }
    }

    /// Bytes per element in memory, or nil for strings and unsupported types.
    public var size: Int? {
        switch self {
        case .int8, .uint8, .bool: 1
        case .float16, .int16, .uint16: 2
        case .float32, .int32, .uint32: 4
        case .float64, .int64, .uint64: 8
        case .string, .other: nil
        }
    }

    /// Classifies a stored datatype (H5Tget_class, H5Tget_size, H5Tget_sign, H5Tget_member_name).
    init(_ type: Handle, _ context: ErrorContext) throws {
        let id = type.id
        let typeClass = try Library.call("H5Tget_class", context) { H5Tget_class(id).rawValue }
        let size = Library.locked { H5Tget_size(id) }
        switch H5T_class_t(typeClass) {
        case H5T_FLOAT:
            self = [2: .float16, 4: .float32, 8: .float64][size] ?? .other("float\(size * 8)")
        case H5T_INTEGER:
            let signed =
                try Library.call("H5Tget_sign", context) { H5Tget_sign(id).rawValue }
                == H5T_SGN_2.rawValue
            let types: [Int: DataType] =
                signed
                ? [1: .int8, 2: .int16, 4: .int32, 8: .int64]
                : [1: .uint8, 2: .uint16, 4: .uint32, 8: .uint64]
            self = types[size] ?? .other("integer\(size * 8)")
        case H5T_ENUM:
            self = try Self.isBoolEnum(type, context) ? .bool : .other("enum")
        case H5T_STRING:
            self = .string
        default:
            self = .other("HDF5 type class \(typeClass)")
        }
    }

    /// True for h5py's bool layout: one byte, two members named FALSE and TRUE.
    private static func isBoolEnum(_ type: Handle, _ context: ErrorContext) throws -> Bool {
        let id = type.id
        guard Library.locked({ H5Tget_size(id) }) == 1,
            try Library.call("H5Tget_nmembers", context, { H5Tget_nmembers(id) }) == 2
        else { return false }
        let names = try (0..<2).map { index in
            try Library.locked {
                guard let name = H5Tget_member_name(id, UInt32(index)) else {
                    throw HDF5Error(
                        .library(function: "H5Tget_member_name"), operation: "inspect",
                        context: context)
                }
                defer { H5free_memory(name) }
                return String(cString: name)
            }
        }
        return names == ["FALSE", "TRUE"]
    }

    /// The library's predefined native type (H5T_NATIVE_*) this type is built on, nil for strings
    /// and unsupported types. Exactly the memory type for all but float16 and bool; not to be closed.
    var nativeBase: hid_t? {
        switch self {
        case .float16, .float32: chdf5_t_native_float()
        case .float64: chdf5_t_native_double()
        case .int8, .bool: chdf5_t_native_int8()
        case .int16: chdf5_t_native_int16()
        case .int32: chdf5_t_native_int32()
        case .int64: chdf5_t_native_int64()
        case .uint8: chdf5_t_native_uint8()
        case .uint16: chdf5_t_native_uint16()
        case .uint32: chdf5_t_native_uint32()
        case .uint64: chdf5_t_native_uint64()
        case .string, .other: nil
        }
    }

    /// A fresh native in-memory datatype for this element type (H5Tcopy of H5T_NATIVE_*;
    /// H5Tenum_create for bool; a 16-bit IEEE layout built like h5py's for float16).
    /// The same type is used as the file type on write, which on little-endian hosts is
    /// exactly h5py's `<f4`, `<i8`, ... layout.
    func makeType(_ context: ErrorContext) throws -> Handle {
        guard let base = nativeBase else {
            throw HDF5Error(
                .invalidArgument, operation: "convert", context: context,
                detail: "\(self) elements have no fixed-size memory layout")
        }
        if self == .bool {
            let type = try Library.open(.datatype, "H5Tenum_create", context) { H5Tenum_create(base) }
            for (name, value) in [("FALSE", Int8(0)), ("TRUE", Int8(1))] {
                var value = value
                try Library.call("H5Tenum_insert", context) { H5Tenum_insert(type.id, name, &value) }
            }
            return type
        }
        let type = try Library.open(.datatype, "H5Tcopy", context) { H5Tcopy(base) }
        if self == .float16 {
            try Library.call("H5Tset_fields", context) { H5Tset_fields(type.id, 15, 10, 5, 0, 10) }
            try Library.call("H5Tset_size", context) { H5Tset_size(type.id, 2) }
            try Library.call("H5Tset_ebias", context) { H5Tset_ebias(type.id, 15) }
        }
        return type
    }
}
