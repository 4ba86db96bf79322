/// A group read straight from the in-memory bytes of a file opened read-only, after
/// `File.mapIntoMemory`: path lookups, link names, string attributes and float32 datasets
/// without opening each object through libhdf5 (H5Gopen2, H5Lget_info, H5Aopen/H5Aread and
/// H5Dopen/H5Dread cost tens of µs each; here a lookup costs a few).
///
/// It reads the layout h5py and libhdf5 1.10 write by default: a version 0 or 1 superblock,
/// version-1 object headers, old-style groups (symbol table, B-tree, local heap) and attributes in the
/// object header. Every answer is nil where that layout is not found (new-style or compact links,
/// version-2 headers, dense attributes, shared messages, malformed offsets): `Group`, `Attributes`
/// and `Dataset` then ask libhdf5, which reads every layout and reports errors.
///
/// Safe to use from several threads: it reads immutable bytes (the global heap index it fills has
/// its own lock).
struct StoredGroup {
    let image: FileImage
    /// Where this group's object header lies in `image.bytes`.
    let header: Int
    /// Its symbol table, parsed once: lookups in a layer group repeat for each of its weights.
    let table: ImageReader.SymbolTable

    /// The group whose object header is at `header`; nil unless it is an old-style group.
    init?(image: FileImage, header: Int) {
        guard let table = image.reading({ $0.symbolTable(ofGroupAt: header) }) else { return nil }
        self.image = image
        self.header = header
        self.table = table
    }

    /// The root group of `image`; nil for a superblock or root group this reader does not parse.
    static func root(of image: FileImage) -> StoredGroup? {
        image.rootAddress.flatMap { StoredGroup(image: image, header: $0) }
    }

    /// The group at `path`, relative to this one or absolute; nil when absent or not an old-style group.
    func group(_ path: String) -> StoredGroup? {
        image.reading { object(at: path, $0) }.flatMap { StoredGroup(image: image, header: $0) }
    }

    /// The names of this group's links in name order, as `Group.childNames(order: .name)` lists them.
    func childNames() -> [String]? {
        image.reading { $0.linkNames(in: table) }
    }

    /// The names of this group's attributes in name order, as `Attributes.names()` lists them.
    func attributeNames() -> [String]? {
        image.reading { reader in
            reader.attributeMessages(ofHeaderAt: header)?.map(reader.name).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        }
    }

    /// Whether this group has an attribute `name`; nil when its attributes are not all in its header.
    func containsAttribute(_ name: String) -> Bool? {
        var name = name
        return name.withUTF8 { name in
            image.reading { reader in
                reader.attributeMessages(ofHeaderAt: header)?.contains { reader.raw[$0.name].elementsEqual(name) }
            }
        }
    }

    /// The attribute `name`; nil when absent or not readable here.
    func attribute(_ name: String) -> StoredAttribute? {
        var name = name
        return name.withUTF8 { name in
            image.reading { reader in
                reader.attributeMessages(ofHeaderAt: header)?.first { reader.raw[$0.name].elementsEqual(name) }
                    .flatMap(reader.decode)
            }
        }
    }

    /// The float32 dataset at `path` (relative or absolute) when it is contiguous, allocated,
    /// unfiltered little-endian IEEE float32 with a version-1 object header; nil otherwise
    /// (open it with `Group.dataset(_:)` then, which also reports what is wrong).
    func float32Array(_ path: String) -> StoredFloat32Array? {
        image.reading { reader in
            object(at: path, reader).flatMap(reader.float32Array).map {
                StoredFloat32Array(shape: $0.shape, bytes: image.bytes[$0.bytes])
            }
        }
    }

    /// The object header at `path`, following hard links through old-style groups.
    private func object(at path: String, _ reader: ImageReader) -> Int? {
        var path = path
        return path.withUTF8 { path in
            let slash = UInt8(ascii: "/")
            var at = header, table: ImageReader.SymbolTable? = table
            if path.first == slash {
                guard let root = image.rootAddress else { return nil }
                at = root
                table = nil
            }
            var rest = path[...]
            while !rest.isEmpty {
                let end = rest.firstIndex(of: slash) ?? rest.endIndex
                let component = UnsafeBufferPointer(rebasing: rest[..<end])
                rest = rest[(end == rest.endIndex ? end : end + 1)...]
                if component.isEmpty || (component.count == 1 && component[0] == UInt8(ascii: ".")) { continue }
                guard !component.contains(0), let groupTable = table ?? reader.symbolTable(ofGroupAt: at),
                    let next = reader.link(named: component, in: groupTable)
                else { return nil }
                at = next
                table = nil
            }
            return at
        }
    }
}

/// An attribute read from the file's bytes (`StoredGroup.attribute(_:)`).
struct StoredAttribute: Equatable {
    /// The extent of each dimension, empty for a scalar.
    let shape: [Int]
    /// The strings with their stored format, when the attribute holds strings; nil for other types.
    let strings: StringArray?
    /// Why its variable-length strings are refused rather than decoded (or left to libhdf5): more
    /// characters than the file's read budget, or references outside the global heap's objects.
    var refusal: HDF5Error? = nil
}
