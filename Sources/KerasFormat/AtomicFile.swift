import Foundation

/// Writes a file so that readers see either the old file or the complete new one, never a part:
/// `body` writes to a temporary file in the same folder, which is then flushed to disk (fsync) and
/// renamed over `path` (rename is atomic within one file system); on any error the temporary
/// file is removed and `path` is untouched. A missing folder is reported before `body` runs,
/// errors name `path`, never the temporary file, and temporary files of `path` a killed run left
/// behind are removed first (`removeStaleTemporaries`).
public func writeAtomically(to path: String, _ body: (_ temporaryPath: String) throws -> Void) throws {
    let url = URL(fileURLWithPath: path)
    let folder = url.deletingLastPathComponent().path
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
        throw KerasFormatError(.io, file: path, found: "no such directory \(folder)")
    }
    removeStaleTemporaries(of: url.lastPathComponent, in: folder)
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

/// Removes the temporary files `writeAtomically` names `.<name>.<pid>.<random>.tmp` (and the
/// `….tmp.<suffix>` files written beside one) whose process no longer runs: what a killed or crashed
/// run leaves. A live process's files, even another's, are left alone.
func removeStaleTemporaries(of name: String, in folder: String) {
    let prefix = ".\(name)."
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
    for entry in entries where entry.hasPrefix(prefix) {
        let parts = entry.dropFirst(prefix.count).split(separator: ".", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count >= 3, let pid = pid_t(parts[0]), UInt32(parts[1]) != nil, parts[2] == "tmp",
            kill(pid, 0) != 0, errno == ESRCH
        else { continue }
        unlink("\(folder)/\(entry)")
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
