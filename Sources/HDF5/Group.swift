import CHDF5

/// A group: a named container of groups and datasets. Paths may be nested ("a/b/c") and
/// are relative to this group unless they start with "/".
///
/// Once `File.mapIntoMemory()` has run, reads try the file's mapped bytes first (`group(_:)`,
/// `dataset(_:)`, `contains(_:)`, `childNames(order: .name)`, `attributes`): a group found there is
/// not opened through libhdf5 until a call needs it (docs/hdf5.md, "Fast path"). Answers and errors
/// are libhdf5's either way.
public final class Group: AttributeOwner {
    /// The order `childNames(order:)` lists links in.
    public enum Order: Sendable {
        /// Alphabetical by name (H5_INDEX_NAME), as h5py iterates.
        case name
        /// Creation order (H5_INDEX_CRT_ORDER) if this group tracks it; otherwise name order,
        /// since h5py and Keras files usually do not track it.
        case creation
    }

    /// The file this group is in; kept open while the group is.
    public let file: File
    /// The absolute path, e.g. "/model_weights/dense".
    public let path: String
    /// This group in the file's mapped bytes; nil when not mapped, not found there or opened through libhdf5.
    let stored: StoredGroup?
    private let opened: OnDemand<Handle>

    /// A group opened through libhdf5 (or the root, which `stored` may also find in the mapped bytes).
    init(handle: Handle, file: File, path: String, stored: StoredGroup? = nil) {
        opened = OnDemand(handle)
        self.file = file
        self.path = path
        self.stored = stored
    }

    /// A group found in the mapped bytes at absolute `path`, opened (H5Gopen2) when a call needs libhdf5.
    private init(stored: StoredGroup, file: File, path: String) {
        opened = OnDemand()
        self.file = file
        self.path = path
        self.stored = stored
    }

    /// The libhdf5 identifier, opened now if this group came from the mapped bytes.
    var handle: Handle {
        get throws {
            try opened.get {
                let fileID = file.handle.id
                return try Library.open(.group, "H5Gopen2", context) { H5Gopen2(fileID, path, chdf5_p_default()) }
            }
        }
    }

    var context: ErrorContext { ErrorContext(file: file.path, object: "group \(path)") }

    /// The attributes of this group.
    public var attributes: Attributes {
        Attributes(owner: self, stored: stored, file: file, ownerKind: "group", ownerPath: path)
    }

    /// The existing group at `path`: found in the mapped bytes, else opened (H5Gopen2).
    public func group(_ path: String) throws -> Group {
        if let found = stored?.group(path) { return Group(stored: found, file: file, path: absolutePath(path)) }
        let (handle, absolute, _) = try openExisting(path, as: "group", .group, "H5Gopen2") {
            H5Gopen2($0, path, chdf5_p_default())
        }
        return Group(handle: handle, file: file, path: absolute)
    }

    /// Creates a group at `path` and any missing intermediate groups (H5Gcreate2); with
    /// `tracksCreationOrder` the new group records link creation order.
    @discardableResult
    public func createGroup(_ path: String, tracksCreationOrder: Bool = false) throws -> Group {
        let absolute = absolutePath(path)
        let context = ErrorContext(file: file.path, object: "group \(absolute)")
        try file.requireWritable("create group", context)
        let links = try linkCreationList(context)
        let creation =
            tracksCreationOrder
            ? try Self.orderTrackingList(chdf5_p_group_create(), context) : nil
        let id = try handle.id
        let handle = try Library.open(.group, "H5Gcreate2", context) {
            H5Gcreate2(
                id, path, links.id, creation?.id ?? chdf5_p_default(),
                chdf5_p_default())
        }
        return Group(handle: handle, file: file, path: absolute)
    }

    /// The existing dataset at `path`: a plain float32 one found in the mapped bytes (see `Dataset`),
    /// else opened (H5Dopen2).
    public func dataset(_ path: String) throws -> Dataset {
        if let found = stored?.float32Array(path) { return Dataset(stored: found, file: file, path: absolutePath(path)) }
        let (handle, absolute, context) = try openExisting(path, as: "dataset", .dataset, "H5Dopen2") {
            H5Dopen2($0, path, chdf5_p_default())
        }
        return Dataset(
            object: DataObject(handle: handle, kind: .dataset, context: context, byteBudget: file.readBudget),
            file: file, path: absolute)
    }

    /// Creates a contiguous dataset at `path` holding `array` (H5Dcreate2, H5Dwrite).
    @discardableResult
    public func createDataset<T: DataElement>(_ path: String, _ array: NDArray<T>) throws -> Dataset {
        try createDataset(path, raw: RawArray(array))
    }

    /// Creates a contiguous dataset at `path` from raw bytes of `raw.dataType` (H5Dcreate2, H5Dwrite).
    @discardableResult
    public func createDataset(_ path: String, raw: RawArray) throws -> Dataset {
        try createDataset(path) { try EncodedValue(raw, $0) }
    }

    /// Creates a string dataset at `path` in `strings.format` (H5Dcreate2, H5Dwrite).
    @discardableResult
    public func createDataset(_ path: String, strings: StringArray) throws -> Dataset {
        try createDataset(path) { try EncodedValue(strings, $0) }
    }

    private func createDataset(
        _ path: String, encode: (ErrorContext) throws -> EncodedValue
    ) throws -> Dataset {
        let absolute = absolutePath(path)
        let context = ErrorContext(file: file.path, object: "dataset \(absolute)")
        try file.requireWritable("create dataset", context)
        let object = try DataObject.create(
            .dataset, named: path, in: handle, linkCreation: linkCreationList(context),
            value: encode(context), context: context)
        return Dataset(object: object, file: file, path: absolute)
    }

    /// Removes the link at `path` (H5Ldelete), like h5py's `del group[path]`; the file does
    /// not shrink.
    public func unlink(_ path: String) throws {
        let (_, context) = try existing(path, as: "link")
        try file.requireWritable("unlink", context)
        let id = try handle.id
        try Library.call("H5Ldelete", context) { H5Ldelete(id, path, chdf5_p_default()) }
    }

    /// Whether a link exists at `path`: for a plain name, among this group's links in the mapped
    /// bytes; else checking each component with H5Lexists (which fails rather than answering when an
    /// intermediate component is missing).
    public func contains(_ path: String) throws -> Bool {
        if !path.isEmpty, path != ".", !path.contains("/"), let names = stored?.childNames() { return names.contains(path) }
        let id = try handle.id
        let components = path.split(separator: "/")
        var prefix = path.hasPrefix("/") ? "/" : ""
        for (index, component) in components.enumerated() {
            prefix += (index == 0 ? "" : "/") + component
            let link = prefix
            guard
                try Library.call(
                    "H5Lexists", context,
                    {
                        H5Lexists(id, link, chdf5_p_default())
                    }) > 0
            else { return false }
            if index < components.count - 1, (try? kind(at: link)) != .group { return false }
        }
        return true
    }

    /// Whether `path` names a group, a dataset or something else (H5Oopen, H5Iget_type).
    public func kind(of path: String) throws -> ObjectKind {
        _ = try existing(path, as: "object")
        return try kind(at: path)
    }

    /// Whether this group records link creation order
    /// (H5Gget_create_plist, H5Pget_link_creation_order).
    public func tracksCreationOrder() throws -> Bool {
        let id = try handle.id
        let list = try Library.open(.propertyList, "H5Gget_create_plist", context) {
            H5Gget_create_plist(id)
        }
        var flags: UInt32 = 0
        try Library.call("H5Pget_link_creation_order", context) {
            H5Pget_link_creation_order(list.id, &flags)
        }
        return flags & UInt32(H5P_CRT_ORDER_TRACKED) != 0
    }

    /// The names of the links in this group: in name order from the mapped bytes when they hold it,
    /// else H5Gget_info, H5Lget_name_by_idx.
    public func childNames(order: Order = .name) throws -> [String] {
        if order == .name, let names = stored?.childNames() { return names }
        let index = try order == .creation && tracksCreationOrder() ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME
        let id = try handle.id
        var info = H5G_info_t()
        try Library.call("H5Gget_info", context) { H5Gget_info(id, &info) }
        return try (0..<info.nlinks).map { position in
            try Library.name("H5Lget_name_by_idx", context) {
                H5Lget_name_by_idx(
                    id, ".", index, H5_ITER_INC, position, $0, $1,
                    chdf5_p_default())
            }
        }
    }
}
