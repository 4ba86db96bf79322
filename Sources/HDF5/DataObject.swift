import CHDF5
import ReadLimits

/// The shared I/O path of datasets and attributes, the two objects holding typed elements in
/// a dataspace. Only the C calls differ (H5Dread vs H5Aread, ...); everything else is here once.
struct DataObject {
    enum Kind { case dataset, attribute }

    let handle: Handle
    let kind: Kind
    let context: ErrorContext
    /// The most bytes its elements may declare (`File.readBudget`): checked by `shape()`, which
    /// every read asks before allocating.
    var byteBudget = Int.max

    /// The stored datatype (H5Dget_type / H5Aget_type).
    func storedType() throws -> Handle {
        let id = handle.id
        return kind == .dataset
            ? try Library.open(.datatype, "H5Dget_type", context) { H5Dget_type(id) }
            : try Library.open(.datatype, "H5Aget_type", context) { H5Aget_type(id) }
    }

    /// The stored element type, classified.
    func dataType() throws -> DataType {
        try DataType(storedType(), context)
    }

    /// Extent of each dimension (H5Dget_space / H5Aget_space, H5Sget_simple_extent_dims).
    func shape() throws -> [Int] {
        let space = try dataspace()
        let rank = try Library.call("H5Sget_simple_extent_ndims", context) {
            H5Sget_simple_extent_ndims(space.id)
        }
        if rank == 0, Library.locked({ H5Sget_simple_extent_type(space.id) }) == H5S_NULL {
            throw HDF5Error(
                .invalidArgument, operation: "read", context: context,
                detail: "null dataspace (h5py.Empty) is not supported")
        }
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        try Library.call("H5Sget_simple_extent_dims", context) {
            H5Sget_simple_extent_dims(space.id, &dims, nil)
        }
        let shape = dims.map { Int(exactly: $0) ?? -1 }
        let type = try storedType()
        let elementSize = Library.locked { H5Tget_size(type.id) }
        guard let bytes = ReadLimits.product(shape, times: max(1, elementSize)), bytes <= byteBudget else {
            throw HDF5Error(
                .tooLarge, operation: "read", context: context,
                detail: "shape \(dims) of \(elementSize)-byte elements declares more than the read budget of "
                    + "\(ReadLimits.describe(bytes: byteBudget)) (\(ReadLimits.inflationRatio) × the file's size; docs/security.md)")
        }
        return shape
    }

    /// The number of elements, within the read budget (`shape()`).
    func elementCount() throws -> Int {
        try shape().reduce(1, *)
    }

    private func dataspace() throws -> Handle {
        let id = handle.id
        return kind == .dataset
            ? try Library.open(.dataspace, "H5Dget_space", context) { H5Dget_space(id) }
            : try Library.open(.dataspace, "H5Aget_space", context) { H5Aget_space(id) }
    }

    /// Reads every element converted to `memoryType` into `buffer` (H5Dread / H5Aread).
    func read(_ memoryType: Handle, into buffer: UnsafeMutableRawPointer) throws {
        try read(memoryType.id, into: buffer)
    }

    private func read(_ memoryType: hid_t, into buffer: UnsafeMutableRawPointer) throws {
        let id = handle.id
        if kind == .dataset {
            try Library.call("H5Dread", context) {
                H5Dread(id, memoryType, chdf5_s_all(), chdf5_s_all(), chdf5_p_default(), buffer)
            }
        } else {
            try Library.call("H5Aread", context) { H5Aread(id, memoryType, buffer) }
        }
    }

    /// Writes every element from `buffer`, laid out as `memoryType` (H5Dwrite / H5Awrite).
    func write(_ memoryType: Handle, from buffer: UnsafeRawPointer) throws {
        let id = handle.id
        if kind == .dataset {
            try Library.call("H5Dwrite", context) {
                H5Dwrite(id, memoryType.id, chdf5_s_all(), chdf5_s_all(), chdf5_p_default(), buffer)
            }
        } else {
            try Library.call("H5Awrite", context) { H5Awrite(id, memoryType.id, buffer) }
        }
    }

    /// The elements' bytes in native layout, typed by the stored element type.
    func readRaw() throws -> RawArray {
        let type = try dataType()
        let shape = try shape()
        let memoryType = try type.makeType(context)
        var bytes = [UInt8](repeating: 0, count: shape.reduce(1, *) * (type.size ?? 0))
        if !bytes.isEmpty {
            try bytes.withUnsafeMutableBytes { try read(memoryType, into: $0.baseAddress!) }
        }
        return RawArray(dataType: type, shape: shape, bytes: bytes)
    }

    /// The elements as `T`, after checking the stored type is one `T` reads.
    func read<T: DataElement>(as _: T.Type) throws -> NDArray<T> {
        let found = try dataType()
        guard T.canRead(found) else {
            throw HDF5Error(
                .typeMismatch(expected: T.dataType, found: found),
                operation: "read", context: context)
        }
        let raw = try readRaw()
        return NDArray(shape: raw.shape, scalars: T.decode(raw.bytes))
    }

    /// Reads the elements as `T` straight into `buffer`, which must hold exactly as many: no
    /// intermediate array, and HDF5 reads contiguous data of the native type directly into it.
    /// `Numeric` leaves out `Bool`, whose stored bytes need mapping to valid `Bool` values.
    func read<T: DataElement & Numeric>(into buffer: UnsafeMutableBufferPointer<T>) throws {
        let found = try dataType()
        guard T.canRead(found), let memoryType = found.nativeBase else {
            throw HDF5Error(
                .typeMismatch(expected: T.dataType, found: found),
                operation: "read", context: context)
        }
        let count = try elementCount()
        guard count == buffer.count else {
            throw HDF5Error(
                .invalidArgument, operation: "read", context: context,
                detail: "\(count) elements do not fit a buffer of \(buffer.count)")
        }
        guard let base = buffer.baseAddress else { return }
        try read(memoryType, into: base)
    }

    /// The strings, of either length form, with the format they were stored in.
    func readStrings() throws -> StringArray {
        let type = try storedType()
        let found = try DataType(type, context)
        guard found == .string else {
            throw HDF5Error(
                .typeMismatch(expected: .string, found: found),
                operation: "read", context: context)
        }
        let format = try StringFormat(type, context)
        let shape = try shape()
        let strings = try format.decode(count: shape.reduce(1, *), budget: byteBudget, context) { memoryType, buffer in
            try read(memoryType, into: buffer)
        }
        return StringArray(strings, shape: shape, format: format)
    }

    /// Creates a dataset or attribute named `name` under `parent` and writes `value` to it
    /// (H5Screate / H5Screate_simple, then H5Dcreate2 or H5Acreate2, then the write).
    static func create(
        _ kind: Kind, named name: String, in parent: Handle, linkCreation: Handle?,
        value: EncodedValue, context: ErrorContext
    ) throws -> DataObject {
        let dims = value.shape.map { hsize_t($0) }
        let space =
            dims.isEmpty
            ? try Library.open(.dataspace, "H5Screate", context) { H5Screate(H5S_SCALAR) }
            : try Library.open(.dataspace, "H5Screate_simple", context) {
                H5Screate_simple(Int32(dims.count), dims, nil)
            }
        let lcpl = linkCreation?.id ?? chdf5_p_default()
        let p = chdf5_p_default()
        let handle =
            kind == .dataset
            ? try Library.open(.dataset, "H5Dcreate2", context) {
                H5Dcreate2(parent.id, name, value.type.id, space.id, lcpl, p, p)
            }
            : try Library.open(.attribute, "H5Acreate2", context) {
                H5Acreate2(parent.id, name, value.type.id, space.id, p, p)
            }
        let object = DataObject(handle: handle, kind: kind, context: context)
        try value.write { try object.write(value.type, from: $0) }
        return object
    }
}
