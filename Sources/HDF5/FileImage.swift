import CHDF5
import Foundation

/// The file's bytes and where its objects start, for the read-only fast path
/// (`StoredGroup`, `StoredFloat32Array`): groups, attributes and float32 datasets read straight
/// from the bytes of a file libhdf5 has opened (and so validated), without opening each object.
struct FileImage {
    let bytes: Data
    /// Where address 0 lies in the file (the user block's size).
    let base: Int
    /// The root group's object header address, from a version 0 or 1 superblock; nil for newer ones.
    let rootAddress: Int?
    /// The objects of each global heap collection read so far.
    let heaps = GlobalHeapIndex()

    /// Where address 0 lies in the file (its user block's size), or nil when its addresses are not
    /// the 8-byte ones this reader parses (H5Fget_create_plist, H5Pget_sizes, H5Pget_userblock).
    static func base(ofFile file: Handle, _ context: ErrorContext) throws -> Int? {
        let list = try Library.open(.propertyList, "H5Fget_create_plist", context) { H5Fget_create_plist(file.id) }
        var addressSize = 0, lengthSize = 0
        var userBlock: hsize_t = 0
        try Library.call("H5Pget_sizes", context) { H5Pget_sizes(list.id, &addressSize, &lengthSize) }
        try Library.call("H5Pget_userblock", context) { H5Pget_userblock(list.id, &userBlock) }
        return addressSize == 8 && lengthSize == 8 ? Int(userBlock) : nil
    }

    /// The bytes of `path`, mapped read-only, and the result of `work`, run on another thread while
    /// the mapping's page tables are filled (MAP_POPULATE). Mapping, not reading, because the weights
    /// are then copied once, from the page cache into their variables, instead of twice.
    /// A file another process truncates while it is mapped would fault (SIGBUS) when the loader reads
    /// past the new end; this toolkit replaces files by rename, which never does that. nil bytes when
    /// the file system cannot map files (`mmap` fails): libhdf5 then reads everything, as without an image.
    static func contents<R>(of path: String, _ context: ErrorContext, alongside work: () -> R) throws -> (Data?, R) {
        func failure(_ function: String, _ code: Int32) -> HDF5Error {
            HDF5Error(.library(function: function), operation: "open", context: context, detail: String(cString: strerror(code)))
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("open", errno) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw failure("fstat", errno) }
        let size = Int(status.st_size)
        guard size > 0 else { return (Data(), work()) }
        let mapping = Mapping()
        var result: R?
        withoutActuallyEscaping(work) { work in
            let first = UncheckedTask { result = work() }
            DispatchQueue.concurrentPerform(iterations: 2) { index in
                if index == 0 { first.run() } else { mapping.map(fd, size: size) }
            }
        }
        return (mapping.address.map { Data(bytesNoCopy: $0, count: size, deallocator: .unmap) }, result!)
    }

    /// A closure handed to another thread that runs it while its caller waits (`concurrentPerform`).
    private struct UncheckedTask: @unchecked Sendable {
        let run: () -> Void
    }

    /// The outcome of mapping a file on another thread; read only after that thread finished.
    private final class Mapping: @unchecked Sendable {
        private(set) var address: UnsafeMutableRawPointer?

        func map(_ fd: Int32, size: Int) {
            let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0)
            if mapped != MAP_FAILED { address = mapped }
        }
    }

    /// The image of `bytes` whose address 0 lies at `base`.
    init(bytes: Data, base: Int) {
        self.bytes = bytes
        self.base = base
        let heaps = heaps
        rootAddress = bytes.withUnsafeBytes { ImageReader(raw: $0, base: base, heaps: heaps).rootAddress() }
    }

    /// Runs `body` with a bounds-checked reader over the bytes.
    func reading<R>(_ body: (ImageReader) -> R?) -> R? {
        bytes.withUnsafeBytes { body(ImageReader(raw: $0, base: base, heaps: heaps)) }
    }
}

/// Bounds-checked reads of the file format's little-endian fields; every accessor answers nil
/// rather than read outside the bytes, so malformed offsets make the fast path decline, not crash.
/// Offsets called `at` are positions in the bytes; `address` values are file addresses (+ `base`).
struct ImageReader {
    let raw: UnsafeRawBufferPointer
    let base: Int
    let heaps: GlobalHeapIndex

    /// The unsigned little-endian integer of `width` bytes at `at`; nil outside the bytes or above `Int.max`.
    func int(_ at: Int, _ width: Int) -> Int? {
        guard at >= 0, width <= raw.count, at <= raw.count - width else { return nil }
        let value: UInt64
        switch width {
        case 1: value = UInt64(raw[at])
        case 2: value = UInt64(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
        case 4: value = UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
        case 8: value = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self))
        default: value = (0..<width).reversed().reduce(0) { $0 << 8 | UInt64(raw[at + $1]) }
        }
        return value > UInt64(Int.max) ? nil : Int(value)
    }

    /// The position in the bytes of the 8-byte file address stored at `at`; nil when undefined
    /// (all ones) or outside the bytes.
    func address(_ at: Int) -> Int? {
        guard let address = int(at, 8), address <= raw.count - base else { return nil }
        return address + base
    }

    /// The product of `factors` (an element count) and `initial`, nil on overflow.
    static func product(_ factors: [Int], times initial: Int = 1) -> Int? {
        var result = initial
        for factor in factors {
            let (product, overflow) = result.multipliedReportingOverflow(by: factor)
            guard !overflow else { return nil }
            result = product
        }
        return result
    }

    /// Whether the bytes at `at` are `signature` (e.g. "TREE", "HEAP").
    func has(_ signature: StaticString, at: Int) -> Bool {
        let count = signature.utf8CodeUnitCount
        guard at >= 0, at <= raw.count - count, let start = raw.baseAddress else { return false }
        return memcmp(start + at, signature.utf8Start, count) == 0
    }

    /// The root group's object header, from the root symbol table entry of a version 0 or 1
    /// superblock with 8-byte addresses whose base address is where it lies.
    func rootAddress() -> Int? {
        let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
        guard base >= 0, base <= raw.count - 8, (0..<8).allSatisfy({ raw[base + $0] == signature[$0] }),
              let version = int(base + 8, 1), version <= 1, int(base + 13, 1) == 8, int(base + 14, 1) == 8 else { return nil }
        let addresses = base + (version == 0 ? 24 : 28)
        guard int(addresses, 8) == base else { return nil }
        // Base, free-space, end-of-file and driver addresses, then the entry: name offset, header address.
        return address(addresses + 40)
    }

    /// One message of an object header: its type, flags and where its data lies.
    struct Message {
        let type: Int
        let flags: Int
        let data: Range<Int>

        var isShared: Bool { flags & 0x02 != 0 }
    }

    /// Calls `body` with each message of the version-1 object header at `at` (what h5py and libhdf5
    /// write by default), continuation blocks included, until it returns false; false for other versions
    /// or anything out of bounds. Visits rather than collects: these run thousands of times per load.
    func forEachMessage(ofHeaderAt at: Int, _ body: (Message) -> Bool) -> Bool {
        guard int(at, 1) == 1, var remaining = int(at + 2, 2), let size = int(at + 8, 4) else { return false }
        var block: Range<Int>? = at + 16..<at + 16 + size
        var pending: [Range<Int>] = []
        while let current = block ?? pending.popLast() {
            block = nil
            var p = current.lowerBound
            while remaining > 0, p + 8 <= current.upperBound {
                guard let type = int(p, 2), let length = int(p + 2, 2), let flags = int(p + 4, 1),
                      p + 8 + length <= current.upperBound, current.upperBound <= raw.count else { return false }
                let message = Message(type: type, flags: flags, data: p + 8..<p + 8 + length)
                if type == 0x10 {  // continuation: address and length of another block of messages
                    guard length >= 16, let next = address(p + 8), let nextSize = int(p + 16, 8),
                          nextSize <= raw.count - next else { return false }
                    pending.append(next..<next + nextSize)
                }
                remaining -= 1
                guard body(message) else { return true }
                p = message.data.upperBound
            }
        }
        return remaining == 0
    }
}

/// The objects of each global heap collection, indexed once per file: a tf-keras file keeps the
/// `weight_names` of hundreds of layers in a few large collections.
final class GlobalHeapIndex: @unchecked Sendable {
    private let lock = NSLock()
    private var collections: [Int: [Int: Range<Int>]] = [:]

    /// The objects of the collection at `at`, indexed by `index` on first use.
    func objects(inCollectionAt at: Int, index: () -> [Int: Range<Int>]?) -> [Int: Range<Int>]? {
        lock.lock()
        defer { lock.unlock() }
        if let objects = collections[at] { return objects }
        let objects = index()
        collections[at] = objects
        return objects
    }
}
