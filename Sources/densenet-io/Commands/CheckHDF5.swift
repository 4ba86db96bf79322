import ArgumentParser
import Foundation
import HDF5

/// `densenet-io _check-hdf5 FILE` (hidden): the child process of `LibraryIsolation`. It limits
/// itself, then lets libhdf5 read every group, dataset and attribute of the file. Exit 0 when libhdf5
/// answered everything (errors included: the parent will get the same ones if it asks); exit 2 when a
/// read went over the read budget; a crash, a hang or a limit ends it, and the parent reports that.
struct CheckHDF5: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "_check-hdf5", abstract: "Read every object of an HDF5 file with libhdf5 (used by densenet-io itself).",
        shouldDisplay: false)

    @Argument(help: "The file, or the name of the bytes given on standard input.")
    var file: String

    @Flag(help: "Read the file's bytes from standard input.")
    var standardInput = false

    @Option(help: "CPU seconds before the kernel ends this process.")
    var cpuSeconds: Int

    @Option(help: "Bytes of address space this process may use.")
    var addressSpace: Int

    /// The most objects visited, and how deep: a group may be hard-linked into itself.
    private static let objectLimit = 100_000, depthLimit = 64

    func run() throws {
        File.uncoveredFileCheck = nil
        limit(RLIMIT_CORE, to: 0)  // a crash writes nothing
        limit(RLIMIT_CPU, to: cpuSeconds)
        limit(RLIMIT_AS, to: addressSpace)
        let opened =
            standardInput
            ? try File.open(image: FileHandle.standardInput.readDataToEndOfFile(), name: file) : try File.open(file)
        var pending = [(opened.root, 0)], visited = 0
        while let (group, depth) = pending.popLast(), visited < Self.objectLimit {
            visited += 1
            try readAttributes(group.attributes)
            guard depth < Self.depthLimit else { continue }
            // A group whose links libhdf5 cannot list is damaged metadata, where its over-reads live
            // (fuzz_libhdf5_attribute_table_overread.h5): refused here, never retried in the parent.
            let names = try group.childNames()
            for name in names {
                switch try? group.kind(of: name) {
                case .group: if let child = try? group.group(name) { pending.append((child, depth + 1)) }
                case .dataset: if let dataset = try? group.dataset(name) { try readDataset(dataset) }
                default: break
                }
            }
        }
    }

    private func readDataset(_ dataset: Dataset) throws {
        try readAttributes(dataset.attributes)
        try keepingOverBudget {
            _ = try dataset.dataType() == .string ? try dataset.readStrings().strings.count : try dataset.readRawBytes().bytes.count
        }
    }

    private func readAttributes(_ attributes: Attributes) throws {
        for name in (try? attributes.names()) ?? [] {
            try keepingOverBudget {
                let attribute = try attributes.attribute(name)
                _ =
                    try attribute.dataType() == .string
                    ? try attribute.readStrings().strings.count : try attribute.readRawBytes().bytes.count
            }
        }
    }

    /// Runs `read`, rethrowing only a read over the budget: libhdf5's other answers are the parent's to give.
    private func keepingOverBudget(_ read: () throws -> Void) throws {
        do {
            try read()
        } catch let error as HDF5Error where error.reason == .tooLarge {
            throw error
        } catch {}
    }

    private func limit(_ resource: __rlimit_resource, to value: Int) {
        var limit = rlimit(rlim_cur: rlim_t(value), rlim_max: rlim_t(value))
        setrlimit(__rlimit_resource_t(resource.rawValue), &limit)
    }
}
