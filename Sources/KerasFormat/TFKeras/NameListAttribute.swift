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
        if let whole = try strings(of: name, in: attributes) { return whole }
        var names: [String] = []
        var index = 0
        while let chunk = try strings(of: "\(name)\(index)", in: attributes) {
            names += chunk
            index += 1
        }
        return names
    }

    /// The strings of attribute `name`; nil when absent. Opened without asking first whether it exists:
    /// these attributes are nearly always there, and the open tells when not.
    private static func strings(of name: String, in attributes: Attributes) throws -> [String]? {
        let attribute: Attribute
        do {
            attribute = try attributes.attribute(name)
        } catch let error as HDF5Error where error.reason == .notFound {
            return nil
        }
        return try strings(of: attribute)
    }

    private static func strings(of attribute: Attribute) throws -> [String] {
        // An empty list is stored as an empty float64 array. The shape is asked first because a mapped
        // file answers it from its bytes; asking for strings first would open the attribute through libhdf5.
        if try attribute.shape().contains(0) { return [] }
        return try attribute.readStrings().strings
    }

    /// `np.array_split(n items, k)`: the first `n % k` parts hold one item more.
    private static func chunkSizes(_ count: Int, _ parts: Int) -> [Int] {
        (0..<parts).map { count / parts + ($0 < count % parts ? 1 : 0) }
    }
}
