/// The element type code of an IDX file (third byte of the magic number).
public enum IDXDataType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Code 0x08, unsigned bytes: MNIST's pixels and labels.
    case uint8 = 0x08
    /// Code 0x09, signed bytes.
    case int8 = 0x09
    /// Code 0x0B, 2-byte signed integers.
    case int16 = 0x0B
    /// Code 0x0C, 4-byte signed integers.
    case int32 = 0x0C
    /// Code 0x0D, 4-byte IEEE floats.
    case float32 = 0x0D
    /// Code 0x0E, 8-byte IEEE floats.
    case float64 = 0x0E

    /// Bytes per element (stored big-endian).
    public var byteSize: Int {
        switch self {
        case .uint8, .int8: 1
        case .int16: 2
        case .int32, .float32: 4
        case .float64: 8
        }
    }

    /// The name in the IDX format's description and the code in hex, e.g. `ubyte (0x08)`, as error messages
    /// show it.
    public var description: String {
        let name =
            switch self {
            case .uint8: "ubyte"
            case .int8: "byte"
            case .int16: "short"
            case .int32: "int"
            case .float32: "float"
            case .float64: "double"
            }
        let hex = String(rawValue, radix: 16)
        return "\(name) (0x\(hex.count == 1 ? "0" + hex : hex))"
    }
}

/// What an IDX file's header declares.
public struct IDXHeader: Equatable, Sendable {
    /// The element type, from the magic number's third byte.
    public var dataType: IDXDataType
    /// The dimensions, outermost (samples) first.
    public var shape: [Int]

    /// A header declaring `shape`, outermost first, of `dataType` elements.
    public init(dataType: IDXDataType, shape: [Int]) {
        self.dataType = dataType
        self.shape = shape
    }

    /// The number of dimensions, the magic number's fourth byte: 3 for MNIST's images, 1 for its labels.
    public var rank: Int { shape.count }
    /// Size of the header in bytes: the 4-byte magic and one 4-byte dimension per axis.
    public var headerByteCount: Int { 4 + 4 * shape.count }
}

/// The elements of an IDX array, in file order (row-major), converted to native byte order.
public enum IDXData: Equatable, Sendable {
    /// Unsigned bytes (MNIST's pixels and labels).
    case uint8([UInt8])
    /// Signed bytes.
    case int8([Int8])
    /// 2-byte signed integers.
    case int16([Int16])
    /// 4-byte signed integers.
    case int32([Int32])
    /// 4-byte floats.
    case float32([Float])
    /// 8-byte floats.
    case float64([Double])

    /// The IDX type code these elements are written with.
    public var dataType: IDXDataType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .int16: .int16
        case .int32: .int32
        case .float32: .float32
        case .float64: .float64
        }
    }

    /// The number of elements, whatever their type.
    public var count: Int {
        switch self {
        case .uint8(let a): a.count
        case .int8(let a): a.count
        case .int16(let a): a.count
        case .int32(let a): a.count
        case .float32(let a): a.count
        case .float64(let a): a.count
        }
    }
}

/// An n-dimensional array read from an IDX file.
public struct IDXArray: Equatable, Sendable {
    /// The dimensions, outermost (samples) first; their product is `data.count` in a well-formed array.
    public var shape: [Int]
    /// The elements in row-major order, native byte order.
    public var data: IDXData

    /// An array of `data` shaped as `shape`; `IDX.encode` returns nil for it when the shape's product is not
    /// `data.count`.
    public init(shape: [Int], data: IDXData) {
        self.shape = shape
        self.data = data
    }

    /// The element type, from `data`.
    public var dataType: IDXDataType { data.dataType }
}

/// Reading and writing IDX files (the MNIST format): magic `00 00 <dtype> <rank>`, `rank` big-endian
/// UInt32 dimensions, then the elements big-endian in row-major order. Files may be gzip-compressed
/// (detected by the magic bytes 1f 8b, not by name; concatenated members are read too).
public enum IDX {
    /// Reads the whole array, or only its first `limit` entries along the first dimension.
    /// Without a limit, the file must hold exactly the bytes its dimensions declare.
    public static func read(path: String, limit: Int? = nil) throws(DatasetError) -> IDXArray {
        var reader = try IDXReader(source: openFile(path: path), path: path)
        return try reader.readArray(limit: limit)
    }

    /// Decodes IDX bytes held in memory (raw or gzip).
    public static func decode(_ bytes: [UInt8], name: String = "<memory>", limit: Int? = nil) throws(DatasetError) -> IDXArray {
        var reader = try IDXReader(source: openDecompressing(MemorySource(bytes), size: bytes.count, path: name), path: name)
        return try reader.readArray(limit: limit)
    }

    /// Reads only the header (cheap: a gzip file is inflated just far enough).
    public static func readHeader(path: String) throws(DatasetError) -> IDXHeader {
        try IDXReader(source: openFile(path: path), path: path).header
    }

    /// Encodes `array` in the IDX format (uncompressed; see ``Gzip/compress(_:level:)``).
    /// Returns nil when the shape does not match the element count or does not fit the format.
    public static func encode(_ array: IDXArray) -> [UInt8]? {
        guard array.shape.count <= 255,
            array.shape.allSatisfy({ $0 >= 0 && $0 <= Int(UInt32.max) }),
            array.shape.reduce(1, { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }) == array.data.count
        else { return nil }
        var out: [UInt8] = [0, 0, array.dataType.rawValue, UInt8(array.shape.count)]
        for d in array.shape { appendBigEndian(UInt32(d), to: &out) }
        out.reserveCapacity(out.count + array.data.count * array.dataType.byteSize)
        switch array.data {
        case .uint8(let a): out.append(contentsOf: a)
        case .int8(let a): out.append(contentsOf: a.map { UInt8(bitPattern: $0) })
        case .int16(let a): for v in a { appendBigEndian(UInt16(bitPattern: v), to: &out) }
        case .int32(let a): for v in a { appendBigEndian(UInt32(bitPattern: v), to: &out) }
        case .float32(let a): for v in a { appendBigEndian(v.bitPattern, to: &out) }
        case .float64(let a): for v in a { appendBigEndian(v.bitPattern, to: &out) }
        }
        return out
    }

    private static func appendBigEndian<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { out.append(contentsOf: $0) }
    }
}

/// Streams one IDX file: the header on creation, then the payload.
struct IDXReader {
    let source: ByteSource
    let path: String
    let header: IDXHeader
    /// Elements in one entry of the first dimension (product of the other dimensions).
    let elementsPerItem: Int

    init(source: ByteSource, path: String) throws(DatasetError) {
        self.source = source
        self.path = path
        let magic = try source.readBytes(4)
        guard magic.count == 4 else { throw .truncated(path: path, expectedBytes: 4, foundBytes: magic.count) }
        guard magic[0] == 0, magic[1] == 0, let dataType = IDXDataType(rawValue: magic[2]) else {
            throw .badMagic(path: path, found: magic)
        }
        let rank = Int(magic[3])
        let dimBytes = try source.readBytes(4 * rank)
        guard dimBytes.count == 4 * rank else {
            throw .truncated(path: path, expectedBytes: 4 + 4 * rank, foundBytes: 4 + dimBytes.count)
        }
        var shape = [Int]()
        for i in 0..<rank {
            var d = 0
            for byte in dimBytes[(4 * i)..<(4 * i + 4)] { d = d << 8 | Int(byte) }
            shape.append(d)
        }
        header = IDXHeader(dataType: dataType, shape: shape)
        // The element count of one item, and the byte count of the whole array, must be addressable
        // (checked separately: a zero first dimension must not hide an overflow in the others).
        var perItem = 1
        for d in shape.dropFirst() {
            let (p, overflow) = perItem.multipliedReportingOverflow(by: d)
            guard !overflow else { throw .tooLarge(path: path, dims: shape) }
            perItem = p
        }
        let (itemBytes, o1) = perItem.multipliedReportingOverflow(by: dataType.byteSize)
        let (totalBytes, o2) = itemBytes.multipliedReportingOverflow(by: shape.first ?? 1)
        guard !o1, !o2, totalBytes < Int(Int32.max) << 16 else { throw .tooLarge(path: path, dims: shape) }
        elementsPerItem = perItem
    }

    func expect(type: IDXDataType, ranks: [Int]) throws(DatasetError) {
        guard ranks.contains(header.rank) else { throw .wrongRank(path: path, expected: ranks, found: header.rank) }
        guard header.dataType == type else { throw .wrongDataType(path: path, expected: type, found: header.dataType) }
    }

    /// How many entries of the first dimension a read with `limit` returns.
    func itemCount(limit: Int?) throws(DatasetError) -> Int {
        if let limit, limit < 0 { throw .invalidArgument("limit must be ≥ 0, got \(limit)") }
        guard let first = header.shape.first else { return 1 }
        return min(limit ?? first, first)
    }

    /// Reads the raw (file-order) payload of the first `limit` entries. Without a cut-off the whole
    /// stream is consumed and extra bytes are an error (this also makes zlib verify the gzip CRC).
    mutating func readPayload(limit: Int?) throws(DatasetError) -> (items: Int, bytes: [UInt8]) {
        let items = try itemCount(limit: limit)
        let byteCount = items * elementsPerItem * header.dataType.byteSize
        let fullByteCount = (header.shape.first ?? 1) * elementsPerItem * header.dataType.byteSize
        // Grow the buffer as data arrives, doubling from 64 KiB in steps of at most 64 MiB, so a header
        // declaring more than the file holds costs at most twice the bytes that are really there.
        let step = 1 << 26
        var bytes = [UInt8]()
        var filled = 0
        while filled < byteCount {
            let chunk = min(step, max(1 << 16, filled), byteCount - filled)
            if bytes.isEmpty {
                bytes = [UInt8](repeating: 0, count: chunk)
            } else {
                bytes.append(contentsOf: [UInt8](repeating: 0, count: chunk))
            }
            let start = filled
            let n = try source.readFully(into: &bytes, range: start..<(start + chunk))
            filled += n
            if n < chunk {
                throw .truncated(
                    path: path, expectedBytes: header.headerByteCount + byteCount,
                    foundBytes: header.headerByteCount + filled)
            }
        }
        if byteCount == fullByteCount {
            let extra = try source.drain()
            if extra > 0 {
                throw .trailingBytes(
                    path: path, expectedBytes: header.headerByteCount + byteCount,
                    foundBytes: header.headerByteCount + byteCount + extra)
            }
        }
        return (items, bytes)
    }

    mutating func readArray(limit: Int?) throws(DatasetError) -> IDXArray {
        let (items, bytes) = try readPayload(limit: limit)
        var shape = header.shape
        if !shape.isEmpty { shape[0] = items }
        let data: IDXData =
            switch header.dataType {
            case .uint8: .uint8(bytes)
            case .int8: .int8(bytes.map { Int8(bitPattern: $0) })
            case .int16: .int16(Self.bigEndian(bytes, as: UInt16.self).map { Int16(bitPattern: $0) })
            case .int32: .int32(Self.bigEndian(bytes, as: UInt32.self).map { Int32(bitPattern: $0) })
            case .float32: .float32(Self.bigEndian(bytes, as: UInt32.self).map { Float(bitPattern: $0) })
            case .float64: .float64(Self.bigEndian(bytes, as: UInt64.self).map { Double(bitPattern: $0) })
            }
        return IDXArray(shape: shape, data: data)
    }

    private static func bigEndian<T: FixedWidthInteger>(_ bytes: [UInt8], as: T.Type) -> [T] {
        let size = MemoryLayout<T>.size
        return bytes.withUnsafeBytes { raw in
            (0..<(raw.count / size)).map { i in T(bigEndian: raw.loadUnaligned(fromByteOffset: i * size, as: T.self)) }
        }
    }
}
