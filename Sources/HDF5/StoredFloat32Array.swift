import Foundation
import ReadLimits

/// A float32 dataset's shape and bytes, found in the in-memory bytes of a file opened with
/// `File.mapIntoMemory` (see `StoredGroup.float32Array`).
struct StoredFloat32Array {
    /// The extent of each dimension.
    let shape: [Int]
    /// The elements, little-endian IEEE float32 in row-major order: a slice of the file's bytes.
    let bytes: Data
}

extension ImageReader {
    /// The shape and data range of the dataset whose version-1 object header is at `at`, when the
    /// header says: simple dataspace, little-endian IEEE float32, contiguous storage allocated inside
    /// the file, no filters and no external files. nil for anything else, which libhdf5 then reads
    /// (or rejects) itself.
    func float32Array(headerAt at: Int) -> (shape: [Int], bytes: Range<Int>)? {
        var shape: [Int]?, isFloat32 = false, storage: (at: Int, size: Int)?, readable = true
        let parsed = forEachMessage(ofHeaderAt: at) { message in
            let d = message.data.lowerBound
            switch message.type {
            case _ where message.isShared:
                break
            case 0x01:
                shape = dataspace(message.data)
                readable = shape != nil
            case 0x03:  // datatype: exactly H5T_IEEE_F32LE
                isFloat32 =
                    message.data.count >= 20 && int(d, 1).map { $0 & 0x0F } == 1
                    && int(d + 1, 3) == 0x1F20 && int(d + 4, 4) == 4 && int(d + 8, 4) == 32 << 16
                    && int(d + 12, 4) == 23 << 24 | 8 << 8 | 23 && int(d + 16, 4) == 127
            case 0x08:  // layout, version 3 or 4, contiguous
                if let version = int(d, 1), version == 3 || version == 4, int(d + 1, 1) == 1,
                    let address = address(d + 2), let size = int(d + 10, 8)
                {
                    storage = (address, size)
                } else {
                    readable = false
                }
            case 0x07, 0x0B:  // external data files, filter pipeline
                readable = false
            default:
                break
            }
            return readable
        }
        guard parsed, readable, let shape, isFloat32, let storage,
            ReadLimits.product(shape, times: 4) == storage.size,
            storage.size <= raw.count - storage.at
        else { return nil }
        return (shape, storage.at..<storage.at + storage.size)
    }

    /// The extents of the dataspace message in `data` (version 1, or 2 unless null); empty for a scalar.
    func dataspace(_ data: Range<Int>) -> [Int]? {
        let d = data.lowerBound
        guard let version = int(d, 1), let rank = int(d + 1, 1),
            version == 1 || (version == 2 && int(d + 3, 1) != 2)
        else { return nil }
        let dims = d + (version == 1 ? 8 : 4)
        guard dims + 8 * rank <= data.upperBound else { return nil }
        let extents = (0..<rank).compactMap { int(dims + 8 * $0, 8) }
        return extents.count == rank ? extents : nil
    }
}
