import Foundation
import ReadLimits
import ZIPFoundation

/// A `.keras` archive (zip) opened for reading a hostile file safely: each entry's declared sizes are
/// checked against the archive's size and the read budget (`ReadLimits`) before it is read, and its
/// bytes are counted as they arrive, so a fuzzed ZIP64 size or an inflation bomb ends in an error
/// instead of a hang or gigabytes in memory. Entries are read into memory, never extracted to disk.
struct ArchiveReader {
    let path: String
    private let archive: Archive
    private let size: Int
    /// The most bytes one entry may inflate into.
    let budget: Int

    /// Opens the zip at `path`; throws `.unknownFormat` for anything ZIPFoundation cannot read as one,
    /// saying it `expected` that kind of zip.
    init(_ path: String, expected: String = "a .keras archive (zip)") throws {
        guard let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int else {
            throw KerasFormatError(.io, file: path, found: "no such file")
        }
        do {
            archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
        } catch {
            throw KerasFormatError(
                .unknownFormat, file: path, expected: expected, found: "unreadable zip: \(error) (corrupted or truncated?)")
        }
        try Self.checkZIP64Values(ofZipAt: path)
        self.path = path
        self.size = size
        budget = ReadLimits.budget(forSourceOf: size)
    }

    /// The names of the archive's entries, in the central directory's order.
    var entryNames: [String] { archive.map(\.path) }

    /// The bytes of entry `name`; nil when the archive has none.
    func contents(of name: String) throws -> Data? {
        guard let entry = archive[name] else { return nil }
        func refuse(_ expected: String, _ found: String) -> KerasFormatError {
            KerasFormatError(.malformed, file: path, layer: name, expected: expected, found: found)
        }
        let declared = entry.uncompressedSize, stored = entry.compressedSize
        guard entry.type == .file else { throw refuse("a file entry", "a \(entry.type)") }
        guard stored <= UInt64(size), entry.isCompressed || stored == declared else {
            throw refuse("entry sizes that fit the \(size)-byte archive", "\(stored) stored bytes for \(declared) bytes")
        }
        guard declared <= UInt64(budget) else {
            throw refuse(
                "at most \(ReadLimits.describe(bytes: budget)) (\(ReadLimits.inflationRatio) × the archive's size; docs/security.md)",
                "an entry of \(ReadLimits.describe(bytes: Int(clamping: declared)))")
        }
        var data = Data()
        data.reserveCapacity(Int(declared))
        do {
            let checksum = try archive.extract(entry, skipCRC32: false) { chunk in
                // ZIPFoundation keeps asking for chunks of a stored entry past the end of the file (empty
                // ones): a size that lies would loop for ever without this.
                guard !chunk.isEmpty || data.count == Int(declared), data.count + chunk.count <= Int(declared) else {
                    throw refuse("\(declared) bytes (its declared size)", "\(data.count + chunk.count) bytes")
                }
                data.append(chunk)
            }
            guard data.count == Int(declared), checksum == entry.checksum else {
                throw refuse("\(declared) bytes with CRC-32 \(entry.checksum)", "\(data.count) bytes with CRC-32 \(checksum)")
            }
        } catch let error as KerasFormatError {
            throw error
        } catch {
            throw KerasFormatError(.io, file: path, layer: name, found: "cannot extract: \(error) (corrupted or truncated?)")
        }
        return data
    }
}
