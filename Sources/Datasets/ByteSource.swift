import CZlibShim
import Glibc
import ReadLimits

/// A source of bytes read front to back. `read` returns 0 only at the end.
protocol ByteSource: AnyObject {
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(DatasetError) -> Int
}

extension ByteSource {
    /// Reads until `buffer` is full or the source ends; returns how many bytes were read.
    func readFully(into buffer: UnsafeMutableRawBufferPointer) throws(DatasetError) -> Int {
        var total = 0
        while total < buffer.count {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[total...]))
            if n == 0 { break }
            total += n
        }
        return total
    }

    /// Reads and discards everything left; returns how many bytes that was.
    func drain() throws(DatasetError) -> Int {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { scratch.deallocate() }
        var total = 0
        while true {
            let n = try read(into: scratch)
            if n == 0 { return total }
            total += n
        }
    }
}

func systemErrorMessage(_ code: Int32) -> String {
    if let message = strerror(code) { return String(cString: message) }
    return "error \(code)"
}

/// A file read with plain `read(2)` calls.
final class FileSource: ByteSource {
    let path: String
    private let fd: Int32

    init(path: String) throws(DatasetError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        if fd < 0 { throw .unreadable(path: path, reason: systemErrorMessage(errno)) }
        self.fd = fd
    }

    deinit { close(fd) }

    /// The file's size (fstat); 0 when it cannot be told.
    var size: Int {
        var status = stat()
        return fstat(fd, &status) == 0 ? Int(status.st_size) : 0
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(DatasetError) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            #if canImport(Darwin)
                let n = Darwin.read(fd, base, min(buffer.count, 1 << 30))
            #elseif canImport(Musl)
                let n = Musl.read(fd, base, min(buffer.count, 1 << 30))
            #else
                let n = Glibc.read(fd, base, min(buffer.count, 1 << 30))
            #endif
            if n >= 0 { return n }
            let code = errno
            if code == EINTR { continue }
            throw .unreadable(path: path, reason: systemErrorMessage(code))
        }
    }
}

/// Bytes held in memory.
final class MemorySource: ByteSource {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let n = min(buffer.count, bytes.count - offset)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { source in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[offset..<(offset + n)]))
        }
        offset += n
        return n
    }
}

/// A few bytes already taken from `base` (while sniffing the magic), handed out again first.
final class PushbackSource: ByteSource {
    private var prefix: [UInt8]
    private let base: ByteSource

    init(prefix: [UInt8], base: ByteSource) {
        self.prefix = prefix
        self.base = base
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(DatasetError) -> Int {
        if prefix.isEmpty { return try base.read(into: buffer) }
        let n = min(buffer.count, prefix.count)
        prefix.withUnsafeBytes { source in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[0..<n]))
        }
        prefix.removeFirst(n)
        return n
    }
}

/// Inflates a gzip stream (one or more concatenated members) read from `base`, streaming.
final class GzipSource: ByteSource {
    private let base: ByteSource
    private let path: String
    private let stream: UnsafeMutablePointer<z_stream>
    private let input: UnsafeMutableRawBufferPointer
    private var initialized = false
    private var inputEnded = false
    private var atMemberBoundary = false
    private var finished = false
    private var member = 1
    /// The most bytes the stream may inflate into, and how many it has.
    private let budget: Int
    private var inflated = 0

    /// `initialInput` are bytes already read from the start of `base`, which holds `compressedSize` bytes.
    init(base: ByteSource, path: String, compressedSize: Int, initialInput: [UInt8] = []) throws(DatasetError) {
        self.base = base
        self.path = path
        budget = ReadLimits.budget(forSourceOf: compressedSize)
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        input = .allocate(byteCount: max(1 << 18, initialInput.count), alignment: 16)
        initialInput.withUnsafeBytes { input.copyMemory(from: $0) }
        stream.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_in = UInt32(initialInput.count)
        let rc = inflateInit2_(stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw .corruptGzip(path: path, reason: "zlib could not start inflating (code \(rc))") }
        initialized = true
    }

    deinit {
        if initialized { inflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
        input.deallocate()
    }

    private func zlibMessage(_ fallback: String) -> String {
        if let msg = stream.pointee.msg { return String(cString: msg) }
        return fallback
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(DatasetError) -> Int {
        guard !finished, let out = buffer.baseAddress, buffer.count > 0 else { return 0 }
        let wanted = min(buffer.count, Int(UInt32.max))
        stream.pointee.next_out = out.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = UInt32(wanted)
        while stream.pointee.avail_out > 0 {
            if stream.pointee.avail_in == 0 && !inputEnded {
                let n = try base.read(into: input)
                if n == 0 {
                    inputEnded = true
                } else {
                    stream.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    stream.pointee.avail_in = UInt32(n)
                }
            }
            if stream.pointee.avail_in == 0 && inputEnded {
                if atMemberBoundary {
                    finished = true
                    break
                }
                throw .corruptGzip(
                    path: path, reason: "unexpected end of file inside gzip member \(member) (the .gz file is truncated)")
            }
            if atMemberBoundary {
                // More input after a complete member: another gzip member follows (concatenated .gz).
                inflateReset(stream)
                atMemberBoundary = false
                member += 1
            }
            let rc = inflate(stream, Z_NO_FLUSH)
            switch rc {
            case Z_OK:
                continue
            case Z_STREAM_END:
                atMemberBoundary = true
            case Z_BUF_ERROR:
                // No progress possible without more input; the loop refills. With input left it is a real error.
                if stream.pointee.avail_in > 0 {
                    throw .corruptGzip(path: path, reason: zlibMessage("inflate made no progress") + " in gzip member \(member)")
                }
            case Z_NEED_DICT:
                throw .corruptGzip(path: path, reason: "gzip member \(member) needs a preset dictionary")
            case Z_DATA_ERROR:
                let hint = member > 1 ? " (data after the end of the gzip stream?)" : ""
                throw .corruptGzip(path: path, reason: zlibMessage("invalid deflate data") + " in gzip member \(member)" + hint)
            case Z_MEM_ERROR:
                throw .corruptGzip(path: path, reason: "zlib ran out of memory")
            default:
                throw .corruptGzip(path: path, reason: zlibMessage("zlib error \(rc)") + " in gzip member \(member)")
            }
        }
        inflated += wanted - Int(stream.pointee.avail_out)
        guard inflated <= budget else { throw .inflationBudgetExceeded(path: path, budget: budget) }
        return wanted - Int(stream.pointee.avail_out)
    }
}

/// Opens `source` and returns a reader of its content, inflated when it starts with the gzip magic 1f 8b.
/// `size` is the source's size in bytes, which bounds what its gzip stream may inflate into (`ReadLimits`).
func openDecompressing(_ source: ByteSource, size: Int, path: String) throws(DatasetError) -> ByteSource {
    let magic = try source.readBytes(2)
    if magic == [0x1F, 0x8B] {
        return try GzipSource(base: source, path: path, compressedSize: size, initialInput: magic)
    }
    return PushbackSource(prefix: magic, base: source)
}

func openFile(path: String) throws(DatasetError) -> ByteSource {
    let file = try FileSource(path: path)
    return try openDecompressing(file, size: file.size, path: path)
}

/// Whole-buffer gzip helpers (the IDX readers stream; these serve tools and tests).
public enum Gzip {
    /// True when `bytes` starts with the gzip magic 1f 8b.
    public static func isGzip(_ bytes: some Collection<UInt8>) -> Bool {
        bytes.starts(with: [0x1F, 0x8B])
    }

    /// Inflates gzip data (any number of concatenated members); data without the gzip magic is returned as is.
    public static func decompress(_ bytes: [UInt8], name: String = "<memory>") throws(DatasetError) -> [UInt8] {
        try readAll(openDecompressing(MemorySource(bytes), size: bytes.count, path: name))
    }

    /// The content of the file at `path`, inflated when it is gzip-compressed (detected by its magic bytes).
    public static func readFile(path: String) throws(DatasetError) -> [UInt8] {
        try readAll(openFile(path: path))
    }

    /// Compresses `bytes` into one gzip member (RFC 1952) with zlib's deflate.
    public static func compress(_ bytes: [UInt8], level: Int32 = Z_DEFAULT_COMPRESSION) -> [UInt8] {
        // zlib keeps a pointer back to the z_stream: it needs a stable address, not an inout temporary.
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer {
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        guard
            deflateInit2_(
                stream, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY,
                zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK
        else { return [] }
        defer { deflateEnd(stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(stream, uLong(bytes.count))) + 64)
        var produced = 0
        var input = bytes
        input.withUnsafeMutableBufferPointer { inBuffer in
            stream.pointee.next_in = inBuffer.baseAddress
            stream.pointee.avail_in = uInt(inBuffer.count)
            while true {
                if produced == output.count { output.append(contentsOf: repeatElement(0, count: max(1024, output.count))) }
                let rc = output.withUnsafeMutableBufferPointer { outBuffer -> Int32 in
                    stream.pointee.next_out = outBuffer.baseAddress! + produced
                    stream.pointee.avail_out = uInt(outBuffer.count - produced)
                    let rc = deflate(stream, Z_FINISH)
                    produced = outBuffer.count - Int(stream.pointee.avail_out)
                    return rc
                }
                if rc == Z_STREAM_END || (rc != Z_OK && rc != Z_BUF_ERROR) { break }
            }
        }
        output.removeLast(output.count - produced)
        return output
    }

    private static func readAll(_ source: ByteSource) throws(DatasetError) -> [UInt8] {
        var result = [UInt8]()
        while true {
            let chunk = try source.readBytes(1 << 16)
            result.append(contentsOf: chunk)
            if chunk.count < 1 << 16 { return result }
        }
    }
}

extension ByteSource {
    /// Fills `array[range]` from the source (as far as it goes); returns how many bytes were read.
    func readFully(into array: inout [UInt8], range: Range<Int>) throws(DatasetError) -> Int {
        var outcome: Result<Int, DatasetError> = .success(0)
        array.withUnsafeMutableBytes { buffer in
            do throws(DatasetError) {
                outcome = .success(try readFully(into: UnsafeMutableRawBufferPointer(rebasing: buffer[range])))
            } catch {
                outcome = .failure(error)
            }
        }
        return try outcome.get()
    }

    /// Reads up to `count` bytes (fewer only at the end of the source).
    func readBytes(_ count: Int) throws(DatasetError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let n = try readFully(into: &bytes, range: 0..<count)
        bytes.removeLast(count - n)
        return bytes
    }
}
