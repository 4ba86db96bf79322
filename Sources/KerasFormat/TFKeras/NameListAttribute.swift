import HDF5

/// The string-list attributes of tf-keras HDF5 files (`layer_names`, `weight_names`).
///
/// Mirrors `save_attributes_to_hdf5_group` / `load_attributes_from_hdf5_group` in
/// `tf_keras/src/saving/legacy/hdf5_format.py`: h5py stores the list of names as variable-length
/// ASCII strings; an empty list becomes an empty float64 array; a list whose NumPy array
/// (`S<longest>`) passes HDF5's 64 512-byte object-header limit is split with `np.array_split` into
/// `name0`, `name1`, … attributes, each a fixed-length, null-padded array.
enum NameListAttribute {
    static let objectHeaderLimit = 64_512

    static func write(_ names: [String], named name: String, to attributes: Attributes) throws {
        if names.isEmpty {
            try attributes.write(NDArray<Double>([]), named: name)
            return
        }
        let longest = names.map(\.utf8.count).max() ?? 0
        var chunkCount = 1
        while chunkSizes(names.count, chunkCount).contains(where: { $0 * longest > objectHeaderLimit }) {
            chunkCount += 1
        }
        if chunkCount == 1 {
            try attributes.write(StringArray(names, format: .variableASCII), named: name)
            return
        }
        var start = 0
        for (index, size) in chunkSizes(names.count, chunkCount).enumerated() {
            let chunk = Array(names[start..<start + size])
            try attributes.write(StringArray(chunk, format: .fixed(length: longest)), named: "\(name)\(index)")
            start += size
        }
    }

    /// The names, whole or gathered from chunks; empty when absent or stored as an empty array.
    static func read(_ name: String, from attributes: Attributes) throws -> [String] {
        try gather(name) { try attributes.contains($0) ? strings(of: attributes.attribute($0)) : nil }
    }

    /// The same names read from the file's bytes; nil where those cannot answer (then read `Attributes`).
    static func read(_ name: String, from group: StoredGroup) -> [String]? {
        struct Unreadable: Error {}
        return try? gather(name) { attributeName in
            guard let attribute = group.attribute(attributeName) else {
                // Absent, or present in a form the bytes reader declines: only the names tell.
                guard let names = group.attributeNames(), !names.contains(attributeName) else { throw Unreadable() }
                return nil
            }
            guard let strings = attribute.strings?.strings ?? (attribute.shape.contains(0) ? [] : nil) else { throw Unreadable() }
            return strings
        }
    }

    /// The strings of attribute `name`, else of `name0`, `name1`, … while present; `strings` answers
    /// nil for an absent attribute.
    private static func gather(_ name: String, strings: (String) throws -> [String]?) throws -> [String] {
        if let whole = try strings(name) { return whole }
        var names: [String] = []
        var index = 0
        while let chunk = try strings("\(name)\(index)") {
            names += chunk
            index += 1
        }
        return names
    }

    private static func strings(of attribute: Attribute) throws -> [String] {
        do {
            return try attribute.readStrings().strings
        } catch let error as HDF5Error {
            // An empty list is stored as an empty float64 array; asked only then, to save library calls.
            guard case .typeMismatch = error.reason, try attribute.shape().reduce(1, *) == 0 else { throw error }
            return []
        }
    }

    /// `np.array_split(n items, k)`: the first `n % k` parts hold one item more.
    private static func chunkSizes(_ count: Int, _ parts: Int) -> [Int] {
        (0..<parts).map { count / parts + ($0 < count % parts ? 1 : 0) }
    }
}
