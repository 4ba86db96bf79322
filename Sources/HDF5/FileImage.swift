import CHDF5
import CMapGuard
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
    /// The `map_guard` slot watching the bytes when they are a mapped file; -1 for bytes in memory.
    var mappingSlot: Int32 = -1

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
    /// the mapping's page tables are filled (MAP_POPULATE on Linux). Mapping, not reading, because the weights
    /// are then copied once, from the page cache into their variables, instead of twice.
    /// A file another process truncates while it is mapped would fault (SIGBUS) when the loader reads
    /// past the new end: the mapping is watched (`map_guard_register`, the slot returned), such reads give
    /// zeros and `File.checkMappedBytes` throws. nil bytes and slot -1 when the file system cannot map
    /// files (`mmap` fails): libhdf5 then reads everything, as without an image.
    static func contents<R>(of path: String, _ context: ErrorContext, alongside work: () -> R) throws -> (Data?, Int32, R) {
        func failure(_ function: String, _ code: Int32) -> HDF5Error {
            HDF5Error(.library(function: function), operation: "open", context: context, detail: String(cString: strerror(code)))
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("open", errno) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw failure("fstat", errno) }
        let size = Int(status.st_size)
        guard size > 0 else { return (Data(), -1, work()) }
        var address: UnsafeMutableRawPointer?, result: R?
        Concurrently.forEach(2) { index in
            if index == 0 {
                result = work()
            } else if let mapped = mmap(nil, size, PROT_READ, mapFlags, fd, 0), mapped != MAP_FAILED {
                address = mapped
            }
        }
        guard let address else { return (nil, -1, result!) }
        let slot = map_guard_register(address, size)
        let bytes = Data(
            bytesNoCopy: address, count: size,
            deallocator: .custom { start, count in
                map_guard_unregister(slot)
                munmap(start, count)
            })
        return (bytes, slot, result!)
    }

    #if os(Linux)
        /// Private, read-only, its page tables filled by the `mmap` call itself (Linux's MAP_POPULATE).
        private static let mapFlags = MAP_PRIVATE | MAP_POPULATE
    #else
        /// Private and read-only; other systems fill the page tables as the bytes are first read.
        private static let mapFlags = MAP_PRIVATE
    #endif

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
