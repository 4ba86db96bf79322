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
    /// checked, and every dataset read, before any variable changes.
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
        var matched: [(LegacyWeightLayout.LayerEntry, GroupReader.SavedLayer)] = []
        var report = LoadReport()
        if byName {
            let modelLayers = Dictionary(layout.layers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            for name in fileLayers {
                guard let layer = modelLayers[name] else { report.fileLayersNotInModel.append(name); continue }
                matched.append((layer, try reader.savedLayer(name)))
            }
            let saved = Set(fileLayers)
            report.modelLayersNotInFile = layout.layers.filter { !$0.weights.isEmpty && !saved.contains($0.name) }.map(\.name)
        } else {
            let modelLayers = layout.layers.filter { !$0.weights.isEmpty }
            let savedLayers = try fileLayers.map(reader.savedLayer).filter { !$0.weightNames.isEmpty }
            guard modelLayers.count == savedLayers.count else {
                throw KerasFormatError(.layerCountMismatch, file: file,
                                       expected: "\(modelLayers.count) layers with weights (\(modelLayers.map(\.name).joined(separator: ", ")))",
                                       found: "\(savedLayers.count) (\(savedLayers.map(\.name).joined(separator: ", ")))")
            }
            matched = Array(zip(modelLayers, savedLayers))
        }
        if try group.contains("top_level_model_weights") {
            let topLevel = LegacyWeightLayout.LayerEntry(name: "top_level_model_weights", weights: layout.topLevelWeights)
            matched.append((topLevel, try reader.savedLayer("top_level_model_weights")))
        }
        // One staging buffer, copied into the variables once every read has succeeded. Each dataset
        // is opened, checked, read and closed in turn: libhdf5 slows down with many objects open.
        let variables = matched.flatMap { layer, _ in layer.weights.map(\.variable) }
        let staging = UnsafeMutableBufferPointer<Float>.allocate(capacity: variables.reduce(0) { $0 + $1.count })
        defer { staging.deallocate() }
        var offset = 0
        for (layer, saved) in matched {
            try reader.read(layer, from: saved, into: staging, at: &offset)
        }
        offset = 0
        for variable in variables {
            variable.data.update(from: staging.baseAddress! + offset, count: variable.count)
            offset += variable.count
        }
        return report
    }
}

/// Reads the layer groups of a tf-keras weights file, checking them against the model's layers.
private struct GroupReader {
    /// One layer group of the file, opened once, with its `weight_names`.
    struct SavedLayer {
        let name: String
        let group: Group
        let weightNames: [String]
    }

    let group: Group
    let file: String

    func savedLayer(_ name: String) throws -> SavedLayer {
        let layerGroup: Group
        do {
            layerGroup = try group.group(name)
        } catch {
            guard try group.contains(name), try group.kind(of: name) == .group else {
                throw KerasFormatError(.missingLayer, file: file, layer: name,
                                       expected: "a group /\(name) listed in layer_names", found: "no such group")
            }
            throw error
        }
        return SavedLayer(name: name, group: layerGroup,
                          weightNames: try NameListAttribute.read("weight_names", from: layerGroup.attributes))
    }

    /// Reads the weights of `layer` from `saved` into `staging` from `offset` on, in the layer's
    /// order, after checking each dataset's presence, shape and type; advances `offset`.
    func read(_ layer: LegacyWeightLayout.LayerEntry, from saved: SavedLayer,
              into staging: UnsafeMutableBufferPointer<Float>, at offset: inout Int) throws {
        let names = saved.weightNames
        let layerLabel = saved.name == layer.name ? layer.name : "\(layer.name) (saved as \(saved.name))"
        guard names.count == layer.weights.count else {
            throw KerasFormatError(.weightCountMismatch, file: file, layer: layerLabel,
                                   expected: "\(layer.weights.count) weights (\(layer.weights.map(\.name).joined(separator: ", ")))",
                                   found: "\(names.count) (\(names.joined(separator: ", ")))")
        }
        for (weight, name) in zip(layer.weights, names) {
            let dataset: Dataset
            do {
                dataset = try saved.group.dataset(name)
            } catch let error as HDF5Error where error.reason == .notFound {
                throw KerasFormatError(.malformed, file: file, layer: layerLabel, weight: name,
                                       expected: "a dataset named in weight_names", found: "none")
            }
            let shape = try dataset.shape()
            guard shape == weight.variable.shape else {
                throw KerasFormatError(.shapeMismatch, file: file, layer: layerLabel, weight: name,
                                       expected: "\(weight.variable.shape)", found: "\(shape)")
            }
            let count = weight.variable.count
            do {
                try dataset.read(into: UnsafeMutableBufferPointer(rebasing: staging[offset..<offset + count]))
            } catch let error as HDF5Error {
                guard case .typeMismatch(_, let found) = error.reason else { throw error }
                throw KerasFormatError(.dataTypeMismatch, file: file, layer: layerLabel, weight: name,
                                       expected: "float32", found: "\(found)")
            }
            offset += count
        }
    }
}
