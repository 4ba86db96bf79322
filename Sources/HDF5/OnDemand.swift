/// A libhdf5 object (a `Handle`, a `DataObject`) opened the first time a call needs it.
///
/// Groups, datasets and attributes found in the file's mapped bytes (`StoredGroup`) open nothing
/// until asked something only libhdf5 answers: opening them costs more than the bytes' answers.
/// The open runs under the library lock, so threads sharing the object open it once.
final class OnDemand<Object> {
    /// The object when it was open at creation; read without the lock, as it never changes.
    private let initial: Object?
    /// The object once opened on demand; read and written under the library lock.
    private var opened: Object?

    /// An object already open, or (nil) one to open on first use.
    init(_ object: Object? = nil) {
        initial = object
    }

    /// The object, opened now with `open` if it was not yet.
    func get(opening open: () throws -> Object) throws -> Object {
        if let initial { return initial }
        return try Library.locked {
            if let opened { return opened }
            let object = try open()
            opened = object
            return object
        }
    }
}

/// A group or dataset, whose libhdf5 identifier its `Attributes` use (opening it on demand).
protocol AttributeOwner: AnyObject {
    var handle: Handle { get throws }
}
