import Foundation
import ReadLimits

/// A safetensors file (Hugging Face's format, what PyTorch users load with
/// `safetensors.torch.load_file`): an 8-byte little-endian header length N, N bytes of JSON
/// `{"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, …, "__metadata__": {…}}`
/// (padded with spaces to a multiple of 8 bytes), then the tensors' raw little-endian bytes,
/// offsets relative to the first byte after the header.
///
/// Writing is deterministic: header keys sorted, tensors stored in name order, so the same
/// tensors and metadata always give the same bytes.
public struct SafetensorsFile: Equatable, Sendable {
    /// One stored tensor: element type, shape and raw little-endian bytes (row-major).
    public struct Tensor: Equatable, Sendable {
        /// The element type.
        public var dtype: DType
        /// The dimensions, outermost first; `[]` for a scalar.
        public var shape: [Int]
        /// The raw elements, little-endian, row-major.
        public var bytes: [UInt8]

        /// A tensor of `bytes`; they must hold exactly `shape`'s elements of `dtype` (a precondition).
        public init(dtype: DType, shape: [Int], bytes: [UInt8]) {
            precondition(
                shape.reduce(1, *) * dtype.size == bytes.count,
                "\(bytes.count) bytes do not hold \(dtype) elements of shape \(shape)")
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
        }

        /// A float32 tensor.
        public init(shape: [Int], floats: [Float]) {
            self.init(dtype: .f32, shape: shape, bytes: floats.withUnsafeBytes { Array($0) })
        }

        /// The elements as Float (float32 only), or nil for other types.
        public var floats: [Float]? {
            guard dtype == .f32 else { return nil }
            return bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }

        /// Every element converted to Double (bool as 0/1), for statistics and comparisons.
        public var doubles: [Double] { dtype.doubles(bytes) }
    }

    /// The safetensors element types (the names the header uses).
    public enum DType: String, Sendable, CaseIterable {
        /// IEEE floats of 8, 4 and 2 bytes, and bfloat16.
        case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
        /// Signed integers of 8, 4, 2 and 1 bytes.
        case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8"
        /// Unsigned integers of 8, 4, 2 and 1 bytes.
        case u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8"
        /// Booleans, one byte each.
        case bool = "BOOL"

        /// Bytes per element.
        public var size: Int {
            switch self {
            case .f64, .i64, .u64: 8
            case .f32, .i32, .u32: 4
            case .f16, .bf16, .i16, .u16: 2
            case .i8, .u8, .bool: 1
            }
        }

        /// NumPy's name, as `inspect` shows element types of every format.
        public var numpyName: String {
            switch self {
            case .f64: "float64"
            case .f32: "float32"
            case .f16: "float16"
            case .bf16: "bfloat16"
            case .i64: "int64"
            case .i32: "int32"
            case .i16: "int16"
            case .i8: "int8"
            case .u64: "uint64"
            case .u32: "uint32"
            case .u16: "uint16"
            case .u8: "uint8"
            case .bool: "bool"
            }
        }

        func doubles(_ bytes: [UInt8]) -> [Double] {
            bytes.withUnsafeBytes { raw -> [Double] in
                func map<T>(_: T.Type, _ f: (T) -> Double) -> [Double] {
                    (0..<(raw.count / MemoryLayout<T>.size)).map {
                        f(raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self))
                    }
                }
                switch self {
                case .f64: return map(Double.self) { $0 }
                case .f32: return map(Float.self) { Double($0) }
                case .f16: return map(UInt16.self) { halfToDouble($0) }
                case .bf16: return map(UInt16.self) { Double(Float(bitPattern: UInt32($0) << 16)) }
                case .i64: return map(Int64.self) { Double($0) }
                case .i32: return map(Int32.self) { Double($0) }
                case .i16: return map(Int16.self) { Double($0) }
                case .i8: return map(Int8.self) { Double($0) }
                case .u64: return map(UInt64.self) { Double($0) }
                case .u32: return map(UInt32.self) { Double($0) }
                case .u16: return map(UInt16.self) { Double($0) }
                case .u8, .bool: return map(UInt8.self) { Double($0) }
                }
            }
        }
    }

    /// The tensors by name.
    public var tensors: [String: Tensor]
    /// The `__metadata__` strings (safetensors allows only string values there).
    public var metadata: [String: String]

    /// A file of `tensors` and `metadata`, to write or to fill.
    public init(tensors: [String: Tensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The header's byte limit `safetensors` itself enforces (100 MB).
    static let maximumHeaderSize = 100_000_000

    /// How many leading bytes `looksLikeSafetensors` needs: the header length and the header's `{`.
    static let signatureLength = 9

    /// Whether a file's first bytes start like safetensors: a plausible header length followed by `{`.
    static func looksLikeSafetensors(_ head: [UInt8]) -> Bool {
        guard head.count >= signatureLength else { return false }
        let length = head.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return length >= 2 && length <= UInt64(maximumHeaderSize) && head[8] == UInt8(ascii: "{")
    }

    /// The `__metadata__` of the file at `path`, reading only its header (empty when it has none).
    static func metadata(ofFileAt path: String) throws -> [String: String] {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw KerasFormatError(.io, file: path, found: "cannot open") }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: 0)
        let lengthBytes = [UInt8]((try? handle.read(upToCount: 8)) ?? Data())
        let length = lengthBytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard lengthBytes.count == 8, length <= UInt64(maximumHeaderSize), length <= size - 8 else {
            throw KerasFormatError(
                .malformed, file: path, expected: "a safetensors header within the file's \(size) bytes", found: "header length \(length)")
        }
        let header = try JSON.parse([UInt8]((try? handle.read(upToCount: Int(length))) ?? Data()), file: path)
        guard case let .object(entries) = header["__metadata__"] ?? .object([]) else { return [:] }
        return Dictionary(entries.compactMap { key, value in value.stringValue.map { (key, $0) } }, uniquingKeysWith: { first, _ in first })
    }

    /// Reads and checks a whole file: header JSON, known dtypes, offsets inside the data and
    /// matching each tensor's shape, no overlaps, no bytes left over.
    public static func read(_ path: String) throws -> SafetensorsFile {
        guard FileManager.default.fileExists(atPath: path) else {
            throw KerasFormatError(.io, file: path, found: "no such file")
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw KerasFormatError(.io, file: path, found: "\(error.localizedDescription)")
        }
        return try parse([UInt8](data), file: path)
    }

    /// Parses the bytes of a safetensors file; `file` names it in errors.
    public static func parse(_ bytes: [UInt8], file: String) throws -> SafetensorsFile {
        func malformed(_ expected: String, _ found: String, tensor: String = "") -> KerasFormatError {
            KerasFormatError(.malformed, file: file, weight: tensor, expected: expected, found: found)
        }
        guard bytes.count >= 8 else {
            throw malformed("an 8-byte header length", "\(bytes.count) bytes in the whole file")
        }
        let length = bytes.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard length <= UInt64(maximumHeaderSize), 8 + Int(length) <= bytes.count else {
            throw malformed("a header of at most \(bytes.count - 8) bytes (file size \(bytes.count))", "header length \(length)")
        }
        let header: JSON
        do { header = try JSON.parse(Array(bytes[8..<(8 + Int(length))]), file: file) } catch let error as KerasFormatError {
            throw malformed("a JSON header", "\(error.found) of the header")
        }
        guard case let .object(members) = header else { throw malformed("a JSON object header", "\(header)") }
        let dataStart = 8 + Int(length)
        let dataCount = bytes.count - dataStart
        var result = SafetensorsFile()
        var ranges: [(Int, Int, String)] = []
        for (name, value) in members {
            if name == "__metadata__" {
                guard case let .object(metadata) = value else { throw malformed("__metadata__ an object of strings", "\(value)") }
                for (key, item) in metadata {
                    guard let text = item.stringValue else { throw malformed("string metadata values", "\(key): \(item)") }
                    result.metadata[key] = text
                }
                continue
            }
            guard let typeName = value["dtype"]?.stringValue,
                let shapeValues = value["shape"]?.arrayValue,
                let offsetValues = value["data_offsets"]?.arrayValue, offsetValues.count == 2
            else {
                throw malformed("dtype, shape and data_offsets [begin, end]", "\(value)", tensor: name)
            }
            guard let dtype = DType(rawValue: typeName) else {
                throw malformed("a dtype of \(DType.allCases.map(\.rawValue).joined(separator: ", "))", typeName, tensor: name)
            }
            let shape = try shapeValues.map { item -> Int in
                guard let extent = item.intValue, extent >= 0 else {
                    throw malformed("non-negative integer extents", "\(JSON.array(shapeValues))", tensor: name)
                }
                return extent
            }
            let offsets = try offsetValues.map { item -> Int in
                guard let offset = item.intValue, offset >= 0 else {
                    throw malformed("non-negative integer offsets", "\(JSON.array(offsetValues))", tensor: name)
                }
                return offset
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard let expected = ReadLimits.product(shape, times: dtype.size) else {
                throw malformed("a shape whose byte size fits in 64 bits", "\(dtype.rawValue) \(shape)", tensor: name)
            }
            guard begin <= end, end <= dataCount else {
                throw malformed("data_offsets inside the \(dataCount) data bytes", "[\(begin), \(end)]", tensor: name)
            }
            guard end - begin == expected else {
                throw malformed("\(expected) bytes for \(dtype.rawValue) \(shape)", "\(end - begin)", tensor: name)
            }
            ranges.append((begin, end, name))
            result.tensors[name] = Tensor(dtype: dtype, shape: shape, bytes: Array(bytes[(dataStart + begin)..<(dataStart + end)]))
        }
        ranges.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        var covered = 0
        for (begin, end, name) in ranges {
            guard begin == covered else {
                throw malformed(
                    "tensors tiling the data without gaps or overlaps", "\(name) at [\(begin), \(end)) after byte \(covered)", tensor: name)
            }
            covered = end
        }
        guard covered == dataCount else {
            throw malformed("\(covered) data bytes after the header", "\(dataCount) (file truncated or padded)")
        }
        return result
    }

    /// The file's bytes: header keys sorted, data in tensor-name order, header padded with
    /// spaces to a multiple of 8 bytes.
    public func serialized() throws -> [UInt8] {
        var entries: [(String, JSON)] = []
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let tensor = tensors[name]!
            entries.append(
                (
                    name,
                    .object([
                        ("data_offsets", .array([.int(offset), .int(offset + tensor.bytes.count)])),
                        ("dtype", .string(tensor.dtype.rawValue)), ("shape", .array(tensor.shape.map(JSON.int)))
                    ])
                ))
            offset += tensor.bytes.count
        }
        if !metadata.isEmpty {
            entries.append(("__metadata__", .object(metadata.map { ($0.key, .string($0.value)) }.sorted(by: Self.headerOrder))))
        }
        var json = Array(JSON.object(entries.sorted(by: Self.headerOrder)).compactDescription.utf8)
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var out = withUnsafeBytes(of: UInt64(json.count).littleEndian) { Array($0) }
        out.reserveCapacity(8 + json.count + offset)
        out += json
        for name in names { out += tensors[name]!.bytes }
        return out
    }

    /// The header's key order: `JSONSerialization`'s `.sortedKeys` order (Foundation's numeric,
    /// case-insensitive comparison: `conv_2` before `Conv_3` before `conv_10`), which the files
    /// written so far have, so the same tensors keep giving the same bytes.
    private static func headerOrder(_ a: (String, JSON), _ b: (String, JSON)) -> Bool {
        a.0.compare(
            b.0, options: [.numeric, .caseInsensitive, .forcedOrdering], range: a.0.startIndex..<a.0.endIndex,
            locale: NSLocale.system) == .orderedAscending
    }

    /// Writes the file atomically.
    public func write(to path: String) throws {
        let bytes = try serialized()
        try writeAtomically(to: path) { temporary in
            guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes)) else {
                throw KerasFormatError(.io, file: path, found: "cannot create \(temporary)")
            }
        }
    }
}

/// IEEE half precision bits to Double.
func halfToDouble(_ bits: UInt16) -> Double {
    let sign: Double = bits & 0x8000 != 0 ? -1 : 1
    let exponent = Int((bits >> 10) & 0x1F), fraction = Double(bits & 0x3FF)
    switch exponent {
    case 0: return sign * fraction * pow(2, -24)
    case 31: return fraction == 0 ? sign * .infinity : .nan
    default: return sign * (1 + fraction / 1024) * pow(2, Double(exponent - 15))
    }
}
