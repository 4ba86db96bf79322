/// A group read straight from the in-memory bytes of a file opened read-only, after
/// `File.readWholeFileIntoMemory`: path lookups, link names, string attributes and float32 datasets
/// without opening each object through libhdf5 (H5Gopen2, H5Lget_info, H5Aopen/H5Aread and
/// H5Dopen/H5Dread cost tens of µs each; here a lookup costs a few).
///
/// It reads the layout h5py and libhdf5 1.10 write by default: a version 0 or 1 superblock,
/// version-1 object headers, old-style groups (symbol table, B-tree, local heap) and attributes in the
/// object header. Every answer is nil where that layout is not found (new-style or compact links,
/// version-2 headers, dense attributes, shared messages, malformed offsets): the caller then uses the
/// libhdf5 API (`Group`, `Attributes`, `Dataset`), which reads every layout and reports errors.
public struct StoredGroup {
    let image: FileImage
    /// Where this group's object header lies in `image.bytes`.
    let header: Int

    /// The group at `path`, relative to this one or absolute; nil when absent or not an old-style group.
    public func group(_ path: String) -> StoredGroup? {
        image.reading { reader in
            object(at: path, reader).flatMap { reader.symbolTable(ofGroupAt: $0) == nil ? nil : StoredGroup(image: image, header: $0) }
        }
    }

    /// The names of this group's links in name order, as `Group.childNames(order: .name)` lists them.
    public func childNames() -> [String]? {
        image.reading { reader in reader.symbolTable(ofGroupAt: header).flatMap(reader.linkNames) }
    }

    /// The names of this group's attributes in name order, as `Attributes.names()` lists them.
    public func attributeNames() -> [String]? {
        image.reading { $0.attributeMessages(ofHeaderAt: header)?.map(\.name).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } }
    }

    /// The attribute `name`; nil when absent or not readable here.
    public func attribute(_ name: String) -> StoredAttribute? {
        image.reading { reader in
            reader.attributeMessages(ofHeaderAt: header)?.first { $0.name == name }
                .flatMap(reader.decode).map { StoredAttribute(shape: $0.shape, strings: $0.strings) }
        }
    }

    /// The float32 dataset at `path` (relative or absolute) when it is contiguous, allocated,
    /// unfiltered little-endian IEEE float32 with a version-1 object header; nil otherwise
    /// (open it with `Group.dataset(_:)` then, which also reports what is wrong).
    public func float32Array(_ path: String) -> StoredFloat32Array? {
        image.reading { reader in
            object(at: path, reader).flatMap(reader.float32Array).map {
                StoredFloat32Array(shape: $0.shape, bytes: image.bytes[$0.bytes])
            }
        }
    }

    /// The object header at `path`, following hard links through old-style groups.
    private func object(at path: String, _ reader: ImageReader) -> Int? {
        let slash = UInt8(ascii: "/")
        var at = path.utf8.first == slash ? image.rootAddress : header
        var rest = path.utf8[...]
        while let start = at, !rest.isEmpty {
            let end = rest.firstIndex(of: slash) ?? rest.endIndex
            let component = rest[..<end]
            rest = end == rest.endIndex ? rest[end...] : rest[rest.index(after: end)...]
            if component.isEmpty || component.elementsEqual(".".utf8) { continue }
            guard !component.contains(0), let table = reader.symbolTable(ofGroupAt: start) else { return nil }
            at = reader.link(named: component, in: table)
        }
        return at
    }
}

/// An attribute read from the file's bytes (`StoredGroup.attribute(_:)`).
public struct StoredAttribute: Equatable {
    /// The extent of each dimension, empty for a scalar.
    public let shape: [Int]
    /// The strings with their stored format, when the attribute holds strings; nil for other types.
    public let strings: StringArray?
}

extension Group {
    /// This group as found in the file's in-memory bytes (see `StoredGroup`); nil unless
    /// `file.readWholeFileIntoMemory()` has run and the file's layout is the one it reads.
    public var stored: StoredGroup? {
        guard let image = file.image, let root = image.rootAddress else { return nil }
        return StoredGroup(image: image, header: root).group(path)
    }
}
