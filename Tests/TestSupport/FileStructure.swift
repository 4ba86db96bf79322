import HDF5

/// Everything about an HDF5 file's structure that Keras could tell apart — groups; datasets with
/// their types and shapes (and, with `includingValues`, their bytes, as h5diff compares them);
/// attributes with their types, shapes, string forms and values — as sorted lines, so two files
/// compare with `==` and a failure shows the difference.
public func fileStructure(_ path: String, includingValues: Bool = false) throws -> [String] {
    let file = try File.open(path)
    var lines: [String] = []
    func describe(_ attributes: Attributes, of object: String) throws {
        for name in try attributes.names() {
            let attribute = try attributes.attribute(name)
            let type = try attribute.dataType()
            let value = type == .string ? "\(try attribute.readStrings())" : "\(try attribute.readRawBytes().bytes)"
            lines.append("\(object) @\(name) \(type) \(try attribute.shape()) \(value)")
        }
    }
    func visit(_ group: Group) throws {
        try describe(group.attributes, of: group.path)
        for child in try group.childNames() {
            let path = group.path == "/" ? "/\(child)" : "\(group.path)/\(child)"
            switch try group.kind(of: child) {
            case .group: try visit(group.group(child))
            case .dataset:
                let dataset = try group.dataset(child)
                let values = includingValues ? " \(try dataset.readRawBytes().bytes)" : ""
                lines.append("\(path) dataset \(try dataset.dataType()) \(try dataset.shape())\(values)")
                try describe(dataset.attributes, of: path)
            default: lines.append("\(path) other")
            }
        }
    }
    try visit(file.root)
    return lines.sorted()
}
