import Foundation

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
            let version = int(base + 8, 1), version <= 1, int(base + 13, 1) == 8, int(base + 14, 1) == 8
        else { return nil }
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
                    p + 8 + length <= current.upperBound, current.upperBound <= raw.count
                else { return false }
                let message = Message(type: type, flags: flags, data: p + 8..<p + 8 + length)
                if type == 0x10 {  // continuation: address and length of another block of messages
                    guard length >= 16, let next = address(p + 8), let nextSize = int(p + 16, 8),
                        nextSize <= raw.count - next
                    else { return false }
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
