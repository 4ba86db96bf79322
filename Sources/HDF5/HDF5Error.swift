/// Where an operation happened: the file and, inside it, the object ("dataset /dense/kernel:0").
public struct ErrorContext: Sendable, Equatable {
    /// The file path as the caller gave it.
    public var file: String?
    /// The object's kind and absolute path, e.g. "group /model_weights".
    public var object: String?

    /// A context naming a file and optionally an object in it.
    public init(file: String? = nil, object: String? = nil) {
        self.file = file
        self.object = object
    }
}

/// The one error type of the module: what failed, where, and why.
public struct HDF5Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// Why the operation failed.
    public enum Reason: Sendable, Equatable {
        /// The path does not exist.
        case fileNotFound
        /// The path is a directory.
        case isDirectory
        /// The file has zero bytes.
        case emptyFile
        /// The file lacks an HDF5 signature (H5Fis_hdf5 said no).
        case notHDF5
        /// Creating with `.failIfExists` found an existing file.
        case fileExists
        /// A write was attempted through a file opened `.readOnly`.
        case readOnly
        /// No link, attribute or group with that name.
        case notFound
        /// The stored element type is not the one asked for.
        case typeMismatch(expected: DataType, found: DataType)
        /// The caller passed values the operation cannot store (message in `detail`).
        case invalidArgument
        /// The object declares more bytes than the file may expand into (`ReadLimits`): refused
        /// before anything that large is allocated.
        case tooLarge
        /// Another process shrank the file while its mapped bytes were read (`File.checkMappedBytes`).
        case truncated
        /// A libhdf5 call returned failure; `detail` holds its error-stack message.
        case library(function: String)
    }

    /// Why the operation failed.
    public var reason: Reason
    /// The operation attempted, e.g. "open" or "read".
    public var operation: String
    /// The file and object involved.
    public var context: ErrorContext
    /// Human-readable detail, e.g. HDF5's own message.
    public var detail: String

    /// An error with an explicit detail message.
    public init(_ reason: Reason, operation: String, context: ErrorContext, detail: String) {
        self.reason = reason
        self.operation = operation
        self.context = context
        self.detail = detail
    }

    init(library function: String, context: ErrorContext, stack: String) {
        self.init(.library(function: function), operation: function, context: context, detail: Self.plainWords(stack))
    }

    /// libhdf5's message in the user's words where its own names internals: a truncated file's
    /// "unable to open file (truncated file: eof = 300, sblock->base_addr = 0, stored_eof = 1789784)"
    /// becomes "truncated: 300 of 1789784 bytes". Other messages are kept (the reason names the call).
    static func plainWords(_ stack: String) -> String {
        let truncated = /truncated file: eof = (\d+),.*stored_eof = (\d+)/
        if let match = stack.firstMatch(of: truncated) { return "truncated: \(match.1) of \(match.2) bytes" }
        return stack
    }

    /// One line: "dataset /a in w.h5: expected float32, found int64" or
    /// "cannot open /tmp/x.h5: not an HDF5 file (zero bytes)".
    public var description: String {
        let file = context.file ?? "<unknown file>"
        if let object = context.object {
            return "\(object) in \(file): \(detail)"
        }
        return "cannot \(operation) \(file): \(detail)"
    }
}

extension HDF5Error.Reason {
    /// The standard message for reasons whose text does not depend on HDF5's stack.
    var message: String {
        switch self {
        case .fileNotFound: "no such file"
        case .isDirectory: "is a directory"
        case .emptyFile: "not an HDF5 file (zero bytes)"
        case .notHDF5: "not an HDF5 file (no HDF5 signature)"
        case .fileExists: "file exists"
        case .readOnly: "file is open read-only"
        case .notFound: "not found"
        case .typeMismatch(let expected, let found): "expected \(expected), found \(found)"
        case .invalidArgument: "invalid argument"
        case .tooLarge: "larger than the read budget"
        case .truncated: "the file shrank while it was being read"
        case .library(let function): "\(function) failed"
        }
    }
}

extension HDF5Error {
    /// An error whose detail is the reason's standard message.
    init(_ reason: Reason, operation: String, context: ErrorContext) {
        self.init(reason, operation: operation, context: context, detail: reason.message)
    }
}
