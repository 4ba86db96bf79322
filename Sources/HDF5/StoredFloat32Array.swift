import CHDF5
import Foundation

/// A float32 dataset's shape and bytes, found in the in-memory bytes of a file opened with
/// `File.readWholeFileIntoMemory` (see `Group.storedFloat32Array`).
public struct StoredFloat32Array {
    /// The extent of each dimension.
    public let shape: [Int]
    /// The elements, little-endian IEEE float32 in row-major order: a slice of the file's bytes.
    public let bytes: Data
}

/// The file's bytes and what reading object headers in them needs from the superblock.
struct FileImage {
    let bytes: Data
    /// Where address 0 lies in the file (the user block's size).
    let base: Int

    /// Reads `path` whole, or nil when its addresses are not the 8-byte ones this reader parses
    /// (H5Fget_create_plist, H5Pget_sizes, H5Pget_userblock).
    init?(path: String, file: Handle, _ context: ErrorContext) throws {
        let list = try Library.open(.propertyList, "H5Fget_create_plist", context) { H5Fget_create_plist(file.id) }
        var addressSize = 0, lengthSize = 0
        var userBlock: hsize_t = 0
        try Library.call("H5Pget_sizes", context) { H5Pget_sizes(list.id, &addressSize, &lengthSize) }
        try Library.call("H5Pget_userblock", context) { H5Pget_userblock(list.id, &userBlock) }
        guard addressSize == 8, lengthSize == 8 else { return nil }
        do {
            bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw HDF5Error(.library(function: "read"), operation: "open", context: context, detail: "\(error)")
        }
        base = Int(userBlock)
    }

    /// The shape and data range of the dataset whose object header is at `address`, when the
    /// header is version 1 (what h5py and libhdf5 write by default) and says: simple dataspace,
    /// little-endian IEEE float32, contiguous allocated storage inside the file, no filters and no
    /// external files. nil for anything else, which libhdf5 then reads (or rejects) itself.
    func float32Array(headerAt address: haddr_t) -> StoredFloat32Array? {
        bytes.withUnsafeBytes { raw -> StoredFloat32Array? in
            func int(_ at: Int, _ width: Int) -> Int? {
                guard at >= 0, at + width <= raw.count else { return nil }
                var value: UInt64 = 0
                for i in (0..<width).reversed() { value = value << 8 | UInt64(raw[at + i]) }
                return value > UInt64(Int.max) ? nil : Int(value)
            }
            guard let start = Int(exactly: address).map({ $0 + base }),
                  int(start, 1) == 1, let messageCount = int(start + 2, 2), let size = int(start + 8, 4) else { return nil }
            var blocks = [(start + 16, size)]
            var remaining = messageCount
            var shape: [Int]?, isFloat32 = false, storage: (address: Int, size: Int)?
            while let (blockStart, blockSize) = blocks.popLast() {
                var p = blockStart
                while remaining > 0, p + 8 <= blockStart + blockSize {
                    guard let type = int(p, 2), let length = int(p + 2, 2), let flags = int(p + 4, 1) else { return nil }
                    let d = p + 8
                    guard d + length <= blockStart + blockSize else { return nil }
                    remaining -= 1
                    p = d + length
                    switch type {
                    case 0x01:  // dataspace, version 1 or 2, not shared
                        guard flags & 0x02 == 0, let version = int(d, 1), let rank = int(d + 1, 1),
                              version == 1 || (version == 2 && int(d + 3, 1) != 2) else { return nil }
                        let dims = d + (version == 1 ? 8 : 4)
                        guard dims + 8 * rank <= d + length else { return nil }
                        let extents = (0..<rank).compactMap { int(dims + 8 * $0, 8) }
                        guard extents.count == rank else { return nil }
                        shape = extents
                    case 0x03:  // datatype: exactly H5T_IEEE_F32LE, not shared
                        isFloat32 = flags & 0x02 == 0 && length >= 20 && int(d, 1).map { $0 & 0x0F } == 1
                            && int(d + 1, 3) == 0x1F20 && int(d + 4, 4) == 4 && int(d + 8, 4) == 32 << 16
                            && int(d + 12, 4) == 23 << 24 | 8 << 8 | 23 && int(d + 16, 4) == 127
                    case 0x08:  // layout, version 3 or 4, contiguous
                        guard let version = int(d, 1), version == 3 || version == 4, int(d + 1, 1) == 1,
                              let at = int(d + 2, 8), let size = int(d + 10, 8) else { return nil }
                        storage = (at, size)
                    case 0x07, 0x0B:  // external data files, filter pipeline
                        return nil
                    case 0x10:  // continuation
                        guard let at = int(d, 8), let size = int(d + 8, 8) else { return nil }
                        blocks.append((at + base, size))
                    default:
                        break
                    }
                }
            }
            guard remaining == 0, let shape, isFloat32, let storage,
                  shape.reduce(4, { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }) == storage.size,
                  storage.address <= raw.count - base - storage.size else { return nil }
            let from = base + storage.address
            return StoredFloat32Array(shape: shape, bytes: bytes[from..<from + storage.size])
        }
    }
}

extension Group {
    /// The float32 dataset at `path`, located by reading its object header in the file's in-memory
    /// bytes instead of opening it through libhdf5: for loading many small weights, where H5Dopen,
    /// H5Dread and H5Dclose cost ~60 µs per dataset against a few µs to copy its data. nil unless
    /// `file.readWholeFileIntoMemory()` has run, `path` is a hard link, and the
    /// dataset is contiguous, allocated, unfiltered little-endian IEEE float32 with a version-1
    /// object header; open it with `dataset(_:)` then, which also reports what is wrong.
    public func storedFloat32Array(_ path: String) -> StoredFloat32Array? {
        guard let image = file.image else { return nil }
        var info = H5L_info_t()
        let found = Library.locked { H5Lget_info(handle.id, path, &info, chdf5_p_default()) }
        guard found >= 0, info.type == H5L_TYPE_HARD else { return nil }
        return image.float32Array(headerAt: info.u.address)
    }
}
