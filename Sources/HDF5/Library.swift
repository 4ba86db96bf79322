import CHDF5
import Foundation

/// The one gate to libhdf5: every C call in this module goes through `Library.call`.
///
/// Serial libhdf5 keeps global state (the id table, the error stack) without locks, so
/// `Library` serializes all calls with one recursive lock. Recursive because a failing call
/// walks the error stack (more C calls) while holding it, and handle closes may nest.
enum Library {
    private static let lock = NSRecursiveLock()

    /// libhdf5 registers an exit handler that closes every file still open, flushing it; after a
    /// write failed (ENOSPC: the disk is full) that flush dereferences NULL in 1.10 and a clean
    /// exit 2 became SIGSEGV. Asked before any other call (H5dont_atexit), it installs none: the
    /// files a failed write leaves open are temporary ones, already removed, and the OS frees the rest.
    private static let withoutExitHandler: Void = { H5dont_atexit() }()

    /// Runs `body` while holding the library lock. First silences HDF5's automatic stderr
    /// error printing (H5Eset_auto2): Debian's build is thread-safe, which makes that setting
    /// per thread, so it is repeated on every entry rather than once per process.
    static func locked<R>(_ body: () throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        _ = withoutExitHandler
        H5Eset_auto2(chdf5_e_default(), nil, nil)
        return try body()
    }

    /// Calls a C function returning an id or status; a negative result throws `HDF5Error`
    /// carrying `function`, `context` and the message on top of HDF5's error stack.
    @discardableResult
    static func call<R: BinaryInteger>(
        _ function: String, _ context: @autoclosure () -> ErrorContext, _ body: () -> R
    ) throws -> R {
        try locked {
            let result = body()
            guard result >= 0 else {
                throw HDF5Error(library: function, context: context(), stack: errorStackMessage())
            }
            return result
        }
    }

    /// Calls a C function returning an identifier and wraps it in an owning `Handle`.
    static func open(
        _ kind: Handle.Kind, _ function: String, _ context: @autoclosure () -> ErrorContext,
        _ body: () -> hid_t
    ) throws -> Handle {
        Handle(try call(function, context(), body), kind: kind)
    }

    /// Reads a name through the usual two-call protocol (size with a nil buffer, then fill),
    /// as H5Iget_name, H5Fget_name, H5Lget_name_by_idx and H5Aget_name require.
    static func name(
        _ function: String, _ context: @autoclosure () -> ErrorContext,
        _ body: (UnsafeMutablePointer<CChar>?, Int) -> Int
    ) throws -> String {
        let length = try call(function, context()) { body(nil, 0) }
        var buffer = [CChar](repeating: 0, count: length + 1)
        try call(function, context()) { body(&buffer, buffer.count) }
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The top (API-level) message of the current error stack plus its innermost cause,
    /// walked with H5Ewalk2, e.g. "unable to open file (file signature not found)".
    private static func errorStackMessage() -> String {
        var messages: [String] = []
        withUnsafeMutablePointer(to: &messages) { messages in
            _ = H5Ewalk2(
                chdf5_e_default(), H5E_WALK_DOWNWARD,
                { _, entry, data in
                    let messages = data!.assumingMemoryBound(to: [String].self)
                    if let description = entry?.pointee.desc {
                        // One line: a failed write's description holds a newline (after ctime's date).
                        messages.pointee.append(String(cString: description).replacingOccurrences(of: "\n", with: " "))
                    }
                    return 0
                }, messages)
        }
        guard let top = messages.first else { return "unknown HDF5 error" }
        guard let cause = messages.last, cause != top else { return top }
        return "\(top) (\(cause))"
    }
}
