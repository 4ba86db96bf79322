import CHDF5
import Foundation

/// A dataset: an n-dimensional array of one element type, stored contiguously.
///
/// A plain float32 dataset found in the file's mapped bytes (little-endian IEEE float32, contiguous,
/// allocated, unfiltered) answers `dataType()`, `shape()` and `readFloat32Bytes()` from there, and is
/// opened (H5Dopen2) only when another call needs libhdf5.
public final class Dataset: AttributeOwner {
    /// The file this dataset is in; kept open while the dataset is.
    public let file: File
    /// The absolute path, e.g. "/dense/kernel:0".
    public let path: String
    /// Its shape and elements in the mapped bytes, if found there.
    private let stored: StoredFloat32Array?
    private let opened: OnDemand<DataObject>

    /// A dataset opened through libhdf5.
    init(object: DataObject, file: File, path: String) {
        opened = OnDemand(object)
        stored = nil
        self.file = file
        self.path = path
    }

    /// A float32 dataset found in the mapped bytes at absolute `path`.
    init(stored: StoredFloat32Array, file: File, path: String) {
        opened = OnDemand()
        self.stored = stored
        self.file = file
        self.path = path
    }

    /// The libhdf5 dataset, opened now (H5Dopen2) if it came from the mapped bytes.
    private func object() throws -> DataObject {
        try opened.get {
            let context = ErrorContext(file: file.path, object: "dataset \(path)")
            let fileID = file.handle.id
            let handle = try Library.open(.dataset, "H5Dopen2", context) { H5Dopen2(fileID, path, chdf5_p_default()) }
            return DataObject(handle: handle, kind: .dataset, context: context, byteBudget: file.readBudget)
        }
    }

    var handle: Handle {
        get throws { try object().handle }
    }

    /// The attributes of this dataset.
    public var attributes: Attributes {
        Attributes(owner: self, stored: nil, file: file, ownerKind: "dataset", ownerPath: path)
    }

    /// The stored element type (H5Dget_type), without reading data.
    public func dataType() throws -> DataType {
        if stored != nil { return .float32 }
        return try object().dataType()
    }

    /// The extent of each dimension, empty for scalars (H5Dget_space), without reading data.
    public func shape() throws -> [Int] {
        if let stored { return stored.shape }
        return try object().shape()
    }

    /// All elements as `T` (H5Dread); throws `.typeMismatch` unless `T` reads the stored type.
    public func read<T: DataElement>(as type: T.Type = T.self) throws -> NDArray<T> {
        try object().read(as: type)
    }

    /// All elements as `T` (H5Dread) straight into `buffer`, which must hold exactly that many;
    /// throws `.typeMismatch` unless `T` reads the stored type, `.invalidArgument` on a count mismatch.
    public func read<T: DataElement & Numeric>(into buffer: UnsafeMutableBufferPointer<T>) throws {
        try object().read(into: buffer)
    }

    /// All elements of a float32 dataset as native `Float`s in row-major order: a slice of the mapped
    /// file (no copy) when found there, else read (H5Dread) into new bytes; throws `.typeMismatch`
    /// for any other stored type.
    public func readFloat32Bytes() throws -> Data {
        if let stored { return stored.bytes }
        let object = try self.object()
        var bytes = Data(count: try object.elementCount() * MemoryLayout<Float>.size)
        try bytes.withUnsafeMutableBytes { try object.read(into: $0.bindMemory(to: Float.self)) }
        return bytes
    }

    /// All elements as uninterpreted bytes of the stored numeric or bool type (H5Dread).
    public func readRawBytes() throws -> RawArray { try object().readRaw() }

    /// All elements of a string dataset, either length form, with their format (H5Dread).
    public func readStrings() throws -> StringArray { try object().readStrings() }
}
