import CHDF5

/// Path and property-list helpers shared by `Group`'s open and create methods.
extension Group {
    /// `path` made absolute against this group, with empty components removed.
    func absolutePath(_ path: String) -> String {
        // The usual relative path ("conv1/conv/kernel:0", no empty component) needs no splitting:
        // this group's path is already clean. Checked on the UTF-8 bytes in one pass: this runs for
        // every layer and weight of a load.
        let slash = UInt8(ascii: "/")
        let isClean = path.utf8.withContiguousStorageIfAvailable { bytes in
            guard let first = bytes.first, first != slash, bytes.last != slash else { return false }
            return !(1..<bytes.count).contains { bytes[$0] == slash && bytes[$0 - 1] == slash }
        }
        if isClean == true {
            return self.path == "/" ? "/" + path : self.path + "/" + path
        }
        let base = path.hasPrefix("/") ? [] : self.path.split(separator: "/")
        return "/" + (base + path.split(separator: "/")).joined(separator: "/")
    }

    /// The absolute path and error context of an object that must exist; throws `.notFound`
    /// naming the object otherwise.
    func existing(_ path: String, as kind: String) throws -> (String, ErrorContext) {
        let absolute = absolutePath(path)
        let context = ErrorContext(file: file.path, object: "\(kind) \(absolute)")
        guard try contains(path) else {
            throw HDF5Error(.notFound, operation: "open", context: context)
        }
        return (absolute, context)
    }

    /// Opens the object at `path` with `open` (H5Gopen2 or H5Dopen2 on this group's id); throws
    /// `.notFound` when no link exists there. Opens first and walks `contains` only on failure:
    /// that walk (H5Lexists and H5Oopen per path component) cost more than the open itself.
    func openExisting(
        _ path: String, as kind: String, _ handleKind: Handle.Kind, _ function: String,
        _ open: (hid_t) -> hid_t
    ) throws -> (Handle, String, ErrorContext) {
        let absolute = absolutePath(path)
        let context = ErrorContext(file: file.path, object: "\(kind) \(absolute)")
        let id = try handle.id
        do {
            return (try Library.open(handleKind, function, context) { open(id) }, absolute, context)
        } catch {
            guard try contains(path) else { throw HDF5Error(.notFound, operation: "open", context: context) }
            throw error
        }
    }

    /// A link-creation list that creates missing intermediate groups
    /// (H5Pcreate(H5P_LINK_CREATE), H5Pset_create_intermediate_group).
    func linkCreationList(_ context: ErrorContext) throws -> Handle {
        let list = try Library.open(.propertyList, "H5Pcreate", context) {
            H5Pcreate(chdf5_p_link_create())
        }
        try Library.call("H5Pset_create_intermediate_group", context) {
            H5Pset_create_intermediate_group(list.id, 1)
        }
        return list
    }

    /// A group- or file-creation list that tracks and indexes link creation order
    /// (H5Pcreate, H5Pset_link_creation_order).
    static func orderTrackingList(_ listClass: hid_t, _ context: ErrorContext) throws -> Handle {
        let list = try Library.open(.propertyList, "H5Pcreate", context) { H5Pcreate(listClass) }
        try Library.call("H5Pset_link_creation_order", context) {
            H5Pset_link_creation_order(list.id, UInt32(H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED))
        }
        return list
    }

    /// The kind of the object at `path`, which must exist (H5Oopen, H5Iget_type).
    func kind(at path: String) throws -> ObjectKind {
        let id = try handle.id
        let object = try Library.open(.object, "H5Oopen", context) {
            H5Oopen(id, path, chdf5_p_default())
        }
        switch Library.locked({ H5Iget_type(object.id) }) {
        case H5I_GROUP: return .group
        case H5I_DATASET: return .dataset
        default: return .other
        }
    }
}
