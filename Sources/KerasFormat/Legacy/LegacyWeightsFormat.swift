import DenseNetEngine
import HDF5

/// tf-keras' legacy HDF5 weights: the file `model.save_weights("w.h5")` writes, and the
/// `model_weights` group of a full-model `.h5`.
///
/// Mirrors `save_weights_to_hdf5_group`, `load_weights_from_hdf5_group` (topological) and
/// `load_weights_from_hdf5_group_by_name` in `tf_keras/src/saving/legacy/hdf5_format.py`.
public enum LegacyWeightsFormat {
    /// The tf-keras release whose files these mirror, written as `keras_version`.
    public static let kerasVersion = "2.21.0"
    public static let backend = "tensorflow"

    /// Writes every layer's weights into `group` (the file's root, or `model_weights`).
    public static func write(_ layout: LegacyWeightLayout, to group: Group) throws {
        try NameListAttribute.write(layout.layers.map(\.name), named: "layer_names", to: group.attributes)
        try group.attributes.write(StringArray(scalar: backend, format: .variableASCII), named: "backend")
        try group.attributes.write(StringArray(scalar: kerasVersion, format: .variableASCII), named: "keras_version")
        for layer in layout.layers.sorted(by: { $0.name < $1.name }) {
            try writeWeights(layer.weights, to: group.createGroup(layer.name))
        }
        try writeWeights(layout.topLevelWeights, to: group.createGroup("top_level_model_weights"))
    }

    private static func writeWeights(_ weights: [LegacyWeightLayout.Weight], to group: Group) throws {
        try NameListAttribute.write(weights.map(\.name), named: "weight_names", to: group.attributes)
        for weight in weights {
            let variable = weight.variable
            _ = try group.createDataset(weight.name, NDArray(shape: variable.shape, scalars: variable.values))
        }
    }

    /// Which layers of the model and of the file found no partner when loading by name.
    public struct LoadReport: Equatable {
        public var modelLayersNotInFile: [String] = []
        public var fileLayersNotInModel: [String] = []
    }

    /// Loads `group` into the model's variables, all or nothing: every count, shape and type is
    /// checked before any variable changes.
    ///
    /// By default layers are matched by position among the layers that have weights (Keras'
    /// topological loading); `byName` matches them by name and skips unmatched layers, as
    /// `load_weights(by_name=True)` does — the report lists them.
    @discardableResult
    public static func load(_ layout: LegacyWeightLayout, from group: Group, file: String,
                            byName: Bool = false) throws -> LoadReport {
        let reader = GroupReader(group: group, file: file)
        let fileLayers = try NameListAttribute.read("layer_names", from: group.attributes)
        guard try !fileLayers.isEmpty || group.attributes.contains("layer_names") else {
            throw KerasFormatError(.wrongFormat, file: file, expected: "a tf-keras weights group with a layer_names attribute",
                                   found: "none at \(group.path)")
        }
        var assignments: [(Variable, [Float])] = []
        var report = LoadReport()
        if byName {
            let modelLayers = Dictionary(layout.layers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            for name in fileLayers {
                guard let layer = modelLayers[name] else { report.fileLayersNotInModel.append(name); continue }
                assignments += try reader.values(for: layer, fromLayer: name)
            }
            report.modelLayersNotInFile = layout.layers.filter { !$0.weights.isEmpty && !fileLayers.contains($0.name) }.map(\.name)
        } else {
            let modelLayers = layout.layers.filter { !$0.weights.isEmpty }
            let savedLayers = try fileLayers.filter { try !reader.weightNames(ofLayer: $0).isEmpty }
            guard modelLayers.count == savedLayers.count else {
                throw KerasFormatError(.layerCountMismatch, file: file,
                                       expected: "\(modelLayers.count) layers with weights (\(modelLayers.map(\.name).joined(separator: ", ")))",
                                       found: "\(savedLayers.count) (\(savedLayers.joined(separator: ", ")))")
            }
            for (layer, saved) in zip(modelLayers, savedLayers) {
                assignments += try reader.values(for: layer, fromLayer: saved)
            }
        }
        if try group.contains("top_level_model_weights") {
            let topLevel = LegacyWeightLayout.LayerEntry(name: "top_level_model_weights", weights: layout.topLevelWeights)
            assignments += try reader.values(for: topLevel, fromLayer: "top_level_model_weights")
        }
        for (variable, values) in assignments { try variable.setValues(values) }
        return report
    }
}

/// Reads one layer group of a tf-keras weights file, checking it against the model's layer.
private struct GroupReader {
    let group: Group
    let file: String

    func weightNames(ofLayer name: String) throws -> [String] {
        guard try group.contains(name), try group.kind(of: name) == .group else {
            throw KerasFormatError(.missingLayer, file: file, layer: name,
                                   expected: "a group /\(name) listed in layer_names", found: "no such group")
        }
        return try NameListAttribute.read("weight_names", from: group.group(name).attributes)
    }

    func values(for layer: LegacyWeightLayout.LayerEntry, fromLayer saved: String) throws -> [(Variable, [Float])] {
        let names = try weightNames(ofLayer: saved)
        let layerLabel = saved == layer.name ? layer.name : "\(layer.name) (saved as \(saved))"
        guard names.count == layer.weights.count else {
            throw KerasFormatError(.weightCountMismatch, file: file, layer: layerLabel,
                                   expected: "\(layer.weights.count) weights (\(layer.weights.map(\.name).joined(separator: ", ")))",
                                   found: "\(names.count) (\(names.joined(separator: ", ")))")
        }
        let layerGroup = try group.group(saved)
        return try zip(layer.weights, names).map { weight, name in
            guard try layerGroup.contains(name) else {
                throw KerasFormatError(.malformed, file: file, layer: layerLabel, weight: name,
                                       expected: "a dataset named in weight_names", found: "none")
            }
            let dataset = try layerGroup.dataset(name)
            let shape = try dataset.shape(), type = try dataset.dataType()
            guard shape == weight.variable.shape else {
                throw KerasFormatError(.shapeMismatch, file: file, layer: layerLabel, weight: name,
                                       expected: "\(weight.variable.shape)", found: "\(shape)")
            }
            guard type == .float32 else {
                throw KerasFormatError(.dataTypeMismatch, file: file, layer: layerLabel, weight: name,
                                       expected: "float32", found: "\(type)")
            }
            return (weight.variable, try dataset.read(as: Float.self).scalars)
        }
    }
}
