import CHDF5

/// The attributes of one group or dataset (the file's are the root group's, as in h5py).
/// Writing an existing name replaces that attribute. The attributes of a group found in the file's
/// mapped bytes are read from there first (`names()`, `contains(_:)`, `attribute(_:)` and the reads
/// built on it), as `Group` describes.
public struct Attributes {
    let owner: any AttributeOwner
    /// The owning group in the mapped bytes, if found there.
    let stored: StoredGroup?
    let file: File
    /// The owner's kind ("group", "dataset") and path, named in errors.
    let ownerKind: String
    let ownerPath: String

    /// The owner's kind and path, e.g. "dataset /dense/kernel:0" (built only for errors: the mapped
    /// bytes answer most reads without one).
    private var ownerDescription: String { "\(ownerKind) \(ownerPath)" }

    private var context: ErrorContext {
        ErrorContext(file: file.path, object: ownerDescription)
    }

    private func context(_ name: String) -> ErrorContext {
        ErrorContext(file: file.path, object: "attribute \(name) of \(ownerDescription)")
    }

    /// The attribute names in name order (from the mapped bytes, else H5Aiterate2).
    public func names() throws -> [String] {
        if let names = stored?.attributeNames() { return names }
        let owner = try owner.handle
        var names: [String] = []
        try withUnsafeMutablePointer(to: &names) { names in
            _ = try Library.call("H5Aiterate2", context) {
                H5Aiterate2(
                    owner.id, H5_INDEX_NAME, H5_ITER_INC, nil,
                    { _, name, _, data in
                        data!.assumingMemoryBound(to: [String].self).pointee.append(String(cString: name!))
                        return 0
                    }, names)
            }
        }
        return names
    }

    /// Whether an attribute named `name` exists (from the mapped bytes, else H5Aexists).
    public func contains(_ name: String) throws -> Bool {
        if let found = stored?.containsAttribute(name) { return found }
        let id = try owner.handle.id
        return try Library.call("H5Aexists", context(name)) { H5Aexists(id, name) } > 0
    }

    /// The attribute named `name`: found in the mapped bytes when they can decode it (opened through
    /// libhdf5 only when a call needs it), else opened (H5Aopen); H5Aexists only tells a missing
    /// one from a failure.
    public func attribute(_ name: String) throws -> Attribute {
        if let found = stored?.attribute(name) { return Attribute(stored: found, owner: self, file: file, name: name) }
        do {
            return Attribute(object: try open(name), file: file, name: name)
        } catch {
            guard try contains(name) else { throw HDF5Error(.notFound, operation: "open", context: context(name)) }
            throw error
        }
    }

    /// Opens the attribute named `name` (H5Aopen).
    func open(_ name: String) throws -> DataObject {
        let context = context(name)
        let id = try owner.handle.id
        let handle = try Library.open(.attribute, "H5Aopen", context) { H5Aopen(id, name, chdf5_p_default()) }
        return DataObject(handle: handle, kind: .attribute, context: context, byteBudget: file.readBudget)
    }

    /// The elements of attribute `name` as `T` (H5Aopen, H5Aread).
    public func read<T: DataElement>(_ name: String, as type: T.Type = T.self) throws -> NDArray<T> {
        try attribute(name).read(as: type)
    }

    /// The strings of attribute `name`, scalar or array, in either length form (H5Aread).
    public func stringArray(_ name: String) throws -> [String] {
        try attribute(name).readStrings().strings
    }

    /// The string of scalar string attribute `name` (H5Aread); throws for arrays.
    public func string(_ name: String) throws -> String {
        let strings = try attribute(name).readStrings()
        guard let scalar = strings.scalar else {
            throw HDF5Error(
                .invalidArgument, operation: "read", context: context(name),
                detail: "expected a scalar string, found shape \(strings.shape)")
        }
        return scalar
    }

    /// Writes `array` as attribute `name`, replacing any existing one (H5Acreate2, H5Awrite).
    public func write<T: DataElement>(_ array: NDArray<T>, named name: String) throws {
        try write(raw: RawArray(array), named: name)
    }

    /// Writes raw bytes of `raw.dataType` as attribute `name` (H5Acreate2, H5Awrite).
    public func write(raw: RawArray, named name: String) throws {
        try write(name) { try EncodedValue(raw, $0) }
    }

    /// Writes strings in exactly `strings.format` as attribute `name` (H5Acreate2, H5Awrite).
    public func write(_ strings: StringArray, named name: String) throws {
        try write(name) { try EncodedValue(strings, $0) }
    }

    private func write(_ name: String, encode: (ErrorContext) throws -> EncodedValue) throws {
        let context = context(name)
        try file.requireWritable("write attribute", context)
        if try contains(name) { try delete(name) }
        _ = try DataObject.create(
            .attribute, named: name, in: owner.handle, linkCreation: nil,
            value: encode(context), context: context)
    }

    /// Deletes attribute `name` (H5Adelete).
    public func delete(_ name: String) throws {
        let context = context(name)
        try file.requireWritable("delete attribute", context)
        let id = try owner.handle.id
        try Library.call("H5Adelete", context) { H5Adelete(id, name) }
    }
}
