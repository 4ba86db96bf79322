/// A dataset: an n-dimensional array of one element type, stored contiguously.
public final class Dataset {
    /// The file this dataset is in; kept open while the dataset is.
    public let file: File
    /// The absolute path, e.g. "/dense/kernel:0".
    public let path: String
    let object: DataObject

    init(object: DataObject, file: File, path: String) {
        self.object = object
        self.file = file
        self.path = path
    }

    /// The attributes of this dataset.
    public var attributes: Attributes {
        Attributes(owner: object.handle, file: file, ownerDescription: "dataset \(path)")
    }

    /// The stored element type (H5Dget_type), without reading data.
    public func dataType() throws -> DataType { try object.dataType() }

    /// The extent of each dimension, empty for scalars (H5Dget_space), without reading data.
    public func shape() throws -> [Int] { try object.shape() }

    /// All elements as `T` (H5Dread); throws `.typeMismatch` unless `T` reads the stored type.
    public func read<T: DataElement>(as type: T.Type = T.self) throws -> NDArray<T> {
        try object.read(as: type)
    }

    /// All elements as `T` (H5Dread) straight into `buffer`, which must hold exactly that many;
    /// throws `.typeMismatch` unless `T` reads the stored type, `.invalidArgument` on a count mismatch.
    public func read<T: DataElement & Numeric>(into buffer: UnsafeMutableBufferPointer<T>) throws {
        try object.read(into: buffer)
    }

    /// All elements as uninterpreted bytes of the stored numeric or bool type (H5Dread).
    public func readRawBytes() throws -> RawArray { try object.readRaw() }

    /// All elements of a string dataset, either length form, with their format (H5Dread).
    public func readStrings() throws -> StringArray { try object.readStrings() }
}
