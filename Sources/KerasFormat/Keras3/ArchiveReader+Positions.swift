import Foundation

/// ZIPFoundation 0.9.20 turns the 64-bit positions a ZIP64 archive declares into `off_t` and adds
/// sizes to them without overflow checks: a central directory said to start at 2^63 or later (libFuzzer
/// found one in a `.pth`: `fuzz_zip64_directory_offset.pth`) ends the process with a Swift trap while
/// it lists the entries. Before it lists any, the ZIP64 values are read here where ZIPFoundation reads
/// them and held below 2^62, which no archive of less than 2^62 bytes exceeds, so that every position
/// ZIPFoundation derives from them (offset + header + names + size) stays within `off_t`.
extension ArchiveReader {
    /// The largest ZIP64 offset or size accepted: a sum of two of them and a header stays below 2^63.
    static let largestZIP64Value: UInt64 = 1 << 62 - 1

    /// Throws `.malformed` when a ZIP64 value ZIPFoundation would read from the zip at `path` — the
    /// ZIP64 end-of-central-directory record's directory offset, each directory entry's ZIP64 sizes and
    /// local header offset — exceeds `largestZIP64Value`. The walk mirrors ZIPFoundation's
    /// (`Archive.scanForEndOfCentralDirectoryRecord`, `makeIterator`); it reads the file's end and
    /// its central directory, the whole file only when a comment hides the end record further back.
    static func checkZIP64Values(ofZipAt path: String) throws {
        guard let file = FileHandle(forReadingAtPath: path) else { throw KerasFormatError(.io, file: path, found: "unreadable") }
        defer { try? file.close() }
        do {
            if let found = try firstLargeZIP64Value(in: file) {
                throw KerasFormatError(.malformed, file: path, expected: "ZIP64 offsets and sizes below 2^62", found: found)
            }
        } catch let error as KerasFormatError {
            throw error
        } catch {
            throw KerasFormatError(.io, file: path, found: "cannot read: \(error)")
        }
    }

    /// Where ZIPFoundation would meet a ZIP64 value over `largestZIP64Value` in `file`, described; nil for none.
    private static func firstLargeZIP64Value(in file: FileHandle) throws -> String? {
        let size = try file.seekToEnd()
        // The end record (22 bytes, a comment of up to 65 535) and the ZIP64 record and locator before it (76).
        var window = try Window(file, from: size - min(size, 65_633))
        var end = window.lastEndRecord(size: size)
        if end.map({ $0 - 76 < Int(window.start) }) ?? true, window.start > 0 {
            window = try Window(file, from: 0)
            end = window.lastEndRecord(size: size)
        }
        guard let end else { return nil }
        var directory = window.value(end + 16, UInt32.self)!, entries = window.value(end + 10, UInt16.self)!
        // The ZIP64 record counts only with its locator right before the end record (ZIPFoundation's rule).
        let record = end - 76
        if record > 0, window.value(end - 20, UInt32.self) == 0x0706_4b50, window.value(record, UInt32.self) == 0x0606_4b50 {
            directory = window.value(record + 48, UInt64.self)!
            entries = window.value(record + 32, UInt64.self)!
            guard directory <= largestZIP64Value else { return "a central directory at byte \(directory)" }
        }
        if directory < window.start { window = try Window(file, from: directory) }
        // Each directory entry: 46 bytes, its name, extra field and comment; ZIPFoundation stops at the first unreadable one.
        var at = Int(directory), index: UInt64 = 0
        while index < entries, window.value(at, UInt32.self) == 0x0201_4b50, let nameLength = window.value(at + 28, UInt16.self),
            let extraLength = window.value(at + 30, UInt16.self), let commentLength = window.value(at + 32, UInt16.self),
            window.value(at + 45 + Int(nameLength + extraLength + commentLength), UInt8.self) != nil
        {
            let extra = at + 46 + Int(nameLength)
            // Uncompressed size, compressed size, local header offset: as many as the field holds.
            if let field = window.zip64Field(in: extra..<extra + Int(extraLength)) {
                for slot in stride(from: field.lowerBound, to: field.upperBound - 7, by: 8) {
                    if let number = window.value(slot, UInt64.self), number > largestZIP64Value {
                        return "\(number) in the ZIP64 field of central directory entry \(index)"
                    }
                }
            }
            at += 46 + Int(nameLength + extraLength + commentLength)
            index += 1
        }
        return nil
    }

    /// The bytes of a file from `start` to its end, addressed by file position.
    private struct Window {
        let start: UInt64
        let bytes: [UInt8]

        init(_ file: FileHandle, from start: UInt64) throws {
            try file.seek(toOffset: start)
            self.start = start
            bytes = [UInt8](try file.readToEnd() ?? Data())
        }

        /// The little-endian `type` at file position `at`; nil outside the window.
        func value<T: FixedWidthInteger>(_ at: Int, _ type: T.Type) -> UInt64? {
            let offset = at - Int(start)
            guard offset >= 0, offset <= bytes.count - MemoryLayout<T>.size else { return nil }
            return bytes.withUnsafeBytes { UInt64(T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self))) }
        }

        /// The position of the last end-of-central-directory signature at least 22 bytes before the
        /// file's end, as ZIPFoundation searches it (backwards); nil when the window holds none.
        func lastEndRecord(size: UInt64) -> Int? {
            var at = Int(size) - 22
            while at >= Int(start) {
                if value(at, UInt32.self) == 0x0605_4b50 { return at }
                at -= 1
            }
            return nil
        }

        /// The data of the first ZIP64 extended information field (header 0x0001) among the extra
        /// fields in `extra`, as `Entry.ZIP64ExtendedInformation.scanForZIP64Field` finds it.
        func zip64Field(in extra: Range<Int>) -> Range<Int>? {
            var at = extra.lowerBound
            while at < extra.upperBound - 4, let header = value(at, UInt16.self), let size = value(at + 2, UInt16.self) {
                let next = at + 4 + Int(size)
                guard next <= extra.upperBound else { return nil }
                if header == 0x0001 { return at + 4..<next }
                at = next
            }
            return nil
        }
    }
}
