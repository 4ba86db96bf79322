import Foundation

/// Writes a file so that readers see either the old file or the complete new one, never a part:
/// `body` writes to a temporary file in the same folder, which is then flushed to disk (fsync) and
/// renamed over `path` (rename is atomic within one file system); on any error the temporary
/// file is removed and `path` is untouched.
public func writeAtomically(to path: String, _ body: (_ temporaryPath: String) throws -> Void) throws {
    let url = URL(fileURLWithPath: path)
    let folder = url.deletingLastPathComponent().path
    let temporary = "\(folder)/.\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
    do {
        try body(temporary)
        try synchronize(temporary)
        guard rename(temporary, path) == 0 else { throw posixError("rename to \(path)") }
        try? synchronize(folder)
    } catch {
        unlink(temporary)
        throw error
    }
}

/// fsync(2) of a file or folder.
private func synchronize(_ path: String) throws {
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { throw posixError("open \(path)") }
    defer { close(descriptor) }
    guard fsync(descriptor) == 0 else { throw posixError("fsync \(path)") }
}

private func posixError(_ operation: String) -> KerasFormatError {
    KerasFormatError(.io, file: operation, found: String(cString: strerror(errno)))
}
