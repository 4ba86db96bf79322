import CHDF5
import CMapGuard
import Foundation
import ReadLimits
import Synchronization

/// An open HDF5 file. Closed (H5Fclose) when the last reference to it, or to any group,
/// dataset or attribute in it, goes away: children keep their file alive.
public final class File {
    /// How an existing file is opened (H5F_ACC_RDONLY or H5F_ACC_RDWR).
    public enum AccessMode: Sendable {
        /// `readOnly` as h5py's mode `"r"`; `readWrite` as `"r+"`, for adding to an existing file.
        case readOnly, readWrite
    }

    /// What creating does when the file exists (H5F_ACC_TRUNC or H5F_ACC_EXCL).
    public enum CreationMode: Sendable {
        /// `truncate` replaces an existing file (h5py's `"w"`); `failIfExists` refuses it (h5py's `"w-"`).
        case truncate, failIfExists
    }

    /// The path as given when opening or creating.
    public let path: String
    /// How the file was opened; created files are `.readWrite`.
    public let mode: AccessMode
    let handle: Handle
    /// The most bytes a dataset or attribute of this file may declare (`ReadLimits`, from the size
    /// the file had when opened); unbounded for files this process creates.
    let readBudget: Int
    private let rootHandle: Handle
    /// The file's bytes, once `mapIntoMemory` has run.
    private(set) var image: FileImage?
    /// The root group in `image`, when its layout is the one `StoredGroup` reads.
    private var storedRoot: StoredGroup?
    /// The file's bytes as `open` mapped them for the coverage check, until `mapIntoMemory` takes them.
    private var checkedMapping: (bytes: Data?, slot: Int32)?

    private init(path: String, mode: AccessMode, handle: Handle, readBudget: Int) throws {
        self.path = path
        self.mode = mode
        self.handle = handle
        self.readBudget = readBudget
        rootHandle = try Library.open(.group, "H5Gopen2", ErrorContext(file: path, object: "group /")) {
            H5Gopen2(handle.id, "/", chdf5_p_default())
        }
    }

    /// The root group "/", whose attributes are the file's attributes (as in h5py).
    public var root: Group {
        Group(handle: rootHandle, file: self, path: "/", stored: storedRoot)
    }

    /// Opens an existing file (H5Fopen), after checking it exists, is a regular non-empty
    /// file and has an HDF5 signature (H5Fis_hdf5); read-only, a file the byte reader does not cover
    /// goes to `uncoveredFileCheck` first.
    public static func open(_ path: String, mode: AccessMode = .readOnly) throws -> File {
        try labeling("open") {
            let context = ErrorContext(file: path)
            try checkExisting(path, mode: mode, context)
            // The check's mapping (watched for truncation, its page tables filled) is the one `mapIntoMemory` then
            // uses: mapping twice cost a second set of page faults and an unmapping per load.
            var checkedMapping: (bytes: Data?, slot: Int32)?
            if mode == .readOnly, uncoveredFileCheck != nil {
                let (bytes, slot, _) = try FileImage.contents(of: path, context) {}
                try checkUncovered(.path(path)) { bytes.map { byteReaderCovers($0) } ?? false }
                checkedMapping = (bytes, slot)
            }
            let flags = mode == .readOnly ? chdf5_f_acc_rdonly() : chdf5_f_acc_rdwr()
            let handle = try Library.open(.file, "H5Fopen", context) {
                H5Fopen(path, flags, chdf5_p_default())
            }
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            let file = try File(path: path, mode: mode, handle: handle, readBudget: ReadLimits.budget(forSourceOf: size))
            file.checkedMapping = checkedMapping
            return file
        }
    }

    /// Opens the HDF5 file whose bytes are `bytes` (a zip entry), read-only, with nothing written to
    /// disk: libhdf5's core driver over a copy of them (H5Pset_fapl_core, H5Pset_file_image), and its
    /// groups read from `bytes` first, as after `mapIntoMemory`. `name` stands for the path in errors.
    /// Bytes the byte reader does not cover go to `uncoveredFileCheck` first.
    public static func open(image bytes: Data, name: String) throws -> File {
        try labeling("open") {
            let context = ErrorContext(file: name)
            guard !bytes.isEmpty else { throw HDF5Error(.emptyFile, operation: "open", context: context) }
            try checkUncovered(.image(bytes, name: name)) { byteReaderCovers(bytes) }
            let access = try Library.open(.propertyList, "H5Pcreate", context) { H5Pcreate(chdf5_p_file_access()) }
            try Library.call("H5Pset_fapl_core", context) { H5Pset_fapl_core(access.id, 1 << 16, false) }
            _ = try bytes.withUnsafeBytes { raw in
                try Library.call("H5Pset_file_image", context) {
                    H5Pset_file_image(access.id, UnsafeMutableRawPointer(mutating: raw.baseAddress), raw.count)
                }
            }
            // libhdf5 takes two opens of one name for the same file ("file already exists"): each image gets its own.
            let unique = "\(name) (in memory, \(imageCount.add(1, ordering: .relaxed).newValue))"
            let handle = try Library.open(.file, "H5Fopen", context) { H5Fopen(unique, chdf5_f_acc_rdonly(), access.id) }
            let file = try File(path: name, mode: .readOnly, handle: handle, readBudget: ReadLimits.budget(forSourceOf: bytes.count))
            if let base = try FileImage.base(ofFile: handle, context) {
                file.image = FileImage(bytes: bytes, base: base)
                file.storedRoot = file.image.flatMap(StoredGroup.root)
            }
            return file
        }
    }

    private static let imageCount = Atomic<Int>(0)

    /// Creates a file (H5Fcreate), opened read-write. With `tracksCreationOrder`, the root
    /// group records link creation order (H5Pset_link_creation_order on the creation list).
    public static func create(
        _ path: String, mode: CreationMode = .truncate, tracksCreationOrder: Bool = false
    ) throws -> File {
        try labeling("create") {
            let context = ErrorContext(file: path)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
                if isDirectory.boolValue { throw HDF5Error(.isDirectory, operation: "create", context: context) }
                if mode == .failIfExists { throw HDF5Error(.fileExists, operation: "create", context: context) }
            }
            let creationList =
                tracksCreationOrder
                ? try Group.orderTrackingList(chdf5_p_file_create(), context) : nil
            let flags = mode == .truncate ? chdf5_f_acc_trunc() : chdf5_f_acc_excl()
            let handle = try Library.open(.file, "H5Fcreate", context) {
                H5Fcreate(path, flags, creationList?.id ?? chdf5_p_default(), chdf5_p_default())
            }
            return try File(path: path, mode: .readWrite, handle: handle, readBudget: .max)
        }
    }

    /// Opens a file, runs `body`, and releases the file when `body` returns.
    @discardableResult
    public static func withOpen<R>(
        _ path: String, mode: AccessMode = .readOnly, _ body: (File) throws -> R
    ) throws -> R {
        try body(open(path, mode: mode))
    }

    /// Creates a file, runs `body`, and releases the file when `body` returns.
    @discardableResult
    public static func withCreate<R>(
        _ path: String, mode: CreationMode = .truncate, tracksCreationOrder: Bool = false,
        _ body: (File) throws -> R
    ) throws -> R {
        try body(create(path, mode: mode, tracksCreationOrder: tracksCreationOrder))
    }

    /// Maps the bytes of a read-only file into memory, once, so that the groups, attributes and
    /// datasets reached from `root` afterwards are read from them where their layout allows, without
    /// opening each object through libhdf5 (see `Group`; groups taken before keep reading through
    /// libhdf5). Call it before sharing the file between threads.
    ///
    /// libhdf5 itself keeps reading through its default sec2 driver: its core driver (h5py's
    /// `driver='core'`), which reads the whole file into memory, measured no faster here. On a file
    /// system that cannot map files nothing is mapped and libhdf5 reads everything.
    public func mapIntoMemory() throws {
        try mapIntoMemory {}
    }

    /// Maps the file's bytes into memory as `mapIntoMemory()` does, running `work` while another
    /// thread fills the mapping's page tables (on this thread alone when nothing is mapped), and
    /// returns its result.
    public func mapIntoMemory<R>(alongside work: () -> R) throws -> R {
        let context = ErrorContext(file: path)
        guard image == nil, mode == .readOnly, let base = try FileImage.base(ofFile: handle, context) else { return work() }
        let (bytes, slot, result) =
            try checkedMapping.map { ($0.bytes, $0.slot, work()) } ?? FileImage.contents(of: path, context, alongside: work)
        checkedMapping = nil
        image = bytes.map { FileImage(bytes: $0, base: base) }
        image?.mappingSlot = slot
        storedRoot = image.flatMap(StoredGroup.root)
        return result
    }

    /// Throws `.truncated` when another process shrank the file while its mapped bytes were read
    /// (`mapIntoMemory`): reads past the new end gave zeros instead of ending the process (SIGBUS), so a
    /// reader that copied values out of the mapping asks here after copying, before using them.
    public func checkMappedBytes() throws {
        guard let image, map_guard_truncated(image.mappingSlot) != 0 else { return }
        throw HDF5Error(
            .truncated, operation: "read", context: ErrorContext(file: path),
            detail: "another process truncated the file while it was being read (it reads as zeros past its new end)")
    }

    /// Writes buffered data to disk (H5Fflush).
    public func flush() throws {
        try Self.labeling("flush") {
            try Library.call("H5Fflush", ErrorContext(file: path)) { H5Fflush(handle.id, H5F_SCOPE_LOCAL) }
        }
    }

    /// The number of open HDF5 identifiers (files, groups, datasets, attributes, named types)
    /// in this process (H5Fget_obj_count with H5F_OBJ_ALL); with `path`, only those whose
    /// file has that name (H5Fget_obj_ids, H5Fget_name). For leak checks.
    public static func openObjectCount(inFileAt path: String? = nil) -> Int {
        Library.locked {
            let all = hid_t(chdf5_f_obj_all())
            let count = H5Fget_obj_count(all, chdf5_f_obj_all())
            guard let path, count > 0 else { return max(count, 0) }
            var ids = [hid_t](repeating: 0, count: count)
            let found = max(H5Fget_obj_ids(all, chdf5_f_obj_all(), count, &ids), 0)
            return ids.prefix(found).count { id in
                (try? Library.name("H5Fget_name", ErrorContext()) { H5Fget_name(id, $0, $1) }) == path
            }
        }
    }

    /// Rejects paths H5Fopen would fail on obscurely, with a precise reason.
    private static func checkExisting(_ path: String, mode: AccessMode, _ context: ErrorContext) throws {
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        guard files.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw HDF5Error(.fileNotFound, operation: "open", context: context)
        }
        if isDirectory.boolValue {
            throw HDF5Error(.isDirectory, operation: "open", context: context)
        }
        if (try? files.attributesOfItem(atPath: path)[.size] as? Int) == 0 {
            throw HDF5Error(.emptyFile, operation: "open", context: context)
        }
        if mode == .readWrite, !files.isWritableFile(atPath: path) {
            throw HDF5Error(
                .readOnly, operation: "open", context: context,
                detail: "file is not writable")
        }
        guard try Library.call("H5Fis_hdf5", context, { H5Fis_hdf5(path) }) > 0 else {
            throw HDF5Error(.notHDF5, operation: "open", context: context)
        }
    }

    /// Runs `body`, naming `operation` in the errors it throws, so a failed H5Fopen reads
    /// "cannot open x.h5: H5Fopen failed: ..." rather than naming the C function twice.
    @discardableResult
    private static func labeling<R>(_ operation: String, _ body: () throws -> R) throws -> R {
        do {
            return try body()
        } catch var error as HDF5Error {
            error.operation = operation
            throw error
        }
    }

    /// Throws `.readOnly` unless the file was opened for writing.
    func requireWritable(_ operation: String, _ context: ErrorContext) throws {
        guard mode == .readWrite else {
            throw HDF5Error(
                .readOnly, operation: operation, context: context,
                detail: "cannot \(operation): file is open read-only")
        }
    }
}
