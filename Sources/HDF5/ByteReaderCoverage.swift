import Foundation
import Glibc
import Synchronization

/// A file libhdf5 is about to parse although the project's own byte reader does not cover it: given
/// to `File.uncoveredFileCheck` by `File.open(_:mode:)` and `File.open(image:name:)`.
public enum UncoveredFile: Sendable {
    /// A file on disk.
    case path(String)
    /// An HDF5 file held in memory (a zip entry) and the name that stands for it in errors.
    case image(Data, name: String)

    /// The path, or the name of the bytes.
    public var name: String {
        switch self {
        case .path(let path): path
        case .image(_, let name): name
        }
    }
}

extension File {
    private static let uncoveredCheck = Mutex<(@Sendable (UncoveredFile) throws -> Void)?>(nil)

    /// Run before libhdf5 first parses a file, opened read-only, that the project's bounds-checked byte
    /// reader does not cover (`byteReaderCovers`); what it throws, `open` throws, before libhdf5 has seen
    /// the file. nil by default: libhdf5 then parses every file in this process. The command line sets
    /// it to let libhdf5 read the file in a child process with resource limits first (docs/security.md).
    public static var uncoveredFileCheck: (@Sendable (UncoveredFile) throws -> Void)? {
        get { uncoveredCheck.withLock { $0 } }
        set { uncoveredCheck.withLock { $0 = newValue } }
    }

    /// Whether the project's byte reader parses every object of the HDF5 file `bytes`, so that libhdf5
    /// is asked for nothing but opening it (superblock, root group): a version 0 or 1 superblock with
    /// 8-byte addresses, and from its root, every object reachable (at most 100 000) an old-style group
    /// or a contiguous float32 dataset with a version-1 header, whose attributes are all strings (or
    /// empty) in its header. That is the layout h5py and libhdf5 1.10 write by default, and all Keras writes.
    public static func byteReaderCovers(_ bytes: Data) -> Bool {
        guard let image = FileImage(unopened: bytes), let root = image.rootAddress else { return false }
        return image.reading { $0.coversEveryObject(from: root) } ?? false
    }

    /// `byteReaderCovers(_:)` of the file at `path`, mapped read-only for the check (only the pages
    /// holding its structure are read); false when it cannot be mapped.
    public static func byteReaderCovers(fileAt path: String) -> Bool {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_size > 0,
            let mapped = mmap(nil, Int(status.st_size), PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED
        else { return false }
        return byteReaderCovers(Data(bytesNoCopy: mapped, count: Int(status.st_size), deallocator: .unmap))
    }

    /// Calls `uncoveredFileCheck` with `file` unless the byte reader covers `bytes` (or no check is set).
    static func checkUncovered(_ file: UncoveredFile, covered: () -> Bool) throws {
        guard let check = uncoveredFileCheck, !covered() else { return }
        try check(file)
    }
}

extension FileImage {
    /// The image of bytes libhdf5 has not opened: the superblock searched where libhdf5 searches it
    /// (offset 0, then 512, 1024, … after a user block); nil without one.
    init?(unopened bytes: Data) {
        let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
        var at = 0
        while at <= bytes.count - signature.count {
            if bytes.dropFirst(at).prefix(signature.count).elementsEqual(signature) {
                self.init(bytes: bytes, base: at)
                return
            }
            at = at == 0 ? 512 : at * 2
        }
        return nil
    }
}

extension ImageReader {
    /// The most objects a covered file may hold: a DenseNet-201 file holds about 2 000.
    static let coveredObjectLimit = 100_000

    /// Whether every object reachable from the group at `root` is one this reader reads (see
    /// `File.byteReaderCovers`). Each object is visited once, so hard links into an ancestor end.
    func coversEveryObject(from root: Int) -> Bool {
        var visited: Set<Int> = [], pending = [root]
        while let at = pending.popLast() {
            guard visited.insert(at).inserted else { continue }
            guard visited.count <= Self.coveredObjectLimit, attributesAreStrings(ofHeaderAt: at) else { return false }
            if let table = symbolTable(ofGroupAt: at) {
                guard let targets = linkTargets(in: table) else { return false }
                pending += targets
            } else if float32Array(headerAt: at) == nil {
                return false
            }
        }
        return true
    }

    /// Whether every attribute of the object header at `at` is in the header and holds strings this
    /// reader decodes (or refuses: those are errors, never handed to libhdf5), or no elements at all:
    /// tf-keras gives a layer without weights an empty float64 `weight_names`, which libhdf5 then opens
    /// from a header this reader has parsed.
    private func attributesAreStrings(ofHeaderAt at: Int) -> Bool {
        attributeMessages(ofHeaderAt: at)?.allSatisfy(decodesOrRefuses) ?? false
    }
}
