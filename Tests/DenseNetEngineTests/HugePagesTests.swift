import Foundation
import Testing
@testable import DenseNetEngine

/// Activation buffers of two huge pages and more start on a huge page and are advised as huge pages
/// (the kernel marks the mapping "hg" in /proc/self/smaps whether or not it can give them); smaller
/// ones are ordinary allocations, and no buffer's partial huge page is advised, so no resident size grows.
@Suite struct HugePagesTests {
    /// The VmFlags of the mapping that holds `address`, from /proc/self/smaps.
    static func mappingFlags(of address: UnsafeRawPointer) throws -> [String] {
        let target = UInt(bitPattern: address)
        var inside = false
        // read to the end: String(contentsOfFile:) stops at a /proc file's first page
        let smaps = try #require(FileHandle(forReadingAtPath: "/proc/self/smaps")).readDataToEndOfFile()
        for line in String(decoding: smaps, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ")
            if let range = fields.first, range.contains("-"), !range.hasSuffix(":") {
                let bounds = range.split(separator: "-").compactMap { UInt($0, radix: 16) }
                inside = bounds.count == 2 && bounds[0] <= target && target < bounds[1]
            } else if inside, fields.first == "VmFlags:" {
                return fields.dropFirst().map(String.init)
            }
        }
        return []
    }

    @Test func largeBuffersAreAdvisedAsHugePages() throws {
        let large = allocateFloats(2 * hugePageBytes / 4 + 5)
        defer { large.deallocate() }
        #expect(UInt(bitPattern: large) % UInt(hugePageBytes) == 0)
        #expect(try Self.mappingFlags(of: large).contains("hg"))
    }

    /// What is advised, by size. (Not read back from smaps for the small buffers: malloc may hand out
    /// memory of its arenas that an earlier large buffer advised.)
    @Test func onlyWholeHugePagesOfLargeBuffersAreAdvised() {
        #expect(hugePagesAdvised(bytes: 2 * hugePageBytes - 4) == 0)
        #expect(hugePagesAdvised(bytes: 2 * hugePageBytes) == 2 * hugePageBytes)
        #expect(hugePagesAdvised(bytes: 3 * hugePageBytes - 4) == 2 * hugePageBytes)
    }
}
