/// Every group, dataset and attribute of a file, as `h5ls -r -v` lists them: path, kind, shape and
/// element type (no data read).
///
/// The walk visits at most `maximumObjects` objects and `maximumDepth` levels: a group hard-linked
/// into itself would otherwise never end (`truncated` says when the walk stopped early).
public struct TreeListing: Sendable {
    /// One object of the file.
    public struct Entry: Sendable, Equatable {
        /// What the object is: a group, a dataset, or anything else libhdf5 can link (a named type).
        public enum Kind: String, Sendable { case group, dataset, other }
        /// The object's path from the root (`/` for the root).
        public let path: String
        /// Group, dataset or other.
        public let kind: Kind
        /// Datasets: the extent of each dimension, empty for scalars; nil for groups.
        public let shape: [Int]?
        /// Datasets: the element type (`float32`, `string`, …); nil for groups.
        public let dataType: String?
        /// The object's attributes: name, shape and element type (`string` values shown).
        public let attributes: [AttributeSummary]
    }

    /// An attribute as listed: its name, shape, type and, for short strings and scalars, the value.
    public struct AttributeSummary: Sendable, Equatable {
        /// The attribute's name.
        public let name: String
        /// The extent of each dimension, empty for scalars.
        public let shape: [Int]
        /// The element type (`float32`, `string`, …).
        public let dataType: String
        /// The value as text when it is strings (up to 3 shown) or nil when not shown.
        public let value: String?
    }

    /// The walk's bounds: objects visited and group levels descended (hostile files can link a group into itself).
    public static let maximumObjects = 100_000, maximumDepth = 64

    /// Groups and datasets, pre-order, children by name.
    public let entries: [Entry]
    /// Whether the walk stopped at `maximumObjects` or `maximumDepth`.
    public let truncated: Bool

    /// Walks `file` from its root.
    public init(_ file: File) throws {
        var entries: [Entry] = []
        var truncated = false
        func walk(_ group: Group, path: String, depth: Int) throws {
            entries.append(Entry(path: path, kind: .group, shape: nil, dataType: nil, attributes: try Self.summaries(group.attributes)))
            guard depth < Self.maximumDepth else { return truncated = true }
            for name in try group.childNames() {
                guard entries.count < Self.maximumObjects else { return truncated = true }
                let childPath = path == "/" ? "/\(name)" : "\(path)/\(name)"
                switch try group.kind(of: name) {
                case .group: try walk(try group.group(name), path: childPath, depth: depth + 1)
                case .dataset:
                    let dataset = try group.dataset(name)
                    entries.append(
                        Entry(
                            path: childPath, kind: .dataset, shape: try dataset.shape(), dataType: try dataset.dataType().description,
                            attributes: try Self.summaries(dataset.attributes)))
                case .other: entries.append(Entry(path: childPath, kind: .other, shape: nil, dataType: nil, attributes: []))
                }
            }
        }
        try walk(file.root, path: "/", depth: 0)
        self.entries = entries
        self.truncated = truncated
    }

    private static func summaries(_ attributes: Attributes) throws -> [AttributeSummary] {
        try attributes.names().map { name in
            let attribute = try attributes.attribute(name)
            let type = try attribute.dataType()
            var value: String?
            if type == .string {
                let strings = try attribute.readStrings().strings
                let shown = strings.prefix(3).map { "\"\($0.count > 40 ? $0.prefix(40) + "…" : $0)\"" }
                value = strings.count == 1 ? shown[0] : "[\(shown.joined(separator: ", "))\(strings.count > 3 ? ", …" : "")]"
            }
            return AttributeSummary(name: name, shape: try attribute.shape(), dataType: type.description, value: value)
        }
    }
}
