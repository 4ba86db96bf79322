/// A libhdf5 object (a `Handle`, a `DataObject`) that is opened the first time a call needs it.
///
/// Groups, datasets and attributes found in the file's mapped bytes (`StoredGroup`) open nothing
/// until asked something only libhdf5 answers: opening them costs more than the bytes' answers.
/// The open runs under the library lock, so threads sharing the object open it once.
final class OnDemand<Object>: @unchecked Sendable {
    /// nil once opened at creation; otherwise how to open, called at most once.
    private let open: (() throws -> Object)?
    private var object: Object?

    /// An object that is already open.
    init(_ object: Object) {
        self.object = object
        open = nil
    }

    /// An object that `open` opens on first use.
    init(open: @escaping () throws -> Object) {
        self.open = open
    }

    /// The object, opened now if it was not yet.
    func get() throws -> Object {
        guard let open else { return object! }  // opened at creation, never written again
        return try Library.locked {
            if let object { return object }
            let opened = try open()
            object = opened
            return opened
        }
    }
}
