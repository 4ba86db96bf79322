import DenseNetEngine
import HDF5

/// Keras 3's weights file: what `model.save_weights("w.weights.h5")` writes, and the
/// `model.weights.h5` inside a `.keras` archive.
///
/// Mirrors `H5IOStore` and `_save_state` / `_load_state` in `keras/src/saving/saving_lib.py`:
/// each object's variables are the datasets `0…n` of its `<path>/vars` group, whose `name`
/// attribute (UTF-8) holds the layer's name; loading matches objects by path, never by name.
public enum Keras3WeightsFormat {
    /// Writes every `vars` group of the layout into `group` (the file's root).
    public static func write(_ layout: Keras3WeightLayout, to group: Group) throws {
        for entry in layout.entries {
            try writeVars(
                entry.variables.map { NDArray(shape: $0.shape, scalars: $0.values) },
                name: entry.layerName, at: entry.path, in: group)
        }
    }

    /// Creates `<path>` as a `vars` group named `name` holding `arrays` as `0…n`.
    static func writeVars<T: DataElement>(_ arrays: [NDArray<T>], name: String, at path: String, in group: Group) throws {
        let vars = try group.createGroup(path)
        try vars.attributes.write(StringArray(scalar: name, format: .variableUTF8), named: "name")
        for (index, array) in arrays.enumerated() { _ = try vars.createDataset(String(index), array) }
    }

    /// Loads `group` into the model's variables, all or nothing. Every `vars` group of the model
    /// must be present with as many datasets as the layer has variables, each of the right shape
    /// and type; a non-empty `vars` group in the file that no layer claims is an error too (the
    /// optimizer's excepted: it is optimizer state, not a layer).
    public static func load(_ layout: Keras3WeightLayout, from group: Group, file: String) throws {
        var assignments: [(Variable, [Float])] = []
        for entry in layout.entries {
            let arrays = try readVars(at: entry.path, layer: entry.layerName, count: entry.variables.count, in: group, file: file)
            for (index, (variable, dataset)) in zip(entry.variables, arrays).enumerated() {
                let shape = try dataset.shape(), type = try dataset.dataType()
                guard shape == variable.shape else {
                    throw KerasFormatError(
                        .shapeMismatch, file: file, layer: entry.layerName,
                        weight: "\(entry.path)/\(index) (\(variable.name))",
                        expected: "\(variable.shape)", found: "\(shape)")
                }
                guard type == .float32 else {
                    throw KerasFormatError(
                        .dataTypeMismatch, file: file, layer: entry.layerName,
                        weight: "\(entry.path)/\(index) (\(variable.name))", expected: "float32", found: "\(type)")
                }
                assignments.append((variable, try dataset.read(as: Float.self).scalars))
            }
        }
        let expected = Set(layout.entries.map(\.path))
        // An empty vars group holds nothing to lose: Keras 3 writes one for every weightless layer,
        // the InputLayer included, which a model built by hand may not have as an object.
        let extras = try varsGroups(in: group).filter { !expected.contains($0) && !$0.hasPrefix("optimizer/") }
        if let extra = try extras.first(where: { try !group.group($0).childNames().isEmpty }) {
            throw KerasFormatError(
                .extraLayer, file: file, layer: extra,
                expected: "only the model's \(expected.count) vars groups", found: "\(extra) as well")
        }
        for (variable, values) in assignments { try variable.setValues(values) }
    }

    /// The datasets `0…count-1` of the `vars` group at `path`, checked to be exactly those.
    static func readVars(at path: String, layer: String, count: Int, in group: Group, file: String) throws -> [Dataset] {
        guard try group.contains(path), try group.kind(of: path) == .group else {
            throw KerasFormatError(.missingLayer, file: file, layer: layer, expected: "a group /\(path)", found: "none")
        }
        let vars = try group.group(path)
        let names = try vars.childNames()
        guard names.count == count, names.allSatisfy({ Int($0).map { (0..<count).contains($0) } ?? false }) else {
            throw KerasFormatError(
                .weightCountMismatch, file: file, layer: layer,
                expected: "\(count) variables in /\(path)", found: "\(names.count) (\(names.joined(separator: ", ")))")
        }
        return try (0..<count).map { try vars.dataset(String($0)) }
    }

    /// Paths of every group named `vars` below `group`.
    /// A hostile file may link a group into itself (a cycle of hard links): the walk stops after
    /// `maximumGroups` groups or `maximumDepth` levels, far beyond any model's.
    static func varsGroups(in group: Group, prefix: String = "") throws -> [String] {
        var visited = 0
        return try varsGroups(in: group, prefix: prefix, depth: 0, visited: &visited)
    }

    static let maximumGroups = 100_000, maximumDepth = 64

    private static func varsGroups(in group: Group, prefix: String, depth: Int, visited: inout Int) throws -> [String] {
        visited += 1
        guard visited <= maximumGroups, depth <= maximumDepth else {
            throw KerasFormatError(
                .malformed, file: group.file.path, layer: prefix,
                expected: "at most \(maximumGroups) groups nested at most \(maximumDepth) deep",
                found: "more (a group linked into itself?)")
        }
        var found: [String] = []
        for child in try group.childNames() where try group.kind(of: child) == .group {
            let path = prefix.isEmpty ? child : "\(prefix)/\(child)"
            if child == "vars" {
                found.append(path)
            } else {
                found += try varsGroups(in: group.group(child), prefix: path, depth: depth + 1, visited: &visited)
            }
        }
        return found
    }
}
