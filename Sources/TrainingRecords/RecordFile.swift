import Foundation

/// A record file that cannot be written or read; the CLI prints it as one line, exit status 2.
public struct RecordError: Error, CustomStringConvertible {
    /// The record file that failed.
    public let path: String
    /// What went wrong, e.g. `cannot be written: …` with the system's reason.
    public let problem: String
    /// `path: problem`, the one line the CLI prints.
    public var description: String { "\(path): \(problem)" }
}

/// Whole-file replacement and appends for the record files, with errors that name the file.
enum RecordFile {
    /// Replaces `path` with `data` atomically (Foundation writes a temporary file and renames it),
    /// so a reader, or a crash, never sees half a file.
    static func replace(_ path: String, with data: Data) throws {
        do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw RecordError(path: path, problem: "cannot be written: \(error.localizedDescription)")
        }
    }

    /// Appends `data` and flushes it to the file, as Keras flushes after each row.
    static func append(_ path: String, _ data: Data) throws {
        do {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: data)
            try handle.synchronize()
        } catch {
            throw RecordError(path: path, problem: "cannot be appended to: \(error.localizedDescription)")
        }
    }
}
