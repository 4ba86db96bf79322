import Foundation

/// Writes a file so that readers see either the old file or the complete new one, never a part:
/// `body` writes to a temporary file in the same folder, which is then flushed to disk (fsync) and
/// renamed over `path` (rename is atomic within one file system); on any error the temporary
/// file is removed and `path` is untouched. A missing folder is reported before `body` runs, and
/// errors name `path`, never the temporary file.
public func writeAtomically(to path: String, _ body: (_ temporaryPath: String) throws -> Void) throws {
    let url = URL(fileURLWithPath: path)
    let folder = url.deletingLastPathComponent().path
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
        throw KerasFormatError(.io, file: path, found: "no such directory \(folder)")
    }
    let temporary = "\(folder)/.\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
    do {
        try body(temporary)
        try synchronize(temporary, reportedAs: path)
        guard rename(temporary, path) == 0 else { throw posixError("rename", path) }
        try? synchronize(folder, reportedAs: folder)
    } catch {
        unlink(temporary)
        throw error
    }
}

/// fsync(2) of a file or folder; a failure names `reportedPath`.
private func synchronize(_ path: String, reportedAs reportedPath: String) throws {
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { throw posixError("open", reportedPath) }
    defer { close(descriptor) }
    guard fsync(descriptor) == 0 else { throw posixError("fsync", reportedPath) }
}

private func posixError(_ operation: String, _ path: String) -> KerasFormatError {
    KerasFormatError(.io, file: path, found: "\(operation): \(String(cString: strerror(errno)))")
}
