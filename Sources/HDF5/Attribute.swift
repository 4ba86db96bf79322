/// An open attribute of a group or dataset: a small named array or scalar.
public final class Attribute {
    /// The file this attribute is in; kept open while the attribute is.
    public let file: File
    /// The attribute's name.
    public let name: String
    let object: DataObject

    init(object: DataObject, file: File, name: String) {
        self.object = object
        self.file = file
        self.name = name
    }

    /// The stored element type (H5Aget_type), without reading data.
    public func dataType() throws -> DataType { try object.dataType() }

    /// The extent of each dimension, empty for scalars (H5Aget_space), without reading data.
    public func shape() throws -> [Int] { try object.shape() }

    /// All elements as `T` (H5Aread); throws `.typeMismatch` unless `T` reads the stored type.
    public func read<T: DataElement>(as type: T.Type = T.self) throws -> NDArray<T> {
        try object.read(as: type)
    }

    /// All elements as uninterpreted bytes of the stored numeric or bool type (H5Aread).
    public func readRawBytes() throws -> RawArray { try object.readRaw() }

    /// All strings, either length form, with the format found (H5Aread).
    public func readStrings() throws -> StringArray { try object.readStrings() }
}
