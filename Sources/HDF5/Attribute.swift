/// An attribute of a group or dataset: a small named array or scalar.
///
/// One found in the file's mapped bytes answers `shape()`, `dataType()` of strings and
/// `readStrings()` from there, and is opened (H5Aopen) only when another call needs libhdf5.
public final class Attribute {
    /// The file this attribute is in; kept open while the attribute is.
    public let file: File
    /// The attribute's name.
    public let name: String
    /// Its shape and strings as decoded from the mapped bytes, if found there.
    private let stored: StoredAttribute?
    private let opened: OnDemand<DataObject>
    /// Where an attribute decoded from the mapped bytes is opened from.
    private let owner: Attributes?

    /// An attribute opened through libhdf5.
    init(object: DataObject, file: File, name: String) {
        opened = OnDemand(object)
        stored = nil
        owner = nil
        self.file = file
        self.name = name
    }

    /// An attribute decoded from the mapped bytes, opened from `owner` through libhdf5 when needed.
    init(stored: StoredAttribute, owner: Attributes, file: File, name: String) {
        opened = OnDemand()
        self.stored = stored
        self.owner = owner
        self.file = file
        self.name = name
    }

    /// The libhdf5 attribute, opened now (H5Aopen) if it came from the mapped bytes.
    private func object() throws -> DataObject {
        try opened.get { try owner!.open(name) }
    }

    /// The stored element type (H5Aget_type), without reading data.
    public func dataType() throws -> DataType {
        if stored?.strings != nil { return .string }
        return try object().dataType()
    }

    /// The extent of each dimension, empty for scalars (H5Aget_space), without reading data.
    public func shape() throws -> [Int] {
        if let stored { return stored.shape }
        return try object().shape()
    }

    /// All elements as `T` (H5Aread); throws `.typeMismatch` unless `T` reads the stored type.
    public func read<T: DataElement>(as type: T.Type = T.self) throws -> NDArray<T> {
        try object().read(as: type)
    }

    /// All elements as uninterpreted bytes of the stored numeric or bool type (H5Aread).
    public func readRawBytes() throws -> RawArray { try object().readRaw() }

    /// All strings, either length form, with the format found (H5Aread).
    public func readStrings() throws -> StringArray {
        if let strings = stored?.strings { return strings }
        if var refusal = stored?.refusal {
            refusal.context = ErrorContext(file: file.path, object: "attribute \(name)")
            throw refusal
        }
        return try object().readStrings()
    }
}
