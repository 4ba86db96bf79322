import CHDF5
import Foundation
import ReadLimits

/// Translation between `StringFormat` and HDF5 string datatypes, and string (de)coding.
extension StringFormat {
    /// Reads the format of a stored string type
    /// (H5Tis_variable_str, H5Tget_size, H5Tget_cset, H5Tget_strpad).
    init(_ type: Handle, _ context: ErrorContext) throws {
        let id = type.id
        let variable = try Library.call("H5Tis_variable_str", context) { H5Tis_variable_str(id) }
        let size = Library.locked { H5Tget_size(id) }
        let cset = Library.locked { H5Tget_cset(id) }
        let pad = Library.locked { H5Tget_strpad(id) }
        self.init(
            length: variable > 0 ? .variable : .fixed(size),
            characterSet: cset == H5T_CSET_UTF8 ? .utf8 : .ascii,
            padding: pad == H5T_STR_SPACEPAD
                ? .spacePadded
                : pad == H5T_STR_NULLPAD ? .nullPadded : .nullTerminated)
    }

    /// A string datatype of this format (H5Tcopy of H5T_C_S1, H5Tset_size, H5Tset_cset,
    /// H5Tset_strpad).
    func makeType(_ context: ErrorContext) throws -> Handle {
        let type = try Library.open(.datatype, "H5Tcopy", context) { H5Tcopy(chdf5_t_c_s1()) }
        let size: Int
        switch length {
        case .variable: size = chdf5_t_variable()
        case .fixed(let bytes): size = bytes
        }
        try Library.call("H5Tset_size", context) { H5Tset_size(type.id, size) }
        try Library.call("H5Tset_cset", context) {
            H5Tset_cset(type.id, characterSet == .utf8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII)
        }
        let pad: H5T_str_t =
            switch padding {
            case .nullTerminated: H5T_STR_NULLTERM
            case .nullPadded: H5T_STR_NULLPAD
            case .spacePadded: H5T_STR_SPACEPAD
            }
        try Library.call("H5Tset_strpad", context) { H5Tset_strpad(type.id, pad) }
        return type
    }

    /// Encodes strings for writing: padded bytes for fixed length, as-is for variable length.
    func encode(_ strings: [String], _ context: ErrorContext) throws -> EncodedValue.Elements {
        guard case .fixed(let size) = length else { return .variableLengthStrings(strings) }
        let fill = UInt8(ascii: padding == .spacePadded ? " " : "\0")
        var bytes: [UInt8] = []
        for string in strings {
            guard string.utf8.count <= size else {
                throw HDF5Error(
                    .invalidArgument, operation: "write", context: context,
                    detail: "string \"\(string)\" is longer than \(size) bytes")
            }
            bytes += string.utf8 + Array(repeating: fill, count: size - string.utf8.count)
        }
        return .bytes(bytes)
    }

    /// Reads `count` strings through `read` (which fills a buffer laid out as the given
    /// memory type) and strips padding; variable-length buffers are freed with H5free_memory.
    /// Variable-length strings whose lengths add up to more than `budget` bytes are refused before
    /// any Swift string is built: libhdf5 has allocated them already (H5Aread allocates each and
    /// cannot be asked their sizes first), but they are not copied, and the error names the budget.
    func decode(
        count: Int, budget: Int, _ context: ErrorContext,
        read: (Handle, UnsafeMutableRawPointer) throws -> Void
    ) throws -> [String] {
        guard count > 0 else { return [] }
        let memoryType = try makeType(context)
        switch length {
        case .variable:
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            try pointers.withUnsafeMutableBytes { try read(memoryType, $0.baseAddress!) }
            defer { Library.locked { pointers.forEach { H5free_memory($0) } } }
            var total = 0
            for pointer in pointers {
                let remaining = budget - total  // strnlen stops one past it: never a walk over a whole bomb
                total += pointer.map { strnlen($0, remaining < .max ? remaining + 1 : remaining) } ?? 0
                guard total <= budget else {
                    throw HDF5Error(
                        .tooLarge, operation: "read", context: context,
                        detail: "its variable-length strings hold more than the read budget of \(ReadLimits.describe(bytes: budget)) "
                            + "(\(ReadLimits.inflationRatio) × the file's size; docs/security.md)")
                }
            }
            return pointers.map { $0.map { String(cString: $0) } ?? "" }
        case .fixed(let size):
            var bytes = [UInt8](repeating: 0, count: count * size)
            try bytes.withUnsafeMutableBytes { try read(memoryType, $0.baseAddress!) }
            return (0..<count).map { index in
                strip(bytes[index * size..<(index + 1) * size])
            }
        }
    }

    /// Removes padding: up to the first NUL if null-terminated, trailing NULs or spaces else.
    func strip<Bytes: BidirectionalCollection<UInt8>>(_ bytes: Bytes) -> String {
        let fill = UInt8(ascii: padding == .spacePadded ? " " : "\0")
        let end =
            padding == .nullTerminated
            ? bytes.firstIndex(of: 0) ?? bytes.endIndex
            : bytes.lastIndex { $0 != fill }.map(bytes.index(after:)) ?? bytes.startIndex
        return String(decoding: bytes[..<end], as: UTF8.self)
    }
}
