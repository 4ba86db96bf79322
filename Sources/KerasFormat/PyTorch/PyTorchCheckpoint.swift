import Foundation
import ReadLimits

/// A `torch.save` checkpoint (`.pth`, `.pt`) read without running it: the zip layout torch writes
/// since 1.6 — `<name>/data.pkl` (the pickled object), `<name>/data/<key>` (each storage's raw
/// little-endian bytes), `<name>/byteorder`, `<name>/version` — unpickled by `TorchPickle`, which
/// accepts only what `torch.load(weights_only=True)` accepts.
///
/// The whole pickle is read and checked before any storage entry is opened. Then every tensor's
/// view must lie inside its storage, each storage entry must hold exactly `numel × element size`
/// bytes, and all tensors together may take at most the read budget (`ReadLimits`), which bounds
/// views that repeat one element (stride 0).
///
/// The tensors come as a `SafetensorsFile` without metadata, so a checkpoint loads, lists and
/// compares as a safetensors file written by PyTorch does (torchvision's names). Accepted objects: a
/// state dict (dict or OrderedDict of name → tensor), or a dict holding one under `state_dict` or
/// `model` (other entries — epoch, arch, optimizer — are ignored); DataParallel's `module.` prefix is
/// removed when every name has it.
public enum PyTorchCheckpoint {
    /// The zip entry names torch writes; `isCheckpoint` looks for the first.
    static let pickleSuffix = "/data.pkl"

    /// Whether the zip entries `names` are a torch.save checkpoint's.
    static func isCheckpoint(entryNames names: [String]) -> Bool { names.contains { $0.hasSuffix(pickleSuffix) } }

    /// The checkpoint's tensors, by name.
    public static func read(_ path: String) throws -> SafetensorsFile {
        let archive = try ArchiveReader(path, expected: "a torch.save checkpoint (zip)")
        let pickles = archive.entryNames.filter { $0.hasSuffix(pickleSuffix) && !$0.dropLast(pickleSuffix.count).contains("/") }
        guard pickles.count == 1, let pickleEntry = pickles.first, let pickle = try archive.contents(of: pickleEntry) else {
            throw KerasFormatError(
                .malformed, file: path, expected: "one <name>/data.pkl entry (torch.save's layout)", found: "\(pickles.count)")
        }
        let prefix = String(pickleEntry.dropLast(pickleSuffix.count))
        if let order = try archive.contents(of: "\(prefix)/byteorder"), String(decoding: order, as: UTF8.self) != "little" {
            throw KerasFormatError(
                .malformed, file: path, layer: "\(prefix)/byteorder", expected: "little",
                found: String(decoding: order.prefix(16), as: UTF8.self))
        }
        let object = try TorchPickle.load([UInt8](pickle), file: path, entry: pickleEntry)
        let views = try stateDict(in: object, path: path)
        var storages: [String: [UInt8]] = [:]
        var remaining = archive.budget
        var file = SafetensorsFile()
        for (name, view) in views {
            let storage = view.storage
            if storages[storage.key] == nil {
                storages[storage.key] = try storageBytes(storage, prefix: prefix, archive: archive)
            }
            let elements = try checkedElementCount(view, name: name, path: path)
            let size = storage.dtype.size
            guard elements * size <= remaining else {
                throw KerasFormatError(
                    .malformed, file: path, weight: name,
                    expected: "tensors within \(ReadLimits.describe(bytes: archive.budget)) in all (docs/security.md)",
                    found: "\(view.shape) of \(storage.dtype.rawValue) past it")
            }
            remaining -= elements * size
            file.tensors[name] = .init(
                dtype: storage.dtype, shape: view.shape,
                bytes: gather(storages[storage.key]!, elementSize: size, offset: view.offset, shape: view.shape, strides: view.strides))
        }
        return file
    }

    /// The name → tensor entries of the pickled object: itself, or its `state_dict` / `model` entry.
    static func stateDict(in object: TorchPickle.Value, path: String) throws -> [(String, TorchPickle.Tensor)] {
        guard case .dict(let top) = object else {
            throw KerasFormatError(
                .wrongFormat, file: path, expected: "a state dict (a dict of tensors)", found: "a pickled \(object.typeName)")
        }
        var dict = top
        for wrapper in ["state_dict", "model"] {
            if let inner = top.entries.first(where: { if case .string(wrapper) = $0.key { true } else { false } }),
                case .dict(let box) = inner.value
            {
                dict = box
                break
            }
        }
        var views: [(String, TorchPickle.Tensor)] = []
        var seen = Set<String>()
        for (key, value) in dict.entries {
            guard case .string(let name) = key, case .tensor(let tensor) = value else {
                throw KerasFormatError(
                    .wrongFormat, file: path, weight: { if case .string(let s) = key { s } else { "" } }(),
                    expected: "a state dict: names mapped to tensors (or one under state_dict or model)",
                    found: "\(key.typeName) → \(value.typeName)")
            }
            guard seen.insert(name).inserted else {
                throw KerasFormatError(.malformed, file: path, weight: name, expected: "each name once", found: "it twice")
            }
            views.append((name, tensor))
        }
        if !views.isEmpty, views.allSatisfy({ $0.0.hasPrefix("module.") }) {
            views = views.map { (String($0.0.dropFirst("module.".count)), $0.1) }
        }
        return views
    }

    /// The storage's bytes: exactly `numel × element size` of them in `<prefix>/data/<key>`.
    static func storageBytes(_ storage: TorchPickle.Storage, prefix: String, archive: ArchiveReader) throws -> [UInt8] {
        let entry = "\(prefix)/data/\(storage.key)"
        guard let expected = ReadLimits.product([storage.elementCount], times: storage.dtype.size), expected <= archive.budget else {
            throw KerasFormatError(
                .malformed, file: archive.path, layer: entry, expected: "a storage within the read budget",
                found: "\(storage.elementCount) elements of \(storage.dtype.rawValue)")
        }
        guard let data = try archive.contents(of: entry) else {
            throw KerasFormatError(.malformed, file: archive.path, layer: entry, expected: "the storage's entry", found: "none")
        }
        guard data.count == expected else {
            throw KerasFormatError(
                .malformed, file: archive.path, layer: entry,
                expected: "\(expected) bytes (\(storage.elementCount) × \(storage.dtype.rawValue))", found: "\(data.count)")
        }
        return [UInt8](data)
    }

    /// The view's element count, after checking its last element lies inside its storage.
    static func checkedElementCount(_ view: TorchPickle.Tensor, name: String, path: String) throws -> Int {
        guard let elements = ReadLimits.product(view.shape) else {
            throw KerasFormatError(
                .malformed, file: path, weight: name, expected: "a shape whose size fits in 64 bits", found: "\(view.shape)")
        }
        guard elements > 0 else { return 0 }
        var last = view.offset
        for (extent, stride) in zip(view.shape, view.strides) {
            let (reach, overflow) = (extent - 1).multipliedReportingOverflow(by: stride)
            guard !overflow, last <= Int.max - reach else { last = Int.max; break }
            last += reach
        }
        guard last < view.storage.elementCount else {
            throw KerasFormatError(
                .malformed, file: path, weight: name,
                expected: "a view inside its storage of \(view.storage.elementCount) elements",
                found: "offset \(view.offset), size \(view.shape), stride \(view.strides)")
        }
        return elements
    }

    /// The view's elements in row-major order (`tensor.contiguous()`), as raw bytes.
    static func gather(_ storage: [UInt8], elementSize: Int, offset: Int, shape: [Int], strides: [Int]) -> [UInt8] {
        let count = shape.reduce(1, *)
        // An empty view's offset is not checked against its storage (torch does not either): nothing to read.
        guard count > 0 else { return [] }
        var contiguous = 1
        let isContiguous = zip(shape, strides).reversed().allSatisfy { extent, stride in
            defer { contiguous *= extent }
            return extent == 1 || stride == contiguous
        }
        if isContiguous { return Array(storage[(offset * elementSize)..<((offset + count) * elementSize)]) }
        var out = [UInt8]()
        out.reserveCapacity(count * elementSize)
        forEachStridedOffset(shape: shape, strides: strides, start: offset) {
            out += storage[($0 * elementSize)..<(($0 + 1) * elementSize)]
        }
        return out
    }
}
